"""Certification periods: where a period ends, whether it moves, and what state it is in on a date.

Each rule exists twice, once in Python (for one person, :func:`services.liveness.scoring.explain_person`) and
once as a DuckDB SQL fragment (for the whole province, :mod:`services.liveness.score_stage`); the unit tests
hold the two to the same answers.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta

import duckdb

from silentcert.graph import sql
from silentcert.services.liveness.settings import LivenessSettings

STATES = ("valid", "expiring", "overdue", "suspended", "ended")


def add_months(day: date, months: int) -> date:
    """``day`` plus ``months`` calendar months, clamped to the month's last day (as DuckDB's INTERVAL does)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


def window_start(as_of: date, settings: LivenessSettings) -> date:
    """The first day whose evidence still counts in a round dated ``as_of``."""
    return add_months(as_of, -settings.window_months)


def period_state(end: date | None, as_of: date, settings: LivenessSettings) -> str:
    """valid / expiring / overdue / suspended for a period ending on ``end`` (None: never certified = overdue).

    The end day itself still counts as covered. ``ended`` is set only by the death check.
    """
    if end is None:
        return "overdue"
    if end >= as_of:
        return "expiring" if end <= as_of + timedelta(days=settings.expiring_days) else "valid"
    return "suspended" if (as_of - end).days > settings.grace_days else "overdue"


# The SQL twin of period_state: the macro period_state_of(end, as_of, expiring_days, grace_days) (a macro is
# inlined where it is called, so it costs what the CASE written out would).
PERIOD_STATE_MACRO = """
CREATE OR REPLACE TEMP MACRO period_state_of(end_day, as_of, expiring_days, grace_days) AS
CASE WHEN end_day IS NULL THEN 'overdue'
     WHEN end_day >= as_of THEN CASE WHEN end_day <= as_of + expiring_days THEN 'expiring' ELSE 'valid' END
     WHEN as_of - end_day > grace_days THEN 'suspended' ELSE 'overdue' END
"""


def create_period_state_macro(con: duckdb.DuckDBPyConnection) -> None:
    """Define ``period_state_of`` on ``con``; statements call it with :func:`period_params`."""
    sql.run(con, "period_state_macro", PERIOD_STATE_MACRO)


def period_params(as_of: date, settings: LivenessSettings) -> dict[str, object]:
    """The parameters a statement calling ``period_state_of($as_of::DATE, $expiring_days, $grace_days)`` binds."""
    return {"as_of": as_of, "expiring_days": settings.expiring_days, "grace_days": settings.grace_days}


def previous_end(registry_end: date | None, previous_end_: date | None) -> date | None:
    """The period end before this round: the later of the registry's and the previous round's."""
    known = [d for d in (registry_end, previous_end_) if d is not None]
    return max(known) if known else None


def write_previous_ends(con: duckdb.DuckDBPyConnection, into: str) -> None:
    """TEMP table ``into`` (person_id, prev_end) for every registry person: the SQL twin of :func:`previous_end`.

    ``previous_periods`` (the last round's result from the graph store) may be absent on a first round; the
    periods of people it lists as deceased are not carried.
    """
    exists = sql.has_table(con, "previous_periods", temporary=False)
    sql.run(con, "previous_ends", sql.with_idents(_PREVIOUS_ENDS if exists else _FIRST_ROUND_ENDS, into=into))


_PREVIOUS_ENDS = """
CREATE OR REPLACE TEMP TABLE {into} AS
SELECT g.person_id, greatest(g.certified_until, pp.certified_until) AS prev_end
FROM registry g LEFT JOIN (SELECT person_id, max(certified_until) AS certified_until FROM previous_periods
                           WHERE status IS DISTINCT FROM 'deceased' GROUP BY person_id) pp USING (person_id)
"""
_FIRST_ROUND_ENDS = "CREATE OR REPLACE TEMP TABLE {into} AS SELECT g.person_id, g.certified_until AS prev_end FROM registry g"


@dataclass(frozen=True)
class Period:
    """A person's period after this round and how it was reached."""

    certified_until: date | None
    extended: bool  # this round's evidence moved the end forward
    certified: bool  # the period covers as_of


def resolve_period(prev_end: date | None, certified_on: date | None, as_of: date,
                   settings: LivenessSettings) -> Period:
    """Combine the earlier period end with a certification on ``certified_on`` (None: none this round).

    The end never moves backward: evidence older than what the earlier period already covers changes nothing.
    """
    new_end = add_months(certified_on, settings.period_months) if certified_on is not None else None
    extended = new_end is not None and (prev_end is None or new_end > prev_end)
    end = new_end if extended else prev_end
    return Period(certified_until=end, extended=extended, certified=end is not None and end >= as_of)
