"""Phone numbers: any common formatting -> one canonical form, or a reason.

Canonical forms: a mobile is its 11 digits (``13812345678``); a landline is ``0AAA-NNNNNNN``, the
area code (``010``, ``02x`` or a four-digit ``0xxx``) a dash and the 7-8 digit local number.

Cleaning folds full-width characters and deletes whitespace, dashes, dots and parentheses. A country
prefix ``+86`` or ``0086`` is dropped (and the trunk ``0`` restored when the rest is a landline); a bare
``86`` is dropped only in front of an 11-digit mobile, where it cannot be part of a landline. A mobile
dialled with a leading trunk ``0`` is accepted. A local number without an area code takes the area code
of the row's county (:mod:`area_codes`) when the row has a mapped one; otherwise it cannot be placed and
is rejected. An empty value is NULL, not a rejection: the phone is optional.

Python (:func:`normalise_phone`) and SQL (:func:`phone_sql`) share the regular expressions below and
take the same branches in the same order. The SQL works in two steps, so the first can run once per
distinct value: :func:`phone_sql` (value, reason, and the local number when that is the problem), then
:func:`completed_phone_sql` for the few rows with a local number and a county.
"""

import re

from silentcert.services.resolver.area_codes import area_code_of, area_code_sql
from silentcert.services.resolver.rejections import Rejection
from silentcert.services.resolver.widths import WHITESPACE, delete_sql, half_width_sql, sql_string, to_half_width

FIELD = "phone"
SEPARATORS = "-.()" + "\u2010\u2011\u2012\u2013\u2014\u2212\u30fc"  # ASCII plus dash look-alikes

COUNTRY = "^(?:\\+86|0086)([0-9]+)$"
BARE_86_MOBILE = "^86(1[3-9][0-9]{9})$"
FOREIGN = "^(?:\\+|00)"
MOBILE = "^0?(1[3-9][0-9]{9})$"
LANDLINE = "^(010|02[0-9]|0[3-9][0-9]{2})([1-9][0-9]{6,7})$"
LOCAL_ONLY = "^[1-9][0-9]{6,7}$"
MOBILE_LIKE = "^1[0-9]{10}$"
LEADING_PLUS = "^\\+?[0-9]*$"
EXPECTED = "expected an 11-digit mobile or an area code with a 7-8 digit number"

_DELETE = str.maketrans("", "", WHITESPACE + SEPARATORS)
_RE = {name: re.compile(p) for name, p in [
    ("country", COUNTRY), ("bare86", BARE_86_MOBILE), ("foreign", FOREIGN), ("mobile", MOBILE),
    ("landline", LANDLINE), ("local", LOCAL_ONLY), ("mobile_like", MOBILE_LIKE), ("chars", LEADING_PLUS),
]}


def clean(raw: str) -> str:
    """Fold full-width characters; delete whitespace, dashes, dots and parentheses."""
    return to_half_width(raw).translate(_DELETE)


def normalise_phone(raw: str | None, county_code: str | None = None) -> str | Rejection | None:
    """The canonical phone, a :class:`Rejection`, or ``None`` when empty.

    ``county_code`` (the row's 6-digit division code) supplies the area code of a landline written
    without one.
    """
    cleaned = clean(raw or "")
    if not cleaned:
        return None
    national = _national(cleaned)
    if isinstance(national, str) and (mobile := _RE["mobile"].fullmatch(national)):
        return mobile.group(1)
    if isinstance(national, str) and (landline := _RE["landline"].fullmatch(national)):
        return f"{landline.group(1)}-{landline.group(2)}"
    if isinstance(national, str) and _RE["local"].fullmatch(national) and (area := area_code_of(county_code)):
        return f"{area}-{national}"
    return Rejection(FIELD, raw, _reason(cleaned, national))


def _national(cleaned: str) -> str | None:
    """The number without the country prefix; ``None`` when the value cannot be a Chinese number."""
    if not _RE["chars"].fullmatch(cleaned):
        return None
    if country := _RE["country"].fullmatch(cleaned):
        rest = country.group(1)
        return rest if rest.startswith("0") else "0" + rest
    if bare := _RE["bare86"].fullmatch(cleaned):
        return bare.group(1)
    if _RE["foreign"].match(cleaned):
        return None
    return cleaned


def _reason(cleaned: str, national: str | None) -> str:
    if not _RE["chars"].fullmatch(cleaned):
        bad = next(c for i, c in enumerate(cleaned) if not (c.isascii() and c.isdigit() or c == "+" and i == 0))
        return f"{FIELD} {cleaned} has a character that is not a digit: '{bad}'"
    if national is None:
        return f"{FIELD} {cleaned} is not a Chinese number (+86)"
    if _RE["local"].fullmatch(national):
        return f"{FIELD} {cleaned} has no area code; a landline needs one, e.g. 010-{national}"
    if _RE["mobile_like"].fullmatch(national):
        return f"{FIELD} {cleaned} is not a mobile number: mobiles start with 13 to 19"
    return f"{FIELD} {cleaned} has {len(national)} digits, {EXPECTED}"


# ---- the SQL face -------------------------------------------------------------------------------


def clean_sql(expr: str) -> str:
    """SQL twin of :func:`clean`."""
    return delete_sql(half_width_sql(expr), WHITESPACE + SEPARATORS)


def phone_sql(expr: str) -> tuple[str, str, str]:
    """``(canonical, reason, local)`` SQL expressions over a column expression; all NULL when empty.

    ``local`` is the number when the only problem is a missing area code (``reason`` says so), the
    input of :func:`completed_phone_sql`.
    """
    fields = phone_struct_sql(expr)
    return f"({fields}).value", f"({fields}).reason", f"({fields}).local"


def completed_phone_sql(local_expr: str, county_expr: str) -> str:
    """The canonical landline of a ``local`` number (see :func:`phone_sql`) in the county's area, or NULL."""
    return f"{area_code_sql(county_expr)} || '-' || {local_expr}"


def phone_struct_sql(expr: str) -> str:
    """One ``STRUCT(value, reason, local)`` expression: the rules evaluated once when all are selected.

    Stages are bound by ``list_transform`` over a one-element list, so the cleaned text and the
    national number are computed once per row.
    """
    stages = [
        f"lambda c: {{'c': c, 'n': {_national_sql('c')}}}",
        f"lambda r: {{'c': r.c, 'n': r.n, 'value': {_canonical_sql('r.n')}}}",
        f"lambda r: {{'value': r.value, 'reason': CASE WHEN r.value IS NULL THEN {_reason_sql('r.c', 'r.n')} END, "
        f"'local': CASE WHEN r.value IS NULL AND {_match('r.n', LOCAL_ONLY)} THEN r.n END}}",
    ]
    chained = f"[{clean_sql(f'CAST({expr} AS VARCHAR)')}]"
    for stage in stages:
        chained = f"list_transform({chained}, {stage})"
    return f"{chained}[1]"


def _match(expr: str, pattern: str) -> str:
    return f"regexp_matches({expr}, {sql_string(pattern)})"


def _group(expr: str, pattern: str, group: int) -> str:
    return f"regexp_extract({expr}, {sql_string(pattern)}, {group})"


def _national_sql(c: str) -> str:
    rest = _group(c, COUNTRY, 1)
    return (
        f"CASE WHEN NOT {_match(c, LEADING_PLUS)} THEN NULL "
        f"WHEN {_match(c, COUNTRY)} THEN (CASE WHEN starts_with({rest}, '0') THEN '' ELSE '0' END) || {rest} "
        f"WHEN {_match(c, BARE_86_MOBILE)} THEN {_group(c, BARE_86_MOBILE, 1)} "
        f"WHEN {_match(c, FOREIGN)} THEN NULL "
        f"ELSE {c} END"
    )


def _canonical_sql(n: str) -> str:
    return (
        f"CASE WHEN {_match(n, MOBILE)} THEN {_group(n, MOBILE, 1)} "
        f"WHEN {_match(n, LANDLINE)} THEN {_group(n, LANDLINE, 1)} || '-' || {_group(n, LANDLINE, 2)} END"
    )


def _reason_sql(c: str, n: str) -> str:
    bad = f"regexp_extract({c}, '^\\+?[0-9]*(.)', 1)"
    return (
        f"CASE WHEN {c} IS NULL OR {c} = '' THEN NULL "
        f"WHEN NOT {_match(c, LEADING_PLUS)} "
        f"THEN '{FIELD} ' || {c} || ' has a character that is not a digit: ''' || {bad} || '''' "
        f"WHEN {n} IS NULL THEN '{FIELD} ' || {c} || ' is not a Chinese number (+86)' "
        f"WHEN {_match(n, LOCAL_ONLY)} "
        f"THEN '{FIELD} ' || {c} || ' has no area code; a landline needs one, e.g. 010-' || {n} "
        f"WHEN {_match(n, MOBILE_LIKE)} THEN '{FIELD} ' || {c} || ' is not a mobile number: mobiles start with 13 to 19' "
        f"ELSE '{FIELD} ' || {c} || ' has ' || length({n}) || ' digits, {EXPECTED}' END"
    )
