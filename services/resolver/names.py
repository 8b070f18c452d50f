"""Person names: one spelling per name, and its pinyin so homophones compare equal.

Normalising trims, folds full-width characters, deletes every space (ASCII, full-width, no-break) and
every middle-dot variant (``·`` ``・`` ``･`` ``‧`` ``•`` ``.``: 阿卜杜·热合曼 and 阿卜杜热合曼 are one name),
then maps traditional characters to simplified through :mod:`services.resolver.traditional` (OpenCC). A
name must then consist of Chinese characters and Latin letters (ü included) only; anything else is a reason.

The pinyin is the toneless, lower-case reading of each character, concatenated without separators:
王明 -> ``wangming``, equal to 王名. Each character is read on its own (``lazy_pinyin`` of the single
character), never from phrase context: a character always reads the same wherever it sits, and the
batch can look readings up per distinct character. Latin letters are their own lower-case reading. ü is
written u (吕 ``lu``; a romanised LV, LÜ or LU all read ``lu``): ticket and bank systems write ü as v or u, and
the few pairs it merges (吕/卢) are homophones to a clerk's ear anyway. Spaces are gone, so syllables joined or
split (Zhang Xiu Ying, ZHANG XIUYING) read the same.

Two keys (:func:`name_keys`) catch what a romanised name does beyond that: its syllables in any order
(``syllables``: Xiuying Zhang = 张秀英) and its initials (``initials``: Zhang X.Y. = 张秀英), from the pinyin cut into
syllables of the Mandarin inventory (a lone letter that starts no syllable is an initial).

Two faces: :func:`normalise_name` / :func:`name_pinyin` for one value; :func:`name_sql` for a column
in DuckDB and :func:`build_name_pinyin` for the pinyin of every distinct name, read per distinct
character into a lookup table (no Python call per row).
"""

import functools
import re
from dataclasses import dataclass

import duckdb
import pyarrow as pa
from pypinyin import lazy_pinyin

from silentcert.graph import sql
from silentcert.services.resolver.rejections import Rejection
from silentcert.services.resolver.traditional import SIMPLIFIED, TRADITIONAL
from silentcert.services.resolver.widths import (
    WHITESPACE,
    delete_sql,
    half_width_sql,
    sql_string,
    to_half_width,
    translate_sql,
)

FIELD = "name"
DOTS = "\u00b7\u30fb\uff65\u2027\u2022\u2219\u22c5\u0387\u16eb."
LETTER = "a-zA-Z\u00fc\u00dc\u3007\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"
NAME_PATTERN = f"^[{LETTER}]*$"
CHAR_TABLE = "name_pinyin_chars"

# Folding comes first so that a full-width '．' is deleted with the ASCII dots.
_DELETE = str.maketrans("", "", WHITESPACE + DOTS)
_SIMPLIFY = str.maketrans(TRADITIONAL, SIMPLIFIED)
_NAME = re.compile(NAME_PATTERN)
_NOT_LETTER = re.compile(f"[^{LETTER}]")


@dataclass(frozen=True)
class Name:
    """A normalised name, the raw text it came from, and its pinyin."""

    raw: str | None  # as given
    value: str
    pinyin: str


def clean(raw: str) -> str:
    """Fold widths, delete spaces and middle dots, simplify traditional characters."""
    return to_half_width(raw).translate(_DELETE).translate(_SIMPLIFY)


@functools.lru_cache(maxsize=65536)
def char_pinyin(char: str) -> str:
    """The toneless lower-case reading of one character (the character itself when it has none), ü as u."""
    return "".join(lazy_pinyin(char)).lower().replace("\u00fc", "u").replace("v", "u")


def name_pinyin(value: str) -> str:
    """The pinyin of a normalised name: each character's reading, concatenated."""
    return "".join(char_pinyin(c) for c in value)


def normalise_name(raw: str | None) -> Name | Rejection | None:
    """The normalised name with its pinyin, a :class:`Rejection`, or ``None`` when empty."""
    value = clean(raw or "")
    if not value:
        return None
    if not _NAME.fullmatch(value):
        found = _NOT_LETTER.search(value)
        bad = found.group() if found else value
        return Rejection(FIELD, raw, f"{FIELD} {value} has a character that is not a letter: '{bad}'")
    return Name(raw, value, name_pinyin(value))


@functools.cache
def _syllables() -> frozenset[str]:
    """Every toneless reading pypinyin knows (ü as u), the inventory a romanised name is cut into."""
    from pypinyin.pinyin_dict import pinyin_dict  # lazy: a large table, read once and only for romanised names

    readings = lazy_pinyin("".join(chr(code) for code in pinyin_dict), errors="ignore")
    return frozenset(r.replace("\u00fc", "u").replace("v", "u") for r in readings if r.isalpha())


_LONGEST = 6
_CJK = re.compile("[\u3007\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]+")


@functools.lru_cache(maxsize=262144)
def _cut(letters: str) -> tuple[str, ...]:
    """The fewest pieces: syllables of the inventory, a lone letter where none fits (an initial); fewest initials
    first. Dynamic programming over end positions, each keeping (initials, pieces, where its last piece starts)."""
    inventory = _syllables()
    best: list[tuple[int, int, int] | None] = [(0, 0, 0)] + [None] * len(letters)
    for end in range(1, len(letters) + 1):
        for start in range(max(0, end - _LONGEST), end):
            held = best[start]
            if held is None:
                continue
            syllable = letters[start:end] in inventory
            if not syllable and end - start > 1:
                continue
            cost = (held[0] + (not syllable), held[1] + 1, start)
            kept = best[end]
            if kept is None or cost[:2] < kept[:2]:
                best[end] = cost
    pieces, end = [], len(letters)
    while end > 0 and (kept := best[end]) is not None:
        start = kept[2]
        pieces.append(letters[start:end])
        end = start
    return tuple(reversed(pieces)) if end == 0 else ()


def name_keys(pinyin: str | None, name: str | None = None) -> tuple[str | None, str | None]:
    """``(syllables, initials)`` of a name: its syllables sorted, and their first letters sorted.

    A name in Chinese characters gives its syllables directly (each character's reading); otherwise the pinyin is
    cut into syllables, or at its spaces when it has any (a data set that keeps them, such as FEBRL's "given
    surname").
    """
    if not pinyin:
        return None, None
    if name and _CJK.fullmatch(name):
        pieces: tuple[str, ...] | list[str] = [char_pinyin(c) for c in name]
    elif " " in pinyin.strip():
        pieces = pinyin.split()
    else:
        pieces = _cut(pinyin)
    if not pieces:
        return None, None
    return " ".join(sorted(pieces)), "".join(sorted(p[0] for p in pieces))


# Names wholly in Chinese characters ($cjk: _CJK) are keyed in SQL, split into characters and read through the
# character table (build_name_pinyin's); the others (romanised, mixed) are cut in Python (name_keys). {names} is
# read once (it may be a view over several tables).
_DISTINCT_NAMES = """
CREATE OR REPLACE TEMP TABLE {into} AS
SELECT name, name_pinyin, coalesce(regexp_full_match(name, $cjk), false) AS cjk
FROM (SELECT DISTINCT name, name_pinyin FROM {names} WHERE name_pinyin IS NOT NULL)
"""
_CJK_NAME_CHARS = """
CREATE OR REPLACE TEMP TABLE {into} AS
SELECT name, name_pinyin, unnest(string_split(name, '')) AS ch FROM {distinct} WHERE cjk
"""
_OTHER_NAMES = "SELECT name, name_pinyin FROM {distinct} WHERE NOT cjk"
# name_keys' sorted pieces and first letters: strings order by code point in both
_NAME_KEYS = """
CREATE OR REPLACE TEMP TABLE {into} AS
SELECT name, name_pinyin, array_to_string(pieces, ' ') AS name_syllables,
       array_to_string(list_sort(list_transform(pieces, lambda p: left(p, 1))), '') AS name_initials
FROM (SELECT n.name, n.name_pinyin, list_sort(list(r.pinyin)) AS pieces
      FROM {chars} n JOIN {readings} r USING (ch) GROUP BY n.name, n.name_pinyin)
UNION ALL SELECT * FROM _name_keys
"""


def build_name_keys(con: duckdb.DuckDBPyConnection, names: str, into: str) -> str:
    """Create temporary table ``into(name, name_pinyin, name_syllables, name_initials)`` for every distinct
    (name, pinyin) of ``names`` (a table or view with those columns): :func:`name_keys` of each, computed once
    per value, in SQL for names written in Chinese characters."""
    distinct, chars = f"{into}__names", f"{into}__chars"
    sql.run(con, "char_readings_table", sql.with_idents(_CHAR_TABLE, table=CHAR_TABLE))
    sql.run(con, "distinct_names", sql.with_idents(_DISTINCT_NAMES, into=distinct, names=names), {"cjk": _CJK.pattern})
    sql.run(con, "cjk_name_chars", sql.with_idents(_CJK_NAME_CHARS, into=chars, distinct=distinct))
    _add_char_readings(con, chars)
    values = sql.fetchall(con, "other_names", sql.with_idents(_OTHER_NAMES, distinct=distinct))
    keys = [name_keys(pinyin, name) for name, pinyin in values]
    table = pa.table({"name": pa.array([v[0] for v in values], pa.string()),
                      "name_pinyin": pa.array([v[1] for v in values], pa.string()),
                      "name_syllables": pa.array([k[0] for k in keys], pa.string()),
                      "name_initials": pa.array([k[1] for k in keys], pa.string())})
    con.register("_name_keys", table)
    try:
        sql.run(con, "name_keys", sql.with_idents(_NAME_KEYS, into=into, chars=chars, readings=CHAR_TABLE))
    finally:
        con.unregister("_name_keys")
        sql.run(con, "drop_cjk_name_chars", sql.with_idents(_DROP, table=chars))
        sql.run(con, "drop_distinct_names", sql.with_idents(_DROP, table=distinct))
    return into


# ---- the SQL face -------------------------------------------------------------------------------


def clean_sql(expr: str) -> str:
    """SQL twin of :func:`clean`."""
    return translate_sql(delete_sql(half_width_sql(expr), WHITESPACE + DOTS), TRADITIONAL, SIMPLIFIED)


def name_sql(expr: str) -> tuple[str, str]:
    """``(normalised, reason)`` SQL expressions over a column expression; both NULL when empty."""
    value = clean_sql(f"CAST({expr} AS VARCHAR)")
    ok = f"regexp_matches(v, {sql_string(NAME_PATTERN)})"
    bad = f"regexp_extract(v, {sql_string(f'[^{LETTER}]')})"
    bound = f"[{value}]"
    return (
        f"list_transform({bound}, lambda v: CASE WHEN v <> '' AND {ok} THEN v END)[1]",
        f"list_transform({bound}, lambda v: CASE WHEN v <> '' AND NOT {ok} "
        f"THEN '{FIELD} ' || v || ' has a character that is not a letter: ''' || {bad} || '''' END)[1]",
    )


def build_name_pinyin(con: duckdb.DuckDBPyConnection, names: str, into: str = "name_pinyin") -> str:
    """Create temporary table ``into(name, pinyin)`` for every distinct normalised name in ``names``.

    ``names`` is a table or view whose column ``name`` holds names already
    normalised by :func:`name_sql`. Readings are computed once per distinct character not yet in the
    connection's character table (kept across calls, so later sources reuse earlier readings). Join it
    with ``LEFT JOIN <into> USING (name)`` or ``ON <into>.name = <normalised name>``. Returns ``into``.
    """
    chars = f"{into}__chars"
    sql.run(con, "char_readings_table", sql.with_idents(_CHAR_TABLE, table=CHAR_TABLE))
    sql.run(con, "name_chars", sql.with_idents(_NAME_CHARS, into=chars, names=names))
    _add_char_readings(con, chars)
    sql.run(con, "name_pinyin", sql.with_idents(_NAME_PINYIN, into=into, chars=chars, readings=CHAR_TABLE))
    sql.run(con, "drop_name_chars", sql.with_idents(_DROP, table=chars))
    return into


_CHAR_TABLE = "CREATE TEMP TABLE IF NOT EXISTS {table} (ch VARCHAR PRIMARY KEY, pinyin VARCHAR NOT NULL)"
_NAME_CHARS = """
CREATE OR REPLACE TEMP TABLE {into} AS
SELECT name, unnest(string_split(name, '')) AS ch, generate_subscripts(string_split(name, ''), 1) AS pos
FROM (SELECT DISTINCT name FROM {names} WHERE name IS NOT NULL AND name <> '')
"""
_NAME_PINYIN = """
CREATE OR REPLACE TEMP TABLE {into} AS
SELECT n.name, string_agg(c.pinyin, '' ORDER BY n.pos) AS pinyin FROM {chars} n JOIN {readings} c USING (ch)
GROUP BY n.name
"""
_DROP = "DROP TABLE {table}"
_MISSING_READINGS = "SELECT DISTINCT ch FROM {chars} ANTI JOIN {readings} USING (ch)"
_ADD_READINGS = "INSERT INTO {readings} SELECT ch, pinyin FROM _new_char_readings"


def _add_char_readings(con: duckdb.DuckDBPyConnection, chars_table: str) -> None:
    missing = sql.fetchall(con, "missing_char_readings",
                           sql.with_idents(_MISSING_READINGS, chars=chars_table, readings=CHAR_TABLE))
    if not missing:
        return
    chars = [row[0] for row in missing]
    readings = pa.table({"ch": chars, "pinyin": [char_pinyin(c) for c in chars]})
    con.register("_new_char_readings", readings)
    try:
        sql.run(con, "add_char_readings", sql.with_idents(_ADD_READINGS, readings=CHAR_TABLE))
    finally:
        con.unregister("_new_char_readings")
