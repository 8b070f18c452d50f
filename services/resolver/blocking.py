"""Blocking rules by name: which registry rows a record is compared with, in SQL (Splink) and in Python (the
real-time index), side by side so the two stay twins.

A rule is either columns joined by ``+`` (both sides equal on each) or one of the named rules below.

Blocks must not grow with the province. A block keyed on a county grows with the county, and its pairs with the
square of the block: ``birth_date+county_code``, ``name_pinyin+county_code`` and an ID head of region + birth
date made nearly all the candidate pairs of a province, and resolve grew far faster than the data (measured when
the rules changed; the figures are in that change's issue note). The named rules keep a key narrow enough that a
block holds a handful of people at any size, and a wide key only where a record lacks what a narrow one needs
(``gap``):

- ID parts: one wrong character anywhere in an 18-character ID leaves at least one part intact (head: a typo in
  the last two characters; seq: in the two sequence digits before them; day: in the birth day; tail: in the
  region; ends: in the birth year or month).
- ``birth_county_first`` / ``birth_county_last``: same birth date and county and the same first / last character
  of the name. A name with one wrong character (凯/海, 周/邹) keeps one of the two; the whole date-and-county
  block did not need to be paired.
- ``name_county_undated``: name and county, only where one side has no birth date.
- ``birth_county_unnamed``: birth date and county, only where one side has no name.
- ``id_neighbours``: a record's ID that fails its check against the registry IDs one substitution or one
  adjacent transposition away (``id_numbers.neighbours``). The batch looks the neighbours up in the registry
  beforehand and carries the (at most ``NEAR_COLUMNS``) registry IDs found in columns ``id_near``,
  ``id_near_2``, so Splink blocks on plain equalities; the real-time index probes its ID map with the neighbours.

Against the generator's truth, these rules pair every record with its true person that the wide rules paired;
``tests/unit/services/resolver/test_blocking.py`` checks what each rule pairs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from splink.blocking_rule_library import And, CustomRule, block_on

from silentcert.graph.errors import InvalidInput
from silentcert.services.resolver.id_numbers import neighbours

#: The columns a rule may name (the linkage tables' canonical columns; docs/architecture.md).
RULE_COLUMNS = ("id_number", "name", "name_pinyin", "birth_date", "sex", "phone", "county_code", "card_no")

Key = Callable[[Mapping], object]
Probe = Callable[[Mapping], Iterable]

#: The registry IDs a record's failing ID can reach, as columns of the batch's pending table (two is plenty: a
#: failing ID with three registry neighbours is a ~1e-6 event at province density; the third is dropped).
NEAR_COLUMNS = ("id_near", "id_near_2")


@dataclass(frozen=True)
class NamedRule:
    """SQL expressions over one row both sides agree on, their Python twin, and optionally the column one side
    must lack (``gap``) for the rule to pair them."""

    exprs: tuple[str, ...]
    columns: frozenset[str]
    key: Key  # a row with every column of `columns` → the tuple of the expressions
    gap: str | None = None
    probe: Probe | None = None  # a record → the keys it looks up (default: its own key)
    splink: tuple[str, ...] = ()  # custom Splink conditions, instead of equality on `exprs`
    splink_columns: frozenset[str] = frozenset()  # further columns those conditions name


def _id_rule(sql: tuple[str, ...], py: Callable[[str], object]) -> NamedRule:
    return NamedRule(sql, frozenset({"id_number"}), lambda row: py(row["id_number"]))


def _valid_id(row: Mapping):
    return row["id_number"] if row.get("id_valid") else None


def _failing_id_neighbours(row: Mapping) -> list[str]:
    value = row.get("id_number")
    return [] if value is None or row.get("id_valid") else neighbours(value)


_ID_NEIGHBOURS = NamedRule(
    ("id_number",), frozenset({"id_number"}), _valid_id, probe=_failing_id_neighbours,
    splink=tuple(cond for near in NEAR_COLUMNS for cond in (f"l.id_number = r.{near}", f"l.{near} = r.id_number")),
    splink_columns=frozenset(NEAR_COLUMNS),
)


def _name_char_rule(sql: str, py: Callable[[str], str]) -> NamedRule:
    return NamedRule(("birth_date", "county_code", sql), frozenset({"birth_date", "county_code", "name"}),
                     lambda row: (row["birth_date"], row["county_code"], py(row["name"])))


# SQL SUBSTRING is 1-based with a length; the Python slices are the same characters.
NAMED_RULES: dict[str, NamedRule] = {
    "id_head": _id_rule(("substr(id_number, 1, 16)",), lambda v: v[0:16]),
    "id_seq": _id_rule(("substr(id_number, 1, 14)", "substr(id_number, 17, 2)"), lambda v: (v[0:14], v[16:18])),
    "id_day": _id_rule(("substr(id_number, 1, 12)", "substr(id_number, 15, 4)"), lambda v: (v[0:12], v[14:18])),
    "id_tail": _id_rule(("substr(id_number, 7, 12)",), lambda v: v[6:18]),
    "id_ends": _id_rule(("substr(id_number, 1, 6)", "substr(id_number, 13, 6)"), lambda v: (v[0:6], v[12:18])),
    "birth_county_first": _name_char_rule("left(name, 1)", lambda name: name[:1]),
    "birth_county_last": _name_char_rule("right(name, 1)", lambda name: name[-1:]),
    "name_county_undated": NamedRule(("name_pinyin", "county_code"), frozenset({"name_pinyin", "county_code"}),
                                     lambda row: (row["name_pinyin"], row["county_code"]), gap="birth_date"),
    "birth_county_unnamed": NamedRule(("birth_date", "county_code"), frozenset({"birth_date", "county_code"}),
                                      lambda row: (row["birth_date"], row["county_code"]), gap="name"),
    "id_neighbours": _ID_NEIGHBOURS,
}


def rule(name: str) -> NamedRule:
    """The named rule, or the rule of columns joined by ``+``; InvalidInput naming an unknown column."""
    if name in NAMED_RULES:
        return NAMED_RULES[name]
    columns = tuple(part.strip() for part in name.split("+"))
    unknown = set(columns) - set(RULE_COLUMNS)
    if unknown:
        raise InvalidInput(f"blocking rule {name!r} names unknown columns {sorted(unknown)} (named rules: "
                           f"{', '.join(NAMED_RULES)})", field="blocking")
    return NamedRule(columns, frozenset(columns), lambda row: tuple(row[c] for c in columns))


def needed_columns(name: str) -> frozenset[str]:
    found = rule(name)
    return found.columns | found.splink_columns | ({found.gap} if found.gap else frozenset())


def splink_rules(name: str) -> list:
    """The Splink blocking rules of a name: one, or for a gap rule one per side lacking the column. Each side's
    condition names one table only, so DuckDB filters that side before the join; one rule with
    ``l.gap IS NULL OR r.gap IS NULL`` made the join enumerate the whole wide block first (resolve's time:
    docs/benchmarks.md, "Whole round, embedded store")."""
    found = rule(name)
    if found.splink:
        return [CustomRule(condition) for condition in found.splink]
    if found.gap is None:
        return [block_on(*found.exprs)]
    return [And(block_on(*found.exprs), CustomRule(f"{side}.{found.gap} IS NULL")) for side in ("l", "r")]


def row_key(name: str) -> Key:
    """Python: the key of a row under the rule (None when a column it needs is missing); the gap is not applied
    here (see ``gap_of``)."""
    found = rule(name)
    columns = tuple(found.columns)
    return lambda row: None if any(row.get(c) is None for c in columns) else found.key(row)


def gap_of(name: str) -> str | None:
    return rule(name).gap


def probe_of(name: str) -> Probe | None:
    """Python: the keys a record looks up under the rule, when they are not its own key (``id_neighbours``)."""
    return rule(name).probe
