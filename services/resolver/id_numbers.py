"""Resident ID numbers (GB 11643-1999): clean, validate, upgrade legacy 15-digit numbers to 18.

Two faces of the same rules, kept in step by tests:

* :func:`normalise_id_number` takes one value (the real-time resolve) and returns an :class:`IdNumber`,
  a :class:`Rejection`, or ``None`` for an empty value (the column is optional);
* :func:`id_number_sql` builds DuckDB expressions that do the same to a whole column set-wise.

Cleaning deletes whitespace and dashes (exports write ``360102-19500101-1231``; full-width ``－`` folds to
``-``), folds full-width characters and upper-cases ``x``; nothing else is changed, so a stray letter is reported
rather than guessed away, and a dash standing for a lost character leaves a number of the wrong length. Checks run in this order and
the first failure is the reason: length, characters, birth date, check digit. A 15-digit number is the
pre-1999 form: birth date ``YYMMDD`` in the 1900s and no check digit; it is upgraded by inserting
``19`` and appending the computed check digit.

Repair: MOD 11-2 catches every single substitution and every adjacent transposition, so a number of the
right form that fails its check is one clerk's slip away from the number meant, if only one slip was
made. :func:`neighbours` lists the numbers one substitution or one adjacent transposition away that pass
the check (at most 17 · 9 + 10 + 17 edits to try; about one in eleven passes), and
:func:`neighbours_sql` does the same set-wise; the linker looks them up in the registry's ID index and
lets the model confirm a found person by name, birth date and sex. A number that passes its check is
never repaired: it names someone, maybe someone not in the registry.
"""

import re
from dataclasses import dataclass
from datetime import date

from silentcert.graph import sql
from silentcert.services.resolver.dates import calendar_date_sql, is_calendar_date
from silentcert.services.resolver.rejections import Rejection
from silentcert.services.resolver.widths import WHITESPACE, delete_sql, half_width_sql, sql_string, to_half_width

FIELD = "id_number"
WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARS = "10X98765432"
EARLIEST_BIRTH = date(1900, 1, 1)

SEPARATORS = WHITESPACE + "-"
_FORM = re.compile("[0-9]{17}[0-9X]")  # deleted wherever they stand; the check digit still guards the rest
_DELETE = str.maketrans("", "", SEPARATORS)


@dataclass(frozen=True)
class IdNumber:
    """A valid 18-character ID number, the raw text it came from, and what it encodes."""

    raw: str | None  # as given
    value: str
    birth_date: date
    sex: str
    upgraded: bool


def clean(raw: str) -> str:
    """Delete whitespace and dashes, fold full-width characters, upper-case ``x``."""
    return to_half_width(raw).translate(_DELETE).replace("x", "X")


def check_digit(first17: str) -> str:
    """The GB 11643 MOD 11-2 check character of the first 17 digits."""
    total = sum(int(c) * w for c, w in zip(first17, WEIGHTS, strict=True))
    return CHECK_CHARS[total % 11]


def upgrade(legacy15: str) -> str:
    """The 18-character form of a legacy 15-digit number (century 19, check digit appended)."""
    first17 = legacy15[:6] + "19" + legacy15[6:]
    return first17 + check_digit(first17)


def birth_date_of(id18: str) -> date:
    """The birth date encoded in characters 7-14 of a valid 18-character number."""
    return date(int(id18[6:10]), int(id18[10:12]), int(id18[12:14]))


def sex_of(id18: str) -> str:
    """'M' or 'F' from the sequence digit (character 17): odd is male."""
    return "M" if int(id18[16]) % 2 else "F"


def fails_check(value: str) -> bool:
    """True for 17 digits and a check character (digit or X) that is not theirs: a repairable number."""
    return _FORM.fullmatch(value) is not None and check_digit(value[:17]) != value[17]


def _passes(value: str) -> bool:
    return value[17] == check_digit(value[:17])


def _edits(value: str):
    """Every number one substitution (X only in place 18) or one adjacent transposition from ``value``."""
    for i, old in enumerate(value):
        for new in (CHECK_CHARS if i == 17 else "0123456789"):
            if new != old:
                yield value[:i] + new + value[i + 1:]
    for i in range(17):
        a, b = value[i], value[i + 1]
        if a != b and not (i == 16 and b == "X"):
            yield value[:i] + b + a + value[i + 2:]


def neighbours(value: str) -> list[str]:
    """The valid numbers one substitution or one adjacent transposition away from a number failing its check.

    Empty for a number that passes its check (it is never repaired) or is not of the 18-character form.
    """
    if not fails_check(value):
        return []
    return sorted({near for near in _edits(value) if _passes(near)})


def normalise_id_number(raw: str | None, as_of: date | None = None) -> IdNumber | Rejection | None:
    """Clean and validate one ID number; ``None`` when empty, a :class:`Rejection` when invalid.

    ``as_of`` bounds birth dates from above (a round passes its own date; default today).
    """
    value = clean(raw or "")
    if not value:
        return None
    reason = _problem(value, as_of or date.today())
    if reason:
        return Rejection(FIELD, raw, reason)
    upgraded = len(value) == 15
    id18 = upgrade(value) if upgraded else value
    return IdNumber(raw, id18, birth_date_of(id18), sex_of(id18), upgraded)


def _problem(value: str, as_of: date) -> str | None:
    return _length_problem(value) or _character_problem(value) or _birth_problem(value, as_of) or _check_problem(value)


def _length_problem(value: str) -> str | None:
    if len(value) in (18, 15):
        return None
    return f"{FIELD} has {len(value)} characters, expected 18 or 15"


def _character_problem(value: str) -> str | None:
    digits = value[:17] if len(value) == 18 else value
    for position, char in enumerate(digits, start=1):
        if not "0" <= char <= "9":
            return f"{FIELD} character {position} is '{char}', expected a digit"
    if len(value) == 18 and not ("0" <= value[17] <= "9" or value[17] == "X"):
        return f"{FIELD} character 18 is '{value[17]}', expected a digit or X"
    return None


def _birth_text(value: str) -> str:
    return value[6:14] if len(value) == 18 else "19" + value[6:12]


def _birth_problem(value: str, as_of: date) -> str | None:
    text = _birth_text(value)
    year, month, day = int(text[:4]), int(text[4:6]), int(text[6:8])
    if not is_calendar_date(year, month, day):
        return f"{FIELD} birth date {text} is not a date"
    if year < EARLIEST_BIRTH.year:
        return f"{FIELD} birth date {text} is before 1900"
    if date(year, month, day) > as_of:
        return f"{FIELD} birth date {text} is in the future"
    return None


def _check_problem(value: str) -> str | None:
    if len(value) == 15:
        return None
    expected = check_digit(value[:17])
    if value[17] == expected:
        return None
    return f"{FIELD} check digit wrong: expected {expected}, got {value[17]}"


# ---- the SQL face -------------------------------------------------------------------------------


def clean_sql(expr: str) -> str:
    """SQL twin of :func:`clean`."""
    return f"replace({delete_sql(half_width_sql(expr), SEPARATORS)}, 'x', 'X')"


def check_digit_sql(first17: str) -> str:
    """SQL for the check character of a 17-digit BIGINT expression (digits taken by arithmetic)."""
    terms = " + ".join(f"({first17} // {10 ** (16 - i)} % 10) * {w}" for i, w in enumerate(WEIGHTS))
    return f"substr({sql_string(CHECK_CHARS)}, CAST(({terms}) % 11 AS INTEGER) + 1, 1)"


#: The latest birth date a valid number may carry, as the YYYYMMDD integer the SQL compares: today's by default; a
#: round binds ``$born_by`` (:func:`born_by`) and passes ``"$born_by"``.
TODAY_YMD = "CAST(strftime(current_date, '%Y%m%d') AS INTEGER)"


def born_by(as_of: date) -> int:
    """The ``$born_by`` parameter of a round dated ``as_of``."""
    return int(as_of.strftime("%Y%m%d"))


def id_number_sql(expr: str, born_by: str = TODAY_YMD) -> tuple[str, str]:
    """``(normalised, reason)`` SQL expressions over a column expression, set-wise.

    ``normalised`` is the 18-character number or NULL; ``reason`` is the rejection text or NULL. Both
    are NULL for an empty value. Feed the normalised value to :func:`birth_date_sql` and :func:`sex_sql`.
    ``born_by`` is the SQL integer (YYYYMMDD) a birth date may not pass (:data:`TODAY_YMD`, or ``"$born_by"``).
    """
    fields = id_number_struct_sql(expr, born_by)
    return f"({fields}).value", f"({fields}).reason"


def id_number_struct_sql(expr: str, born_by: str = TODAY_YMD) -> str:
    """One ``STRUCT(value, reason)`` expression: the rules evaluated once when both are selected.

    DuckDB has no per-row ``let``; each stage is bound by a ``list_transform`` over a one-element list,
    so the cleaned text and the 17-digit body are computed once per row, and the check digit and
    birth date come from integer arithmetic rather than string slicing.
    """
    limit = born_by
    body = (
        "CASE WHEN regexp_full_match(v, '[0-9]{17}[0-9X]') THEN substr(v, 1, 17) "
        "WHEN regexp_full_match(v, '[0-9]{15}') THEN substr(v, 1, 6) || '19' || substr(v, 7, 9) END"
    )
    stages = [
        f"lambda v: {{'v': v, 'body': {body}}}",
        "lambda r: {'v': r.v, 'body': r.body, 'num': CAST(r.body AS BIGINT)}",
        f"lambda r: {{'v': r.v, 'body': r.body, 'ymd': CAST(r.num // 1000 % 100000000 AS INTEGER), "
        f"'check': {check_digit_sql('r.num')}}}",
        f"lambda r: {{'v': r.v, 'body': r.body, 'check': r.check, 'reason': {_reason_sql('r', limit)}}}",
        "lambda r: {'value': CASE WHEN r.reason IS NULL AND r.v <> '' THEN r.body || r.check END, 'reason': r.reason}",
    ]
    chained = f"[{clean_sql(f'CAST({expr} AS VARCHAR)')}]"
    for stage in stages:
        chained = f"list_transform({chained}, {stage})"
    return f"{chained}[1]"


def fails_check_sql(v: str) -> str:
    """SQL twin of :func:`fails_check` over a cleaned text expression (cheap to repeat)."""
    return (f"coalesce(regexp_full_match({v}, '[0-9]{{17}}[0-9X]') "
            f"AND substr({v}, 18, 1) <> {check_digit_sql(f'TRY_CAST(substr({v}, 1, 17) AS BIGINT)')}, false)")


def neighbours_sql(source: str) -> str:
    """SQL twin of :func:`neighbours`: ``(rid, near)`` for every ``source(rid, v)`` row whose ``v`` fails its check.

    The neighbours are not filtered by their own check here: they are joined against valid IDs (a registry
    index), which pass it by construction, so a hash join does the filtering.
    """
    return sql.compose(sql.with_idents(_NEIGHBOURS, source=source), fails_check=fails_check_sql("v"))


# {source}: a table of (rid, v); {fails_check}: fails_check_sql over v
_NEIGHBOURS = """
        WITH bad AS (SELECT rid, v FROM {source} WHERE {fails_check})
        SELECT rid, substr(v, 1, p - 1) || c || substr(v, p + 1) AS near
        FROM bad, range(1, 19) t(p), unnest(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9', 'X']) u(c)
        WHERE c <> substr(v, p, 1) AND (p = 18 OR c <> 'X')
        UNION ALL
        SELECT rid, substr(v, 1, p - 1) || substr(v, p + 1, 1) || substr(v, p, 1) || substr(v, p + 2) AS near
        FROM bad, range(1, 18) t(p)
        WHERE substr(v, p, 1) <> substr(v, p + 1, 1) AND NOT (p = 17 AND substr(v, 18, 1) = 'X')
    """


def birth_date_sql(id18: str) -> str:
    """SQL twin of :func:`birth_date_of` over a normalised (valid 18-character) expression."""
    return f"CAST(substr({id18}, 7, 4) || '-' || substr({id18}, 11, 2) || '-' || substr({id18}, 13, 2) AS DATE)"


def sex_sql(id18: str) -> str:
    """SQL twin of :func:`sex_of` over a normalised expression."""
    parity = f"(ascii(substr({id18}, 17, 1)) - 48) % 2"
    return f"CASE {parity} WHEN 1 THEN 'M' WHEN 0 THEN 'F' END"


def _reason_sql(r: str, limit: int | str) -> str:
    y, m, d = f"({r}.ymd // 10000)", f"({r}.ymd // 100 % 100)", f"({r}.ymd % 100)"
    birth = f"'{FIELD} birth date ' || substr({r}.body, 7, 8)"
    return (
        f"CASE WHEN {r}.v IS NULL OR {r}.v = '' THEN NULL "
        f"WHEN length({r}.v) NOT IN (15, 18) THEN '{FIELD} has ' || length({r}.v) || ' characters, expected 18 or 15' "
        f"WHEN {r}.body IS NULL THEN {_character_reason_sql(f'{r}.v')} "
        f"WHEN NOT {calendar_date_sql(y, m, d)} THEN {birth} || ' is not a date' "
        f"WHEN {y} < {EARLIEST_BIRTH.year} THEN {birth} || ' is before 1900' "
        f"WHEN {r}.ymd > {limit} THEN {birth} || ' is in the future' "
        f"WHEN length({r}.v) = 18 AND substr({r}.v, 18, 1) <> {r}.check "
        f"THEN '{FIELD} check digit wrong: expected ' || {r}.check || ', got ' || substr({r}.v, 18, 1) "
        f"END"
    )


def _character_reason_sql(v: str) -> str:
    """The first character that is not a digit (or, in place 18, not a digit or X)."""
    digits = f"(CASE WHEN length({v}) = 18 THEN substr({v}, 1, 17) ELSE {v} END)"
    first_bad = f"(length(regexp_extract({digits}, '^[0-9]*')) + 1)"
    return (
        f"CASE WHEN NOT regexp_full_match({digits}, '[0-9]*') "
        f"THEN '{FIELD} character ' || {first_bad} || ' is ''' || substr({v}, {first_bad}, 1) || ''', expected a digit' "
        f"ELSE '{FIELD} character 18 is ''' || substr({v}, 18, 1) || ''', expected a digit or X' END"
    )
