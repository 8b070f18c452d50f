"""Dates and timestamps in the formats the contract allows, strictly: an impossible date is a reason.

Accepted (after trimming and full-width folding): ``YYYY-M-D``, ``YYYY/M/D`` (month and day one or two
digits) and ``YYYYMMDD``, each optionally followed by a space or ``T`` and ``H:MM`` or ``H:MM:SS`` (fractional
seconds and a zone suffix such as ``Z`` or ``+08:00`` are accepted and dropped: the local wall time counts).
Nothing is wrapped: ``2021-02-30`` and ``20210230`` are rejected, never read as March 2nd. Years
outside 1800-2200 are rejected as typos.

Two faces kept in step by tests: :func:`normalise_date` / :func:`normalise_timestamp` for one value,
:func:`date_sql` / :func:`timestamp_sql` for a whole column in DuckDB. Both parse with one regular
expression whose groups are the parts, so Python and SQL take the same decisions.
"""

import calendar
import re
from datetime import date, datetime

from services.resolver.rejections import Rejection
from services.resolver.widths import WHITESPACE, half_width_sql, sql_string, to_half_width

EARLIEST_YEAR = 1800
LATEST_YEAR = 2200
FORMATS = "YYYY-MM-DD, YYYY/M/D or YYYYMMDD, optionally with a time HH:MM[:SS[.fff]]"

# Exactly one of the three (month, day) group pairs takes part; the others are empty.
PATTERN = (
    "^([0-9]{4})(?:-([0-9]{1,2})-([0-9]{1,2})|/([0-9]{1,2})/([0-9]{1,2})|([0-9]{2})([0-9]{2}))"
    "(?:[ T]([0-9]{1,2}):([0-9]{2})(?::([0-9]{2})(?:[.,][0-9]{1,9})?)?(?:Z|[+-][0-9]{2}:?[0-9]{2})?)?$"
)
GROUPS = ("y", "m1", "d1", "m2", "d2", "m3", "d3", "hh", "mi", "ss")
_REGEX = re.compile(PATTERN)


def is_calendar_date(year: int, month: int, day: int) -> bool:
    """True when the day exists in the proleptic Gregorian calendar (year 0 included, as in DuckDB)."""
    if not 1 <= month <= 12:
        return False
    days = 29 if month == 2 and calendar.isleap(year) else calendar.mdays[month]
    return 1 <= day <= days


def normalise_date(raw: str | None, field: str = "date") -> date | Rejection | None:
    """The date in ``raw`` (a time part is checked, then dropped); ``None`` when empty."""
    parsed = normalise_timestamp(raw, field)
    return parsed.date() if isinstance(parsed, datetime) else parsed


def normalise_timestamp(raw: str | None, field: str = "date") -> datetime | Rejection | None:
    """The timestamp in ``raw`` (midnight when it carries no time); ``None`` when empty."""
    text = _trimmed(raw or "")
    if not text:
        return None
    match = _REGEX.fullmatch(text)
    if not match:
        return Rejection(field, raw, f"{field} {text} is not in a known format ({FORMATS})")
    y, mo, d, hh, mi, ss = _parts(match)
    if not EARLIEST_YEAR <= y <= LATEST_YEAR:
        return Rejection(field, raw, f"{field} {text} has year {y}, outside {EARLIEST_YEAR}-{LATEST_YEAR}")
    if not is_calendar_date(y, mo, d):
        return Rejection(field, raw, f"{field} {text} is not a real date")
    if hh > 23 or mi > 59 or ss > 59:
        return Rejection(field, raw, f"{field} {text} has an impossible time of day")
    return datetime(y, mo, d, hh, mi, ss)


def _trimmed(text: str) -> str:
    return to_half_width(text).strip(WHITESPACE)


def _parts(match: re.Match) -> tuple[int, ...]:
    g = [part or "" for part in match.groups()]
    month, day = g[1] + g[3] + g[5], g[2] + g[4] + g[6]
    return int(g[0]), int(month), int(day), int(g[7] or 0), int(g[8] or 0), int(g[9] or 0)


# ---- the SQL face -------------------------------------------------------------------------------


def date_sql(expr: str, field: str = "date") -> tuple[str, str]:
    """``(date, reason)`` SQL expressions over a column expression; both NULL when empty."""
    value, reason = timestamp_sql(expr, field)
    return f"CAST({value} AS DATE)", reason


def timestamp_sql(expr: str, field: str = "date") -> tuple[str, str]:
    """``(timestamp, reason)`` SQL expressions over a column expression; both NULL when empty.

    The text is trimmed and matched once per row; the parts are bound with a lambda so the regular
    expression is not re-run for each check.
    """
    text = f"trim({half_width_sql(f'CAST({expr} AS VARCHAR)')}, {sql_string(WHITESPACE)})"
    names = "[" + ", ".join(sql_string(g) for g in GROUPS) + "]"
    bound = f"[{{'t': {text}, 'p': regexp_extract({text}, {sql_string(PATTERN)}, {names})}}]"
    return (
        f"list_transform({bound}, lambda r: {_value_sql('r', field)})[1]",
        f"list_transform({bound}, lambda r: {_reason_sql('r', field)})[1]",
    )


def _iso_sql(r: str) -> str:
    month = f"({r}.p.m1 || {r}.p.m2 || {r}.p.m3)"
    day = f"({r}.p.d1 || {r}.p.d2 || {r}.p.d3)"
    return f"({r}.p.y || '-' || lpad({month}, 2, '0') || '-' || lpad({day}, 2, '0'))"


def _time_bad_sql(r: str) -> str:
    part = lambda g, limit: f"coalesce(CAST(nullif({r}.p.{g}, '') AS INTEGER), 0) > {limit}"  # noqa: E731
    return f"({part('hh', 23)} OR {part('mi', 59)} OR {part('ss', 59)})"


def _seconds_sql(r: str) -> str:
    part = lambda g: f"coalesce(CAST(nullif({r}.p.{g}, '') AS INTEGER), 0)"  # noqa: E731
    return f"({part('hh')} * 3600 + {part('mi')} * 60 + {part('ss')})"


def _value_sql(r: str, field: str) -> str:
    day = f"try_cast({_iso_sql(r)} AS DATE)"
    return (
        f"CASE WHEN ({_reason_sql(r, field)}) IS NOT NULL OR {r}.t = '' THEN NULL "
        f"ELSE CAST({day} AS TIMESTAMP) + to_seconds({_seconds_sql(r)}) END"
    )


def _reason_sql(r: str, field: str) -> str:
    year = f"CAST({r}.p.y AS INTEGER)"
    return (
        f"CASE WHEN {r}.t IS NULL OR {r}.t = '' THEN NULL "
        f"WHEN {r}.p.y = '' THEN '{field} ' || {r}.t || ' is not in a known format ({FORMATS})' "
        f"WHEN {year} NOT BETWEEN {EARLIEST_YEAR} AND {LATEST_YEAR} "
        f"THEN '{field} ' || {r}.t || ' has year ' || {year} || ', outside {EARLIEST_YEAR}-{LATEST_YEAR}' "
        f"WHEN try_cast({_iso_sql(r)} AS DATE) IS NULL THEN '{field} ' || {r}.t || ' is not a real date' "
        f"WHEN {_time_bad_sql(r)} THEN '{field} ' || {r}.t || ' has an impossible time of day' "
        "END"
    )
