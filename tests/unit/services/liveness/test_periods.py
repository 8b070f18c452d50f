"""Period ends, states at the boundaries (Python and SQL twins), carried periods, never moving backward."""

from __future__ import annotations

from datetime import date, timedelta

import duckdb
import pytest

from silentcert.services.liveness.periods import (
    add_months,
    create_period_state_macro,
    period_params,
    period_state,
    resolve_period,
)
from silentcert.services.liveness.score_stage import score_round
from silentcert.services.liveness.settings import LivenessSettings

AS_OF = date(2021, 10, 31)
S = LivenessSettings(expiring_days=60, grace_days=90)


@pytest.mark.parametrize(("day", "months", "expected"), [
    (date(2021, 1, 31), 1, date(2021, 2, 28)),
    (date(2020, 2, 29), 12, date(2021, 2, 28)),
    (date(2021, 10, 31), -12, date(2020, 10, 31)),
    (date(2021, 12, 15), 1, date(2022, 1, 15)),
])
def test_add_months_clamps_like_duckdb(day, months, expected):
    assert add_months(day, months) == expected
    sql = duckdb.execute(f"SELECT (DATE '{day}' + to_months({months}))::DATE").fetchone()[0]
    assert sql == expected


BOUNDARIES = [
    (None, "overdue"),
    (AS_OF + timedelta(days=61), "valid"),
    (AS_OF + timedelta(days=60), "expiring"),
    (AS_OF, "expiring"),
    (AS_OF - timedelta(days=1), "overdue"),
    (AS_OF - timedelta(days=90), "overdue"),
    (AS_OF - timedelta(days=91), "suspended"),
]


@pytest.mark.parametrize(("end", "state"), BOUNDARIES)
def test_period_state_at_the_boundaries_in_python_and_sql(end, state):
    assert period_state(end, AS_OF, S) == state
    con = duckdb.connect()
    create_period_state_macro(con)
    query = "SELECT period_state_of($end::DATE, $as_of::DATE, $expiring_days, $grace_days)"
    assert con.execute(query, {**period_params(AS_OF, S), "end": end}).fetchone()[0] == state


def test_resolve_period_never_moves_backward():
    later = resolve_period(date(2022, 12, 1), date(2021, 9, 1), AS_OF, S)
    assert later.certified_until == date(2022, 12, 1) and not later.extended and later.certified
    forward = resolve_period(date(2022, 1, 1), date(2021, 9, 1), AS_OF, S)
    assert forward.certified_until == date(2022, 9, 1) and forward.extended


def test_round_periods_extend_carry_and_never_move_back(province):
    con = duckdb.connect()
    province.person("NEW", certified_until=date(2021, 11, 15))          # expiring, then extended
    province.record("NEW", "vaccination", "strong", date(2021, 10, 1))
    province.person("AHEAD", certified_until=date(2022, 3, 1))          # previous round went further
    province.prior_period("AHEAD", "certified", date(2022, 12, 1))
    province.record("AHEAD", "vaccination", "strong", date(2021, 9, 1))
    province.person("KEEP", certified_until=date(2022, 6, 30))          # no evidence: carried
    province.person("LAPSED", certified_until=date(2021, 9, 30))        # overdue, no evidence
    province.person("GONE", certified_until=date(2021, 5, 1))           # suspended
    province.person("DEAD")                                             # previous round: deceased
    province.prior_period("DEAD", "deceased", date(2022, 5, 1))
    province.load(con)
    score_round(con, AS_OF, S)
    got = {r[0]: r[1:] for r in con.execute(
        "SELECT person_id, status, method, certified_until, period_state FROM verdicts").fetchall()}
    assert got["NEW"] == ("certified", "strong", date(2022, 10, 1), "valid")
    assert got["AHEAD"] == ("certified", "carried", date(2022, 12, 1), "valid")
    assert got["KEEP"] == ("certified", "carried", date(2022, 6, 30), "valid")
    assert got["LAPSED"] == ("uncertified", "none", date(2021, 9, 30), "overdue")
    assert got["GONE"] == ("uncertified", "none", date(2021, 5, 1), "suspended")
    assert got["DEAD"] == ("uncertified", "none", None, "overdue")


def test_two_consecutive_rounds_extend_the_period(province):
    con = duckdb.connect()
    province.person("A")
    province.record("A", "vaccination", "strong", date(2021, 3, 1))
    province.load(con)
    score_round(con, date(2021, 3, 31), S)
    first = con.execute("SELECT status, certified_until FROM verdicts").fetchone()
    assert first == ("certified", date(2022, 3, 1))
    con.execute("CREATE OR REPLACE TABLE previous_periods AS SELECT person_id, status, certified_until FROM verdicts")
    con.execute("DELETE FROM records; DELETE FROM links; DELETE FROM link_candidates")
    score_round(con, date(2021, 4, 30), S)  # no new evidence: carried
    assert con.execute("SELECT method, certified_until FROM verdicts").fetchone() == ("carried", date(2022, 3, 1))
    con.execute("INSERT INTO records VALUES (99, 'rail', 'strong', 'x', TIMESTAMP '2022-02-10 08:00', NULL, NULL)")
    con.execute("INSERT INTO links VALUES (99, 'rail', 'x', 'A', 0.99, 'splink', 'auto')")
    con.execute("CREATE OR REPLACE TABLE previous_periods AS SELECT person_id, status, certified_until FROM verdicts")
    score_round(con, date(2022, 2, 28), S)
    assert con.execute("SELECT method, certified_until, period_state FROM verdicts").fetchone() == (
        "strong", date(2023, 2, 10), "valid")
