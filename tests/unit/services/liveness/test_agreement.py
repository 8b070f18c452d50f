"""The province SQL and the one-person Python model give the same verdicts and the same evidence roles."""

from __future__ import annotations

import random
from datetime import date, timedelta

import pytest

from silentcert.services.liveness.calibration import load_threshold
from silentcert.services.liveness.ratios import load_ratios
from silentcert.services.liveness.score_stage import score_round
from silentcert.services.liveness.scoring import explain_person
from silentcert.services.liveness.settings import LivenessSettings

AS_OF = date(2021, 10, 31)
WEAK = ("telecom", "card_spending", "outpatient", "bus_rides")
STRONG = ("vaccination", "rail", "inpatient")


def random_province(province, rng: random.Random, people: int) -> None:
    for i in range(people):
        pid = province.person(f"P{i:04d}", certified_until=_maybe_day(rng, 0.5, -200, 300),
                              phone=None if rng.random() < 0.2 else "13900000000")
        if rng.random() < 0.1:
            province.prior_period(pid, rng.choice(["certified", "uncertified", "deceased"]),
                                  _maybe_day(rng, 0.8, -100, 400))
        for _ in range(rng.randint(0, 3)):
            province.record(pid, rng.choice(STRONG), "strong", _day(rng, -420, 20), p=rng.choice([0.9, 0.96, 0.99]),
                            shared=rng.random() < 0.1)
        for _ in range(rng.randint(0, 8)):
            province.weak(pid, rng.choice(WEAK), _day(rng, -420, 20), p=rng.choice([0.4, 0.6, 0.8, 0.99]),
                          shared=rng.random() < 0.2)
        if rng.random() < 0.15:
            province.record(pid, "face", "face", _day(rng, -300, 10), p=1.0, method="direct",
                            passed=rng.choice([True, False, None]))
        if rng.random() < 0.15:
            province.record(pid, "deaths", "death", _day(rng, -400, 10), p=rng.choice([0.4, 0.7, 0.99]))


def _day(rng: random.Random, lo: int, hi: int) -> date:
    return AS_OF + timedelta(days=rng.randint(lo, hi))


def _maybe_day(rng: random.Random, share: float, lo: int, hi: int) -> date | None:
    return _day(rng, lo, hi) if rng.random() < share else None


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_sql_and_explain_person_agree(con, province, seed):
    random_province(province, random.Random(seed), 250)
    province.load(con)
    settings = LivenessSettings(ratio_prior_weight=5)
    score_round(con, AS_OF, settings)
    ratios = load_ratios(con)
    threshold = load_threshold(con)
    cur = con.execute("SELECT * FROM verdicts ORDER BY person_id")
    names = [d[0] for d in cur.description]
    methods = set()
    for row in cur.fetchall():
        sql = dict(zip(names, row, strict=True))
        py = explain_person(province.as_person(sql["person_id"]), province.edges(sql["person_id"]), ratios,
                            settings, AS_OF, threshold)
        for field in ("status", "method", "source", "evidence_at", "certified_until", "period_state",
                      "explanation"):
            assert getattr(py, field) == sql[field], (sql["person_id"], field)
        assert py.probability == pytest.approx(sql["probability"], abs=1e-9)
        evidence = con.execute("SELECT record_id, role, contribution FROM evidence WHERE person_id = ? "
                               "ORDER BY record_id", [sql["person_id"]]).fetchall()
        mine = sorted((e.record_id, e.role, e.contribution) for e in py.evidence)
        assert [(r, role) for r, role, _ in evidence] == [(r, role) for r, role, _ in mine]
        assert [c for *_, c in evidence] == pytest.approx([c for *_, c in mine], abs=1e-9)
        methods.add(sql["method"])
    assert {"strong", "weak", "carried", "none"} <= methods  # the sample exercises every branch
