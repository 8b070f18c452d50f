"""Sex codes: every spelling departments use -> 'M' or 'F'.

Accepted (trimmed, full-width folded, case-insensitive): ``M``/``男``/``1``/``male``/``男性`` and
``F``/``女``/``2``/``female``/``女性``; the GB/T 2261.1 codes ``0`` (unknown) and ``9`` (unstated) and
``未知`` are an explicit "not known" and give NULL like an empty value. Anything else is a reason.
"""

import string

from silentcert.services.resolver.rejections import Rejection
from silentcert.services.resolver.widths import (
    WHITESPACE,
    half_width_sql,
    sql_string,
    strip_sql,
    to_half_width,
    translate_sql,
)

FIELD = "sex"
CODES = {
    "m": "M", "male": "M", "男": "M", "男性": "M", "1": "M",
    "f": "F", "female": "F", "女": "F", "女性": "F", "2": "F",
}
UNKNOWN = ("0", "9", "未知", "未说明")
ACCEPTED = "M/F, 男/女, 1/2 or male/female"


# ASCII-only lower-casing: Python's and DuckDB's Unicode case mappings differ at the edges.
_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)


def _key(raw: str) -> str:
    return to_half_width(raw).strip(WHITESPACE).translate(_LOWER)


def normalise_sex(raw: str | None) -> str | Rejection | None:
    """'M', 'F', ``None`` when empty or explicitly unknown, or a :class:`Rejection`."""
    key = _key(raw or "")
    if not key or key in UNKNOWN:
        return None
    if key in CODES:
        return CODES[key]
    return Rejection(FIELD, raw, f"{FIELD} {key} is not a known code ({ACCEPTED})")


def sex_sql(expr: str) -> tuple[str, str]:
    """``(code, reason)`` SQL expressions over a column expression; both NULL when empty or unknown."""
    folded = half_width_sql(f"CAST({expr} AS VARCHAR)")
    trimmed = f"list_transform([{folded}], lambda _f: {strip_sql('_f')})[1]"
    key = translate_sql(trimmed, string.ascii_uppercase, string.ascii_lowercase)
    cases = " ".join(f"WHEN {sql_string(k)} THEN {sql_string(v)}" for k, v in CODES.items())
    known = ", ".join(sql_string(k) for k in (*CODES, *UNKNOWN, ""))
    bound = f"[{key}]"
    return (
        f"list_transform({bound}, lambda k: CASE k {cases} END)[1]",
        f"list_transform({bound}, lambda k: CASE WHEN k NOT IN ({known}) "
        f"THEN '{FIELD} ' || k || ' is not a known code ({ACCEPTED})' END)[1]",
    )
