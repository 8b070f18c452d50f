"""Dates and timestamps in the formats the contract allows, strictly: an impossible date is a reason.

Accepted (after trimming and full-width folding): ``YYYY-M-D``, ``YYYY/M/D`` (month and day one or two
digits) and ``YYYYMMDD``, each optionally followed by a space or ``T`` and ``H:MM`` or ``H:MM:SS`` (fractional
seconds and a zone suffix such as ``Z`` or ``+08:00`` are accepted and dropped: the local wall time counts).
Department systems also write ``YYYY年M月D日`` and ``YYYY.M.D``; those are read as ``YYYY-M-D`` (reasons quote
the value as written).
Nothing is wrapped: ``2021-02-30`` and ``20210230`` are rejected, never read as March 2nd. Years
outside 1800-2200 are rejected as typos.

Two faces kept in step by tests: :func:`normalise_date` / :func:`normalise_timestamp` for one value,
:func:`date_sql` / :func:`timestamp_sql` for a whole column in DuckDB. Both parse with one regular
expression whose groups are the parts, so Python and SQL take the same decisions.
"""

import calendar
import re
from datetime import date, datetime

from silentcert.services.resolver.rejections import Rejection
from silentcert.services.resolver.widths import WHITESPACE, half_width_sql, sql_string, strip_sql, to_half_width

EARLIEST_YEAR = 1800
LATEST_YEAR = 2200
FORMATS = "YYYY-MM-DD, YYYY/M/D or YYYYMMDD, optionally with a time HH:MM[:SS[.fff]]"

# Other spellings of a calendar date, rewritten to YYYY-M-D before matching (the time part is left as it is).
SPELLINGS = (
    ("^([0-9]{4})年([0-9]{1,2})月([0-9]{1,2})日?(?: +|T)?", "\\1-\\2-\\3 "),
    ("^([0-9]{4})\\.([0-9]{1,2})\\.([0-9]{1,2})", "\\1-\\2-\\3"),
)

# Exactly one of the three (month, day) group pairs takes part; the others are empty.
PATTERN = (
    "^([0-9]{4})(?:-([0-9]{1,2})-([0-9]{1,2})|/([0-9]{1,2})/([0-9]{1,2})|([0-9]{2})([0-9]{2}))"
    "(?:[ T]([0-9]{1,2}):([0-9]{2})(?::([0-9]{2})(?:[.,][0-9]{1,9})?)?(?:Z|[+-][0-9]{2}:?[0-9]{2})?)?$"
)
GROUPS = ("y", "m1", "d1", "m2", "d2", "m3", "d3", "hh", "mi", "ss")
_REGEX = re.compile(PATTERN)


_DAYS_IN_MONTH = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def is_calendar_date(year: int, month: int, day: int) -> bool:
    """True when the day exists in the proleptic Gregorian calendar (year 0 included, as in DuckDB)."""
    if not 1 <= month <= 12:
        return False
    days = 29 if month == 2 and calendar.isleap(year) else _DAYS_IN_MONTH[month - 1]
    return 1 <= day <= days


def calendar_date_sql(year: str, month: str, day: str) -> str:
    """SQL twin of :func:`is_calendar_date` over integer expressions, by arithmetic (no cast, no error)."""
    leap = f"(({year}) % 4 = 0 AND (({year}) % 100 <> 0 OR ({year}) % 400 = 0))"
    days = (
        f"CASE WHEN ({month}) = 2 THEN CASE WHEN {leap} THEN 29 ELSE 28 END "
        f"WHEN ({month}) IN (4, 6, 9, 11) THEN 30 ELSE 31 END"
    )
    return f"(({month}) BETWEEN 1 AND 12 AND ({day}) BETWEEN 1 AND {days})"


def normalise_date(raw: str | None, field: str = "date") -> date | Rejection | None:
    """The date in ``raw`` (a time part is checked, then dropped); ``None`` when empty."""
    parsed = normalise_timestamp(raw, field)
    return parsed.date() if isinstance(parsed, datetime) else parsed


def normalise_timestamp(raw: str | None, field: str = "date") -> datetime | Rejection | None:
    """The timestamp in ``raw`` (midnight when it carries no time); ``None`` when empty."""
    text = _trimmed(raw or "")
    if not text:
        return None
    match = _REGEX.fullmatch(_respelt(text))
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


def _respelt(text: str) -> str:
    for pattern, replacement in SPELLINGS:
        text = re.sub(pattern, replacement, text)
    return text.rstrip(" ")


def _parts(match: re.Match) -> tuple[int, ...]:
    g = [part or "" for part in match.groups()]
    month, day = g[1] + g[3] + g[5], g[2] + g[4] + g[6]
    return int(g[0]), int(month), int(day), int(g[7] or 0), int(g[8] or 0), int(g[9] or 0)


# ---- the SQL face -------------------------------------------------------------------------------


def date_sql(expr: str, field: str = "date") -> tuple[str, str]:
    """``(date, reason)`` SQL expressions over a column expression; both NULL when empty."""
    fields = timestamp_struct_sql(expr, field)
    return f"CAST(({fields}).value AS DATE)", f"({fields}).reason"


def timestamp_sql(expr: str, field: str = "date") -> tuple[str, str]:
    """``(timestamp, reason)`` SQL expressions over a column expression; both NULL when empty."""
    fields = timestamp_struct_sql(expr, field)
    return f"({fields}).value", f"({fields}).reason"


# The shape most department systems write: an ISO date in range, optionally with a valid time of day (fraction
# dropped). DuckDB's own cast reads it, about ten times cheaper than the general rules, which still decide every
# value this does not match or the cast refuses (2021-02-30).
ISO_SHAPE = ("^(?:1[89][0-9]{2}|2[01][0-9]{2}|2200)-[0-9]{2}-[0-9]{2}"
             "(?:[ T](?:[01][0-9]|2[0-3]):[0-5][0-9](?::[0-5][0-9](?:\\.[0-9]{1,6})?)?)?$")


def timestamp_struct_sql(expr: str, field: str = "date") -> str:
    """One ``STRUCT(value, reason)`` expression: the rules evaluated once when both are selected.

    An ISO value (:data:`ISO_SHAPE`) is cast directly. Any other goes through the rules: each stage is bound by a
    ``list_transform`` over a one-element list, so the text is trimmed and matched once, the parts cast to
    integers once, and the calendar checked by arithmetic.
    """
    text = f"CAST({expr} AS VARCHAR)"
    iso = f"try_cast(CASE WHEN regexp_matches({text}, {sql_string(ISO_SHAPE)}) THEN {text} END AS TIMESTAMP)"
    return (f"CASE WHEN {iso} IS NOT NULL THEN {{'value': date_trunc('second', {iso}), 'reason': NULL::VARCHAR}} "
            f"ELSE {_rules_sql(text, field)} END")


def _rules_sql(text: str, field: str) -> str:
    folded = half_width_sql(text)
    groups = "[" + ", ".join(sql_string(g) for g in GROUPS) + "]"
    number = lambda part: f"try_cast(nullif({part}, '') AS INTEGER)"  # noqa: E731
    stages = [
        f"lambda f: {strip_sql('f')}",
        f"lambda t: {{'t': t, 'p': regexp_extract({_respelt_sql('t')}, {sql_string(PATTERN)}, {groups})}}",
        f"lambda r: {{'t': r.t, 'y': {number('r.p.y')}, 'mo': {number('r.p.m1 || r.p.m2 || r.p.m3')}, "
        f"'d': {number('r.p.d1 || r.p.d2 || r.p.d3')}, 'hh': coalesce({number('r.p.hh')}, 0), "
        f"'mi': coalesce({number('r.p.mi')}, 0), 'ss': coalesce({number('r.p.ss')}, 0)}}",
        f"lambda r: {{'r': r, 'reason': {_reason_sql('r', field)}}}",
        "lambda s: {'value': CASE WHEN s.reason IS NULL AND s.r.t <> '' "
        "THEN make_timestamp(s.r.y, s.r.mo, s.r.d, s.r.hh, s.r.mi, s.r.ss) END, 'reason': s.reason}",
    ]
    chained = f"[{folded}]"
    for stage in stages:
        chained = f"list_transform({chained}, {stage})"
    return f"{chained}[1]"


def _respelt_sql(text: str) -> str:
    for pattern, replacement in SPELLINGS:
        text = f"regexp_replace({text}, {sql_string(pattern)}, {sql_string(replacement)})"
    return f"rtrim({text}, ' ')"


def _reason_sql(r: str, field: str) -> str:
    said = f"'{field} ' || {r}.t"
    return (
        f"CASE WHEN {r}.t IS NULL OR {r}.t = '' THEN NULL "
        f"WHEN {r}.y IS NULL THEN {said} || ' is not in a known format ({FORMATS})' "
        f"WHEN {r}.y NOT BETWEEN {EARLIEST_YEAR} AND {LATEST_YEAR} "
        f"THEN {said} || ' has year ' || {r}.y || ', outside {EARLIEST_YEAR}-{LATEST_YEAR}' "
        f"WHEN NOT {calendar_date_sql(f'{r}.y', f'{r}.mo', f'{r}.d')} THEN {said} || ' is not a real date' "
        f"WHEN {r}.hh > 23 OR {r}.mi > 59 OR {r}.ss > 59 THEN {said} || ' has an impossible time of day' "
        "END"
    )
