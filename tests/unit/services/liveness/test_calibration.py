"""The weak threshold rises above what the round's labelled dead reach on their relatives' activity."""

from __future__ import annotations

from datetime import date

import pytest

from services.liveness.calibration import load_threshold, threshold_from
from services.liveness.round_scoring import score_round
from services.liveness.settings import LivenessSettings

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
