"""The trained Fellegi–Sunter model, evaluated in plain Python for one pair at a time.

Splink stores each comparison as an ordered list of levels, each an SQL condition with m and u
probabilities. Splink's score of a pair (``predict``) is

    match_weight = log2(λ / (1 − λ)) + Σ_comparisons [ log2(m / u) of the first level that holds
                                                       + tf adjustment of that level ]
    match_probability = 2^w / (1 + 2^w)

with λ the prior ``probability_two_random_records_match``, a null level worth 0, and the term-frequency
adjustment of an exact-match level ``tf_weight · (log2 u_exact − log2 max(tf_l, tf_r, tf_min_u))``
(a common name agrees more often by chance, so it counts for less than the average name).

:class:`MatchModel` reads those levels from the model JSON and evaluates each condition with a Python
twin of the SQL (``jellyfish`` gives the same Levenshtein and Jaro–Winkler values as DuckDB), so a
request is scored in microseconds without a database. A condition it does not recognise is refused
when the model is loaded, never guessed at. ``tests/unit/services/resolver/test_realtime.py`` checks
the weights against Splink's own ``predict`` to 1e-6.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

import jellyfish

from silentcert.graph.errors import InvalidInput

M_U_CLAMP_MIN = 1e-300  # splink.internals.comparison_level
_SECONDS_PER_DAY = 86400

Test = Callable[[Any, Any], bool]

_COL = r'[`"]?(\w+)_l[`"]?'
_COL_R = r'[`"]?\1_r[`"]?'
_TEXT = r"(?:TEXT|STRING|VARCHAR)"
_EXACT = re.compile(rf"^{_COL} = {_COL_R}$", re.I)
_PATTERNS: list[tuple[re.Pattern, Callable[[re.Match], Test]]] = [
    (_EXACT, lambda m: lambda a, b: a == b),
    (re.compile(rf"^{_COL} AND {_COL_R}$", re.I), lambda m: lambda a, b: bool(a) and bool(b)),
    (re.compile(rf"^levenshtein\({_COL}, {_COL_R}\) <= (\d+)$", re.I),
     lambda m: _within(int(m.group(2)))),
    (re.compile(rf"^damerau_levenshtein\({_COL}, {_COL_R}\) <= (\d+)$", re.I),
     lambda m: _within_transposed(int(m.group(2)))),
    (re.compile(rf"^levenshtein\(CAST\({_COL} AS {_TEXT}\), CAST\({_COL_R} AS {_TEXT}\)\) <= (\d+)$", re.I),
     lambda m: _date_text_within(int(m.group(2)))),
    (re.compile(rf"^jaro_winkler(?:_similarity)?\({_COL}, {_COL_R}\) >= ([0-9.]+)$", re.I),
     lambda m: _similar(float(m.group(2)))),
    (re.compile(rf"^ABS\(EPOCH\({_COL}\) - EPOCH\({_COL_R}\)\) <= ([0-9.]+)$", re.I),
     lambda m: _seconds_apart(float(m.group(2)))),
]
_NULL = re.compile(rf"^{_COL} IS NULL OR {_COL_R} IS NULL$", re.I)


def _within(edits: int) -> Test:
    return lambda a, b: jellyfish.levenshtein_distance(a, b) <= edits


def _within_transposed(edits: int) -> Test:
    # jellyfish's is the unrestricted distance, DuckDB's the optimal string alignment: equal up to 1 edit, which
    # is the only bound the model uses.
    return lambda a, b: jellyfish.damerau_levenshtein_distance(a, b) <= edits


def _date_text_within(edits: int) -> Test:
    return lambda a, b: jellyfish.levenshtein_distance(_iso(a), _iso(b)) <= edits


def _similar(threshold: float) -> Test:
    return lambda a, b: jellyfish.jaro_winkler_similarity(a, b) >= threshold


def _seconds_apart(limit: float) -> Test:
    return lambda a, b: abs((a - b).days * _SECONDS_PER_DAY) <= limit


def _iso(value: object) -> str:
    return value.isoformat() if isinstance(value, date) else str(value)


@dataclass(frozen=True)
class Level:
    """One comparison level: the condition on one column, its weight, its tf adjustment."""

    label: str
    column: str | None       # None for the ELSE level
    test: Test | None        # None for the null and ELSE levels
    is_null: bool
    weight: float            # log2(m/u), 0 for the null level
    tf_column: str | None = None
    tf_weight: float = 0.0
    tf_log2_u: float = 0.0   # log2 of the u of the exact-match level on tf_column
    tf_min_u: float = 0.0

    def holds(self, left: Mapping, right: Mapping) -> bool:
        if self.column is None:
            return True
        a, b = left.get(self.column), right.get(self.column)
        if self.is_null:
            return a is None or b is None
        return a is not None and b is not None and self.test is not None and self.test(a, b)


@dataclass(frozen=True)
class Comparison:
    name: str
    levels: tuple[Level, ...]


@dataclass(frozen=True)
class FieldScore:
    """Where one comparison fell: Splink's ``gamma_``, ``mw_`` and ``mw_tf_adj_`` for it."""

    comparison: str
    gamma: int
    label: str
    match_weight: float
    tf_adjustment: float
    is_null: bool


@dataclass(frozen=True)
class PairScore:
    match_weight: float
    match_probability: float
    fields: tuple[FieldScore, ...]


class TermFrequencies:
    """Share of each value among the non-null values of a column (Splink's ``tf_`` lookups)."""

    def __init__(self, shares: dict[str, dict[object, float]]):
        self._shares = shares

    @classmethod
    def of_columns(cls, columns: Mapping[str, list]) -> TermFrequencies:
        shares = {}
        for name, values in columns.items():
            counts: dict[object, int] = {}
            for value in values:
                if value is not None:
                    counts[value] = counts.get(value, 0) + 1
            total = sum(counts.values())
            shares[name] = {v: n / total for v, n in counts.items()}
        return cls(shares)

    def share(self, column: str, value: object) -> float | None:
        return None if value is None else self._shares.get(column, {}).get(value)


class MatchModel:
    """A trained Splink model (its settings JSON) as Python: ``score(left, right, tf)``."""

    def __init__(self, splink_settings: dict):
        prior = splink_settings["probability_two_random_records_match"]
        self.prior_weight = math.log2(prior / (1 - prior)) if prior != 1 else math.inf
        self.comparisons = tuple(_comparison(c) for c in splink_settings["comparisons"])

    @property
    def tf_columns(self) -> list[str]:
        return sorted({lv.tf_column for c in self.comparisons for lv in c.levels if lv.tf_column})

    def score(self, left: Mapping, right: Mapping, tf: TermFrequencies) -> PairScore:
        """Score one pair of linkage rows (dicts of canonical columns)."""
        fields = tuple(_score_comparison(c, left, right, tf) for c in self.comparisons)
        total = self.prior_weight + sum(f.match_weight + f.tf_adjustment for f in fields)
        return PairScore(total, probability(total), fields)


def probability(match_weight: float) -> float:
    """2^w / (1 + 2^w), computed the way Splink does for stability at both ends."""
    if match_weight >= 0:
        return 1.0 / (1.0 + 2.0 ** -match_weight)
    odds = 2.0 ** match_weight
    return odds / (1.0 + odds)


def _score_comparison(comparison: Comparison, left: Mapping, right: Mapping, tf: TermFrequencies) -> FieldScore:
    n = len(comparison.levels)
    for index, level in enumerate(comparison.levels):
        if level.holds(left, right):
            gamma = -1 if level.is_null else (n - 1 - index)
            return FieldScore(comparison.name, gamma, level.label, level.weight,
                              _tf_adjustment(level, left, right, tf), level.is_null)
    raise InvalidInput(f"comparison {comparison.name} has no ELSE level", field="model")


def _tf_adjustment(level: Level, left: Mapping, right: Mapping, tf: TermFrequencies) -> float:
    if level.tf_column is None or level.tf_weight == 0:
        return 0.0
    shares = [s for s in (tf.share(level.tf_column, left.get(level.tf_column)),
                          tf.share(level.tf_column, right.get(level.tf_column))) if s is not None]
    if not shares:
        return 0.0
    return level.tf_weight * (level.tf_log2_u - math.log2(max(*shares, level.tf_min_u)))


def _comparison(document: dict) -> Comparison:
    name: str = document.get("output_column_name") or document.get("comparison_description") or ""
    raw_levels = document["comparison_levels"]
    exact_u: dict[str, Any] = {}
    levels = []
    for raw in raw_levels:
        level, exact_column = _level(raw, name)
        if exact_column is not None:
            exact_u.setdefault(exact_column, raw.get("u_probability"))
        levels.append(level)
    return Comparison(name, tuple(_with_tf(lv, raw, exact_u, name) for lv, raw in zip(levels, raw_levels)))


def _level(raw: dict, comparison: str) -> tuple[Level, str | None]:
    """The level and, for an exact match on one column, that column."""
    condition = " ".join(raw["sql_condition"].split())
    label = raw.get("label_for_charts", condition)
    if raw.get("is_null_level"):
        match = _NULL.match(condition)
        if not match:
            raise _unsupported(comparison, condition)
        return Level(label, match.group(1), None, True, 0.0), None
    weight = _weight(raw, comparison, label)
    if condition.upper() == "ELSE":
        return Level(label, None, None, False, weight), None
    for pattern, build in _PATTERNS:
        match = pattern.match(condition)
        if match:
            exact = match.group(1) if pattern is _EXACT else None
            return Level(label, match.group(1), build(match), False, weight), exact
    raise _unsupported(comparison, condition)


def _weight(raw: dict, comparison: str, label: str) -> float:
    m, u = raw.get("m_probability"), raw.get("u_probability")
    if not isinstance(m, (int, float)) or not isinstance(u, (int, float)):
        raise InvalidInput(f"model level {comparison}: {label} has no trained m and u", field="model")
    return math.log2(max(m, M_U_CLAMP_MIN) / max(u, M_U_CLAMP_MIN))


def _with_tf(level: Level, raw: dict, exact_u: dict, comparison: str) -> Level:
    column = raw.get("tf_adjustment_column")
    if not column or level.is_null or level.column is None:
        return level
    u = exact_u.get(column)
    if not isinstance(u, (int, float)):
        raise InvalidInput(f"model comparison {comparison}: tf adjustment on {column} needs an exact-match level "
                           f"on {column} with a u probability", field="model")
    return Level(level.label, level.column, level.test, False, level.weight, column,
                 float(raw.get("tf_adjustment_weight", 1.0)), math.log2(u), float(raw.get("tf_minimum_u_value", 0.0)))


def _unsupported(comparison: str, condition: str) -> InvalidInput:
    return InvalidInput(f"model comparison {comparison}: level {condition!r} is not one the real-time scorer "
                        "evaluates (exact, both flags true, (damerau-)levenshtein, jaro_winkler, date difference)", field="model")
