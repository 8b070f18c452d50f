"""The weak threshold rises above what the round's labelled dead reach on their relatives' activity."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from silentcert.graph.model import EvidenceEdge
from silentcert.services.liveness.calibration import highest_weak_log_odds, load_threshold, threshold_from
from silentcert.services.liveness.ratios import LikelihoodRatio
from silentcert.services.liveness.score_stage import score_round
from silentcert.services.liveness.scoring import weak_score
from silentcert.services.liveness.settings import LivenessSettings

AS_OF = date(2021, 10, 31)


def test_threshold_from_scores():
    s = LivenessSettings(max_dead_certified=0.01, certify_probability=0.99)
    assert threshold_from([], 500, s) == s.certify_log_odds
    assert threshold_from([9.0, 8.0, 1.0], 100, s) == pytest.approx(8.0)   # one of 100 may pass
    assert threshold_from([9.0, 8.0], 10, s) > 9.0                          # too few dead: above the highest
    assert threshold_from([2.0], 10, s) == s.certify_log_odds               # never below the configured one


def test_relatives_pattern_raises_the_threshold(con, province):
    for i in range(200):  # alive, strong-certified; weak sources used independently
        pid = province.person(f"L{i}")
        province.record(pid, "vaccination", "strong", date(2021, 8, 1))
        for j, source in enumerate(("card_spending", "telecom", "bank_counter", "outpatient")):
            if (i >> j) & 1:
                province.weak(pid, source, date(2021, 9, 1))
    for i in range(40):  # reported dead: a quarter of the families keep card, phone and bank book going
        pid = province.person(f"X{i}")
        province.record(pid, "civil_deaths", "death", date(2021, 2, 1))
        province.record(pid, "police_deaths", "death", date(2021, 2, 1))  # two registers: labelled
        if i % 4 == 0:
            for source in ("card_spending", "telecom", "bank_counter"):
                province.weak(pid, source, date(2021, 9, 1), date(2021, 10, 1))
    unreported = province.person("U")  # dead, no death record, same pattern
    for source in ("card_spending", "telecom", "bank_counter"):
        province.weak(unreported, source, date(2021, 9, 15), date(2021, 10, 15))
    alive = province.person("A")  # weak-only alive who also sees a doctor
    for source in ("card_spending", "outpatient"):
        province.weak(alive, source, date(2021, 9, 15), date(2021, 10, 15))
    province.load(con)
    settings = LivenessSettings()
    score_round(con, AS_OF, settings)
    assert load_threshold(con) > settings.certify_log_odds
    status = dict(con.execute("SELECT person_id, status FROM verdicts WHERE person_id IN ('U', 'A')").fetchall())
    assert status == {"U": "uncertified", "A": "certified"}


def test_highest_weak_log_odds_is_what_every_source_at_full_weight_scores():
    ratios = {s: LikelihoodRatio(s, a, d) for s, a, d in (("telecom", 0.6, 0.15), ("card_spending", 0.5, 0.12),
                                                          ("outpatient", 0.45, 0.01))}
    for cap in (1.0, 2.0):
        settings = LivenessSettings(source_cap=cap)
        # on as_of with link 1.0 a record weighs 1: `cap` records per source fill the cap exactly
        edges = [(EvidenceEdge(s, "weak", f"{s}{k}", datetime(2021, 10, 31), 1.0, "direct", "r"), 1.0)
                 for s in ratios for k in range(int(cap))]
        score = weak_score(edges, ratios, settings, threshold_log_odds=0.0)
        assert score.log_odds == pytest.approx(highest_weak_log_odds(ratios.values(), settings))
        fewer = weak_score(edges[1:], ratios, settings, threshold_log_odds=0.0)
        assert fewer.log_odds < score.log_odds


def _strong_alive(province, n: int, sources: tuple[str, ...]) -> None:
    for i in range(n):  # alive, strong-certified, each weak source seen for about half of them
        pid = province.person(f"L{i}")
        province.record(pid, "vaccination", "strong", date(2021, 8, 1))
        for j, source in enumerate(sources):
            if (i >> j) & 1:
                province.weak(pid, source, date(2021, 9, 1))


def test_weak_cannot_certify_when_relatives_reach_the_ceiling(con, province):
    sources = ("card_spending", "telecom", "bank_counter")
    _strong_alive(province, 200, sources)
    for i in range(40):  # reported dead whose families use every weak source of the round at full weight
        pid = province.person(f"X{i}")
        province.record(pid, "civil_deaths", "death", date(2021, 2, 1))
        province.record(pid, "police_deaths", "death", date(2021, 2, 1))  # two registers: labelled
        if i % 4 == 0:
            for source in sources:
                province.weak(pid, source, date(2021, 10, 1), date(2021, 10, 30))
    alive = province.person("A")  # weak-only alive with the very same pattern: nothing tells them apart
    for source in sources:
        province.weak(alive, source, date(2021, 10, 1), date(2021, 10, 30))
    province.load(con)
    stats = score_round(con, AS_OF, LivenessSettings())
    assert stats["weak_can_certify"] is False
    assert stats["weak_threshold_log_odds"] >= stats["weak_highest_log_odds"]
    assert con.execute("SELECT status FROM verdicts WHERE person_id = 'A'").fetchone()[0] == "uncertified"


def test_weak_can_certify_when_relatives_stay_below_the_ceiling(con, province):
    sources = ("card_spending", "telecom", "bank_counter", "outpatient")
    _strong_alive(province, 200, sources)
    for i in range(40):  # relatives never see the doctor for the dead
        pid = province.person(f"X{i}")
        province.record(pid, "civil_deaths", "death", date(2021, 2, 1))
        province.record(pid, "police_deaths", "death", date(2021, 2, 1))  # two registers: labelled
        if i % 4 == 0:
            for source in sources[:3]:
                province.weak(pid, source, date(2021, 10, 1), date(2021, 10, 30))
    province.load(con)
    stats = score_round(con, AS_OF, LivenessSettings())
    assert stats["weak_can_certify"] is True
    assert stats["weak_threshold_log_odds"] < stats["weak_highest_log_odds"]
