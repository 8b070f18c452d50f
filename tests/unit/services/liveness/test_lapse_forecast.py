"""The lapse forecast on hand-built histories: who the model expects to stay quiet until their period ends."""

from __future__ import annotations

import random
from datetime import date, timedelta

import duckdb
import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from silentcert.graph.errors import InvalidInput
from silentcert.services.liveness.lapse_forecast import forecast_lapses
from silentcert.services.liveness.settings import LivenessSettings

AS_OF = date(2021, 10, 31)
SETTINGS = LivenessSettings()


def _tables(con: duckdb.DuckDBPyConnection, people: dict[str, tuple[date, list[tuple[str, date]]]]) -> None:
    """people: person_id -> (certified_until, [(source, day), ...]) of certifying strong records."""
    con.execute("CREATE OR REPLACE TABLE verdicts (person_id VARCHAR, status VARCHAR, method VARCHAR, "
                "evidence_at DATE, certified_until DATE)")
    con.execute("CREATE OR REPLACE TABLE evidence (person_id VARCHAR, source VARCHAR, kind VARCHAR, role VARCHAR, "
                "occurred_at TIMESTAMP)")
    con.executemany("INSERT INTO verdicts VALUES (?, 'certified', 'strong', NULL, ?)",
                    [(pid, until) for pid, (until, _) in people.items()])
    rows = [(pid, source, day) for pid, (_, events) in people.items() for source, day in events]
    if rows:
        con.executemany("INSERT INTO evidence VALUES (?, ?, 'strong', 'certifies', ?)", rows)


def _forecast(con) -> dict[str, float]:
    forecast_lapses(con, AS_OF, SETTINGS)
    return dict(con.execute("SELECT person_id, lapse_probability FROM forecast").fetchall())


def _every(days: int, source: str, last: date, count: int) -> list[tuple[str, date]]:
    return [(source, last - timedelta(days=days * i)) for i in range(count)]


def _crowd(n: int = 60) -> dict[str, tuple[date, list[tuple[str, date]]]]:
    """A population to estimate the priors from: people with 1..6 hospital visits on random days of the year."""
    rng = random.Random(7)
    out = {}
    for i in range(n):
        visits = [("hospital", AS_OF - timedelta(days=rng.randrange(360))) for _ in range(1 + i % 6)]
        out[f"C{i:03d}"] = (AS_OF + timedelta(days=30 + (i * 7) % 300), visits)
    return out


def test_a_weekly_visitor_is_far_less_likely_to_lapse_than_a_once_a_year_visitor(con):
    people = _crowd()
    end = AS_OF + timedelta(days=90)
    people["WEEKLY"] = (end, _every(7, "hospital", AS_OF - timedelta(days=3), 50))
    people["YEARLY"] = (end, [("hospital", AS_OF - timedelta(days=275))])
    _tables(con, people)
    got = _forecast(con)
    assert got["WEEKLY"] < 0.01
    assert got["YEARLY"] > 0.3
    rank = dict(con.execute("SELECT person_id, priority FROM forecast").fetchall())
    assert rank["YEARLY"] < rank["WEEKLY"]


def test_a_nearer_period_end_is_likelier_to_be_reached_quietly(con):
    people = _crowd()
    visits = [("hospital", AS_OF - timedelta(days=100))]
    people["SOON"] = (AS_OF + timedelta(days=20), visits)
    people["LATER"] = (AS_OF + timedelta(days=250), visits)
    _tables(con, people)
    got = _forecast(con)
    assert got["SOON"] > got["LATER"]


def test_a_regular_cadence_is_learnt_and_predicts_the_next_visit(con):
    """A source everyone uses every 90 days (give or take two): someone 80 days past their last visit is due within
    the 20 days left, whatever a memoryless model would say (e^(-20/90) = 0.80 quiet)."""
    people = {}
    for i in range(80):
        last = AS_OF - timedelta(days=i % 85)
        visits = [("checkup", last - timedelta(days=90 * j + (j * i) % 5 - 2)) for j in range(4)]
        people[f"R{i:03d}"] = (AS_OF + timedelta(days=200), visits)
    people["DUE"] = (AS_OF + timedelta(days=20), _every(90, "checkup", AS_OF - timedelta(days=80), 4))
    people["JUST"] = (AS_OF + timedelta(days=20), _every(90, "checkup", AS_OF - timedelta(days=5), 4))
    _tables(con, people)
    stats = forecast_lapses(con, AS_OF, SETTINGS)
    assert 0.95 < stats["streams"]["checkup"]["median_gap_in_mean_gaps"] < 1.05
    got = dict(con.execute("SELECT person_id, lapse_probability FROM forecast").fetchall())
    assert got["DUE"] < 0.3
    assert got["JUST"] > 0.95  # 85 more days to the next visit, and only 20 left


def test_people_whose_evidence_stopped_are_found(con):
    """A busy source everyone uses monthly; a tenth of the people fell silent half a year ago. The hazard of stopping
    comes out positive, and the silent are the likeliest to lapse."""
    people = {}
    for i in range(100):
        last = AS_OF - timedelta(days=(i % 20) + (180 if i % 10 == 0 else 0))
        visits = [("pharmacy", last - timedelta(days=30 * j + i % 3)) for j in range(12) if 30 * j < 360 - (AS_OF - last).days]
        people[f"P{i:03d}"] = (AS_OF + timedelta(days=60 + i), visits)
    _tables(con, people)
    stats = forecast_lapses(con, AS_OF, SETTINGS)
    assert stats["stop_hazard_per_year"] > 0
    top = [pid for (pid,) in con.execute("SELECT person_id FROM forecast ORDER BY priority LIMIT 10").fetchall()]
    assert sorted(top) == [f"P{i:03d}" for i in range(0, 100, 10)]


def test_only_people_certified_on_as_of_are_forecast(con):
    people = _crowd(10)
    people["GONE"] = (AS_OF - timedelta(days=1), [("hospital", AS_OF - timedelta(days=366))])
    _tables(con, people)
    con.execute("UPDATE verdicts SET status = 'deceased' WHERE person_id = 'C001'")
    forecast_lapses(con, AS_OF, SETTINGS)
    ids = {pid for (pid,) in con.execute("SELECT person_id FROM forecast").fetchall()}
    assert ids == set(people) - {"GONE", "C001"}


@hsettings(max_examples=25, deadline=None)
@given(histories=st.lists(st.lists(st.integers(min_value=0, max_value=364), max_size=12), min_size=2, max_size=8),
       horizons=st.lists(st.integers(min_value=0, max_value=400), min_size=2, max_size=8))
def test_probabilities_lie_in_the_unit_interval_and_grow_as_the_end_nears(histories, horizons):
    con = duckdb.connect()
    try:
        people = {}
        for i, days in enumerate(histories):
            events = [("src" + str(d % 2), AS_OF - timedelta(days=d)) for d in days]
            for j, h in enumerate(horizons):  # the same history at every horizon
                people[f"H{i}-{j}"] = (AS_OF + timedelta(days=h), events)
        _tables(con, people)
        got = _forecast(con)
        assert all(0.0 <= p <= 1.0 for p in got.values())
        for i in range(len(histories)):
            by_horizon = sorted((h, got[f"H{i}-{j}"]) for j, h in enumerate(horizons))
            probs = [p for _, p in by_horizon]
            assert all(a >= b - 1e-12 for a, b in zip(probs, probs[1:]))
    finally:
        con.close()


@pytest.mark.parametrize("table, field", [({"early_reminder_probability": 1.5}, "early_reminder_probability"),
                                          ({"early_reminder_days": -1}, "early_reminder_days")])
def test_bad_early_reminder_settings_are_named(table, field):
    with pytest.raises(InvalidInput) as caught:
        LivenessSettings.from_dict(table)
    assert caught.value.field == field
