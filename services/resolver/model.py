"""The Splink linkage model: comparisons, blocking, priors, training, versioned JSON.

Linkage tables use the canonical column names of ``docs/architecture.md`` (``id_number``,
``name``, ``name_pinyin``, ``birth_date``, ``sex``, ``phone``, ``county_code``, ``card_no``)
plus ``unique_id``; the model includes a comparison only for the columns a table has, so
other data (FEBRL) is linked by renaming its columns onto these roles. ``id_valid`` is not a
field of its own: it says ``id_number`` is a validated 18-character resident ID (GB 11643 check
passed) rather than the cleaned characters of a value that failed validation.

Priors: every level starts from hand-set m/u probabilities (below), so a small round that
cannot support EM still links sensibly; training replaces u by random sampling and m by EM.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import splink.comparison_level_library as cll
import splink.comparison_library as cl
from splink import Linker, SettingsCreator, block_on

from silentcert.graph.errors import InvalidInput
from silentcert.services.resolver import blocking
from silentcert.services.resolver.match_weights import MatchModel

MODEL_FORMAT = "silentcert-linkage-model"
MODEL_VERSION = 1
LINK_COLUMNS = ("id_number", "id_valid", "name", "name_pinyin", "birth_date", "sex", "phone", "county_code",
                "card_no")
#: Keys of a name's pinyin the linkage tables add (``names.name_keys``): syllables in any order, initials.
NAME_KEYS = ("name_syllables", "name_initials")

# Floors on u for "ID one/two edits away". Random sampling sees such pairs almost never, but
# candidate pairs already agree on region and birth date (both embedded in the ID), and
# neighbours born the same day in the same county differ only in the last four characters.
ID_NEAR_MISS_U = (1e-4, 1e-3)

# m of "both IDs valid and different", fixed (EM leaves it alone). MOD 11-2 catches every single
# substitution and every adjacent transposition, so a true pair shows two valid different IDs only
# after two errors that happen to keep the check character (about 1 in 11 double errors; with
# ~0.4 % of IDs mistyped and a tenth of those twice, ~4e-5 — 1e-4 is a generous bound). Trained,
# EM learns m from the neighbours it sees in the birth-date blocks (same region and birth date,
# IDs 1–2 characters apart) and gives the level a positive weight; fixed, it weighs about -13.3,
# so a namesake born the same day in the same county with another valid ID stays unlinked unless
# a phone or card also agrees.
ID_BOTH_VALID_M = 1e-4
ID_BOTH_VALID_LABEL = "both valid, different"

log = logging.getLogger(__name__)

#: Keyword arguments of a Linker rebuilt from the document of one already built, only m or u changed: Splink's
#: settings validation (every level's SQL parsed by sqlglot against the tables' columns) passed on the first.
REBUILT: dict[str, Any] = {"validate_settings": False}


@dataclass(frozen=True)
class TrainingPlan:
    """How much work training may do (copied from ``LinkageSettings``)."""

    u_max_pairs: float
    em_max_pairs: float
    seed: int
    one_slip_u: float | None = None


def _comparison_id_number(columns: set[str]):
    """Exact > (both valid, different: two people) > one edit or transposition > two edits (a typo'd ID) > else.

    Two valid 18-character IDs that differ belong to two people (a one-character typo breaks the
    check character), so the edit-distance levels only see pairs where at least one side failed
    validation and is compared by its cleaned characters. Without ``id_valid`` (other data sets,
    whose identifiers carry no check character) the both-valid level is left out.
    """
    levels: list[Any] = [cll.NullLevel("id_number"), cll.ExactMatchLevel("id_number")]  # Splink's lists are invariant
    m, u = [0.90], [1e-6]
    if "id_valid" in columns:
        levels.append(cll.CustomLevel("id_valid_l AND id_valid_r", ID_BOTH_VALID_LABEL).configure(
            m_probability=ID_BOTH_VALID_M, fix_m_probability=True))
        m, u = [*m, ID_BOTH_VALID_M], [*u, 0.99]
    # Damerau–Levenshtein, not Levenshtein, for one edit: two swapped adjacent digits are one slip of the hand.
    levels += [cll.DamerauLevenshteinLevel("id_number", 1), cll.LevenshteinLevel("id_number", 2), cll.ElseLevel()]
    m += [0.06, 0.02, 0.02]
    u += [*ID_NEAR_MISS_U, 0.9989 if "id_valid" not in columns else 0.0089]
    return cl.CustomComparison(
        comparison_levels=levels, output_column_name="id_number", comparison_description="id_number"
    ).configure(m_probabilities=m, u_probabilities=u)


def _comparison_name(columns: set[str]):
    """Characters agree > pinyin agrees (homophones, romanised) > the same syllables in another order > pinyin
    close > the same initials; one comparison, no double count."""
    pinyin = "name_pinyin" if "name_pinyin" in columns else "name"
    levels: list[Any] = [cll.NullLevel(pinyin)]
    m, u = [], []
    if "name" in columns and pinyin != "name":
        levels.append(cll.ExactMatchLevel("name").configure(tf_adjustment_column="name"))
        m, u = [0.86], [1e-4]
    levels.append(cll.ExactMatchLevel(pinyin).configure(tf_adjustment_column=pinyin))
    m, u = [*m, 0.08], [*u, 3e-5]
    if "name_syllables" in columns:
        levels.append(cll.ExactMatchLevel("name_syllables"))
        m, u = [*m, 0.01], [*u, 1e-5]
    levels += [cll.JaroWinklerLevel(pinyin, 0.92), cll.JaroWinklerLevel(pinyin, 0.80)]
    m, u = [*m, 0.03, 0.02], [*u, 1e-3, 0.02]
    if "name_initials" in columns:
        levels.append(cll.ExactMatchLevel("name_initials"))
        m, u = [*m, 0.005], [*u, 1e-3]
    levels.append(cll.ElseLevel())
    m, u = [*m, 0.01 - (0.005 if "name_initials" in columns else 0)], [*u, 0.979]
    return cl.CustomComparison(
        comparison_levels=levels, output_column_name="name", comparison_description="name"
    ).configure(m_probabilities=m, u_probabilities=u)


def _comparison_birth_date():
    return cl.DateOfBirthComparison("birth_date", input_is_string=False).configure(
        m_probabilities=[0.90, 0.04, 0.02, 0.02, 0.01, 0.01],
        u_probabilities=[6e-5, 1e-3, 2e-3, 0.02, 0.3, 0.677],
    )


def _exact(column: str, m: float, u: float, tf: bool = False):
    return cl.ExactMatch(column).configure(
        term_frequency_adjustments=tf, m_probabilities=[m, 1 - m], u_probabilities=[u, 1 - u]
    )


def _exact_or_slip(column: str, m: float, u: float, slip_u: float, tf: bool = False):
    """Exact > one slip (a substitution or two swapped neighbours: a mistyped phone, card or code) > else.

    The slip level's m is measured on known matches (``m_from_true_pairs``), never left to EM: pending records
    rarely show it, and EM then drives m towards zero and the level below ELSE."""
    levels: list[Any] = [cll.NullLevel(column),
                         cll.ExactMatchLevel(column).configure(tf_adjustment_column=column if tf else None),
                         cll.DamerauLevenshteinLevel(column, 1), cll.ElseLevel()]
    return cl.CustomComparison(comparison_levels=levels, output_column_name=column,
                               comparison_description=column).configure(
        m_probabilities=[m, 0.01, 0.99 - m], u_probabilities=[u, slip_u, 1 - u - slip_u])


#: Comparisons whose m the round measures on its deterministic links (``probabilistic``): those a link by a valid
#: ID says nothing about (birth date and sex are what the deterministic pass checks, so their m would be biased).
MEASURED_M = ("name", "phone", "card_no", "county_code")


def comparisons(columns: set[str]) -> list:
    """The model's comparisons for the canonical columns present in ``columns``."""
    out = []
    if "id_number" in columns:
        out.append(_comparison_id_number(columns))
    if columns & {"name", "name_pinyin"}:
        out.append(_comparison_name(columns))
    if "birth_date" in columns:
        out.append(_comparison_birth_date())
    if "sex" in columns:
        out.append(_exact("sex", 0.98, 0.5))
    if "phone" in columns:
        out.append(_exact_or_slip("phone", 0.7, 1e-5, 1e-5, tf=True))
    if "county_code" in columns:
        out.append(_exact_or_slip("county_code", 0.9, 0.02, 0.05, tf=True))
    if "card_no" in columns:
        out.append(_exact_or_slip("card_no", 0.9, 1e-6, 1e-5))
    return out


def blocking_rules(names: tuple[str, ...], columns: set[str]) -> list:
    """Splink blocking rules by name (``services/resolver/blocking.py``).

    Rules naming a column the tables lack are skipped, so one choice of names serves
    every data set.
    """
    rules = [r for name in names if blocking.needed_columns(name) <= columns for r in blocking.splink_rules(name)]
    if not rules:
        raise InvalidInput(f"no blocking rule of {names} applies to columns {sorted(columns)}", field="blocking")
    return rules


def build_settings(columns: set[str], blocking: tuple[str, ...], prior_match: float) -> SettingsCreator:
    """Splink settings for a link_only model between registry and records."""
    return SettingsCreator(
        link_type="link_only",
        unique_id_column_name="unique_id",
        probability_two_random_records_match=prior_match,
        blocking_rules_to_generate_predictions=blocking_rules(blocking, columns),
        comparisons=comparisons(columns),
        retain_intermediate_calculation_columns=False,
        retain_matching_columns=False,
    )


def prior_match_probability(registry_size: int, matched_share: float = 0.5) -> float:
    """P(random registry–record pair matches) if ``matched_share`` of records belong to someone.

    A record matches at most one registry person, so the prior is share / registry size.
    """
    return min(0.5, matched_share / max(registry_size, 1))


def estimate_u(linker: Linker, max_pairs: float, seed: int) -> None:
    """u of every level by random sampling: ``max_pairs`` sampled pairs, compared in one pass per comparison.

    Splink's default first scores a probe of 1 % of the pairs and stops there when every level was seen 100 times;
    else it scores all of them again in 10 chunks. The ID, phone and card levels (u ~1e-6 to 1e-5) are never seen
    100 times in a million pairs, so the default always ran 11 queries over the same pairs, per comparison. One
    chunk scores exactly those pairs once; the levels that did converge (sex, county) get all the pairs too."""
    linker.training.estimate_u_using_random_sampling(max_pairs=max_pairs, seed=seed, min_count_per_level=None,
                                                     num_chunks=1)


def train(linker: Linker, tables: list, columns: set[str], plan: TrainingPlan) -> tuple[Linker, dict]:
    """Train u by random sampling and m by capped EM; returns the trained linker and a summary."""
    trained: dict[str, Any] = {"u_max_pairs": plan.u_max_pairs, "em_sessions": []}
    estimate_u(linker, plan.u_max_pairs, plan.seed)
    if "id_number" in columns:
        linker = Linker(tables, floor_id_near_miss_u(linker.misc.save_model_to_json(), plan.one_slip_u), **REBUILT)
    for em_columns in _em_blockings(columns):
        session = "+".join(em_columns)
        try:
            linker.training.estimate_parameters_using_expectation_maximisation(
                block_on(*em_columns), max_pairs=plan.em_max_pairs, estimate_without_term_frequencies=True
            )
        except ValueError as exc:
            # Splink trains on a copy of the model and refuses an m or u that underflows float64 (a level almost
            # never seen among a small round's matches): the model keeps what it had before this session.
            if _UNDERFLOW not in str(exc):
                raise
            log.warning("EM blocked on %s gave up (%s); the model keeps its parameters from before it", session, exc)
            trained.setdefault("em_sessions_refused", []).append(session)
            continue
        trained["em_sessions"].append(session)
    return linker, trained


_UNDERFLOW = "below the minimum allowed value"  # Splink's message for an m/u under M_U_CLAMP_MIN


def floor_id_near_miss_u(document: dict, one_slip_u: float | None = None) -> dict:
    """Raise the u of the ID near-miss levels to ``ID_NEAR_MISS_U`` (see there for why).

    ``one_slip_u``, when the round could estimate it (``probabilistic.one_slip_u``: the registry IDs its failing
    IDs' neighbourhoods hold, over the registry's size), replaces the first floor: how often a failing ID is one
    slip from someone it does not belong to is then measured, not assumed.
    """
    floors = (one_slip_u if one_slip_u is not None else ID_NEAR_MISS_U[0], ID_NEAR_MISS_U[1])
    for comparison in document["comparisons"]:
        if comparison.get("output_column_name") != "id_number":
            continue
        levels = [lv for lv in comparison["comparison_levels"] if "levenshtein" in lv["sql_condition"].lower()]
        for level, floor in zip(levels, floors):
            u = level.get("u_probability")
            level["u_probability"] = floor if not isinstance(u, float) else max(u, floor)
        if one_slip_u is not None and levels:  # measured: it replaces the prior random sampling left in place
            levels[0]["u_probability"] = one_slip_u
    return document


def m_from_true_pairs(document: dict, pairs: list[tuple[dict, dict]], comparison: str = "name") -> dict:
    """Let no level of ``comparison`` be ruled out among matches: m = the larger of EM's m and the level's share
    among ``pairs`` known to match (add-one smoothed), normalised.

    EM estimates m from the pending records, where a rare level (a name romanised in the other order, initials)
    is seen too seldom among the matches to keep any m at all: it learnt a weight below the ELSE level's. The
    round's deterministic links (a valid ID the registry holds, birth date and sex not contradicting) are pairs
    known to match, but a source that types IDs well may write names better too, so their shares alone would
    rule out the homophones of sources without IDs; each level keeps the larger of the two estimates.
    """
    found = next((c for c in MatchModel(document).comparisons if c.name == comparison), None)
    if found is None or not pairs:
        return document
    counts = [0] * len(found.levels)
    for left, right in pairs:
        index = next(i for i, level in enumerate(found.levels) if level.holds(left, right))
        counts[index] += 0 if found.levels[index].is_null else 1
    total = sum(counts) + sum(not lv.is_null for lv in found.levels)
    raw = next(c for c in document["comparisons"] if (c.get("output_column_name") or
                                                      c.get("comparison_description")) == comparison)
    levels = [(level, count) for level, count, parsed in zip(raw["comparison_levels"], counts, found.levels)
              if not parsed.is_null]
    larger = [max((count + 1) / total, level.get("m_probability") or 0.0) for level, count in levels]
    for (level, _), m in zip(levels, larger):
        level["m_probability"] = m / sum(larger)
    return document


def _em_blockings(columns: set[str]) -> list[tuple[str, ...]]:
    """Two EM sessions whose blocking columns differ, so every comparison gets trained."""
    sessions: list[tuple[str, ...]] = []
    if "birth_date" in columns:
        sessions.append(("birth_date",))
    name = "name_pinyin" if "name_pinyin" in columns else "name"
    if name in columns:
        sessions.append((name,))
    return sessions


def model_document(linker: Linker, columns: set[str], trained: dict | None) -> dict:
    """The versioned model document: our header around Splink's own settings JSON."""
    return {
        "format": MODEL_FORMAT,
        "version": MODEL_VERSION,
        "columns": sorted(columns),
        "trained": trained,
        "splink": linker.misc.save_model_to_json(),
    }


def save_model(document: dict, path: Path) -> None:
    """Write the model JSON atomically (temp file then rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(document, indent=1, ensure_ascii=False), encoding="utf-8")
    tmp.replace(path)


def load_model(path: Path) -> dict:
    """Read and check a model JSON written by ``save_model``."""
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InvalidInput(f"linkage model {path} unreadable: {exc}", field="model_path") from exc
    if document.get("format") != MODEL_FORMAT or document.get("version") != MODEL_VERSION:
        raise InvalidInput(
            f"linkage model {path} is not a {MODEL_FORMAT} v{MODEL_VERSION} file", field="model_path"
        )
    return document
