"""Score a finished round against the generator's ground truth: linkage, liveness, death check, reconciliation.

    python benchmarks/province_quality.py OUT DIR [--json] [--examples 5]

OUT is a `silentcert round run` output directory (CONTRACT section 3 files), DIR the generated round directory
holding `round.toml` and `truth/` (docs/generator.md). Everything is joined set-wise in DuckDB, so a 1M-pensioner
round scores in seconds. Prints one row per figure with its target and PASS/FAIL (figures without a target are
informational); `--json` prints the same as JSON. Exit code 1 when any figure fails.

How rows are matched: a rejected row by (source, line = truth row + 1); every other row by (source, record_id)
among truth rows not rejected. A published link is a non-empty person_id in links.csv.
"""
from __future__ import annotations

import argparse
import json
import sys
import tomllib
from dataclasses import asdict, dataclass
from pathlib import Path

import duckdb

from silentcert.graph import sql
from silentcert.services.liveness.calibration import highest_weak_log_odds
from silentcert.services.liveness.periods import window_start
from silentcert.services.liveness.ratios import load_ratios
from silentcert.services.liveness.scoring import base_log_odds
from silentcert.services.liveness.settings import LivenessSettings
from silentcert.services.liveness.weak_windows import write_steps, write_windows

STRONG_LINK_PRECISION = 0.999
LINK_RECALL = 0.99
NOISE_RECALL = 0.99


@dataclass
class Figure:
    group: str
    name: str
    value: float | None
    target: str            # e.g. ">= 0.995", "== 0", "" (informational)
    numerator: int | None = None
    denominator: int | None = None
    examples: list[str] | None = None

    @property
    def verdict(self) -> str:
        if not self.target or self.value is None:
            return "info" if self.value is not None else "n/a"
        op, bound = self.target.split()
        value, bound = self.value, float(bound)
        ok = {">=": value >= bound, "<=": value <= bound, "==": value == bound}[op]
        return "PASS" if ok else "FAIL"


# Every file of the round and of its truth is read as text.
_CSV = """read_csv($path, all_varchar = true, header = true, quote = '"', escape = '"')"""
_SOURCE_KINDS = "CREATE TABLE source_kinds(source VARCHAR, kind VARCHAR)"
_SOURCE_KIND_ROWS = "INSERT INTO source_kinds VALUES (?, ?)"
_PERSONS = sql.compose("CREATE TABLE persons AS SELECT * FROM {csv}", csv=_CSV)
_RINGS = sql.compose("CREATE TABLE rings AS SELECT * FROM {csv}", csv=_CSV)
_TRUTH = sql.compose("""CREATE TABLE truth AS SELECT t.*, k.kind, CAST(t.row AS BIGINT) AS row_no
                        FROM {csv} t JOIN source_kinds k USING (source)""", csv=_CSV)
_OUT_LINKS = sql.compose("""CREATE TABLE out_links AS  -- a link to a person's second account is a link to the person
                            SELECT l.* REPLACE (coalesce(d.person_id, l.person_id) AS person_id)
                            FROM {csv} l LEFT JOIN duplicates d ON d.duplicate_person_id = l.person_id""", csv=_CSV)
_OUT_REJECTS = sql.compose("CREATE TABLE out_rejects AS SELECT *, CAST(line AS BIGINT) AS line_no FROM {csv}",
                           csv=_CSV)
_VERDICTS = sql.compose("CREATE TABLE verdicts AS SELECT * FROM {csv}", csv=_CSV)
_FLAGS = sql.compose("CREATE TABLE flags AS SELECT * FROM {csv}", csv=_CSV)
_REGISTRY_ROWS = sql.compose("CREATE TABLE registry_rows AS SELECT person_id, certified_until FROM {csv}", csv=_CSV)
_ROUND_WINDOW = "CREATE TABLE round_window AS SELECT $start::DATE AS window_start, $as_of::DATE AS as_of"
_WORLD = "CREATE TABLE world (knobs JSON)"
_WORLD_ROW = "INSERT INTO world VALUES ($knobs)"
_DUPLICATES = sql.compose("CREATE TABLE duplicates AS SELECT * FROM {csv}", csv=_CSV)
_NO_DUPLICATES = "CREATE TABLE duplicates (person_id VARCHAR, duplicate_person_id VARCHAR, id_form VARCHAR)"
_ATTACH_STATE = "ATTACH $path AS st (READ_ONLY)"
_DETACH_STATE = "DETACH st"


def load(con: duckdb.DuckDBPyConnection, out: Path, round_dir: Path) -> None:
    """Views over the output and truth files, and the source kinds from round.toml."""
    spec = tomllib.loads((round_dir / "round.toml").read_text(encoding="utf-8"))
    kinds = [(s["name"], s["kind"]) for s in spec["sources"]]
    sql.run(con, "source_kinds", _SOURCE_KINDS)
    sql.run_many(con, "source_kind_rows", _SOURCE_KIND_ROWS, kinds)
    truth = round_dir / "truth"
    for name, statement, path in (("persons", _PERSONS, truth / "persons.csv"), ("rings", _RINGS, truth / "rings.csv"),
                                  ("truth", _TRUTH, truth / "links.csv")):
        sql.run(con, name, statement, {"path": str(path)})
    _duplicates_truth(con, truth)
    for name, statement, path in (("out_links", _OUT_LINKS, out / "links.csv"),
                                  ("out_rejects", _OUT_REJECTS, out / "rejects.csv"),
                                  ("verdicts", _VERDICTS, out / "verdicts.csv"), ("flags", _FLAGS, out / "flags.csv"),
                                  ("registry_rows", _REGISTRY_ROWS, round_dir / "registry.csv")):
        sql.run(con, name, statement, {"path": str(path)})
    settings = LivenessSettings.from_dict(spec.get("liveness"))
    as_of = spec["round"]["as_of"]
    sql.run(con, "round_window", _ROUND_WINDOW, {"start": window_start(as_of, settings), "as_of": as_of})
    world = truth / "world.json"
    sql.run(con, "world", _WORLD)
    if world.exists():
        sql.run(con, "world_row", _WORLD_ROW, {"knobs": world.read_text(encoding="utf-8")})
    _match_rows(con)
    _miss_causes(con, out / "state" / "round.duckdb")
    _weak_scores(con, out / "state" / "round.duckdb", spec)


def _duplicates_truth(con: duckdb.DuckDBPyConnection, truth: Path) -> None:
    """`duplicates(person_id, duplicate_person_id, id_form)`: the generator's second accounts (empty when none)."""
    path = truth / "duplicates.csv"
    if path.is_file():
        sql.run(con, "duplicates", _DUPLICATES, {"path": str(path)})
    else:
        sql.run(con, "no_duplicates", _NO_DUPLICATES)


_FLAGGED_PAIRS = """
CREATE TABLE flagged_pairs AS
SELECT DISTINCT least(person_id, other) AS a, greatest(person_id, other) AS b FROM (
    SELECT person_id, split_part(flag_id, ':', 3) AS other FROM flags
    WHERE kind = 'duplicate_account' AND NOT contains(flag_id, '/'))
"""
_DUPLICATE_PAIRS = "SELECT count(*) FROM duplicates"
# a truth pair d and a flagged pair f are the same pair
_SAME_PAIR = """f.a = least(d.person_id, d.duplicate_person_id)
                AND f.b = greatest(d.person_id, d.duplicate_person_id)"""
_PAIRS_FLAGGED = sql.compose("SELECT count(*) FROM duplicates d JOIN flagged_pairs f ON {same}", same=_SAME_PAIR)
_PAIRS_MISSED = sql.compose("""SELECT d.person_id || '/' || d.duplicate_person_id || ' ' || d.id_form FROM duplicates d
                               ANTI JOIN flagged_pairs f ON {same}""", same=_SAME_PAIR)
_FALSE_PAIRS = sql.compose("SELECT count(*) FROM flagged_pairs f ANTI JOIN duplicates d ON {same}", same=_SAME_PAIR)
_FALSE_PAIR_IDS = sql.compose("SELECT a || '/' || b FROM flagged_pairs f ANTI JOIN duplicates d ON {same}",
                              same=_SAME_PAIR)
_VERDICT_COUNT = "SELECT count(*) FROM verdicts"
_PAIRS_CERTIFIED = """
SELECT count(*) FILTER (WHERE a.status = 'certified' OR b.status = 'certified'),
       count(*) FILTER (WHERE a.status = 'certified' AND b.status = 'certified')
FROM duplicates d JOIN verdicts a ON a.person_id = d.person_id
JOIN verdicts b ON b.person_id = d.duplicate_person_id
"""


def duplicate_accounts(con, limit: int) -> list[Figure]:
    """Pairs of the truth flagged (a duplicate_account flag on either account naming the other), and false
    duplicate flags (pairs no truth pair explains) per 10,000 pensioners (registry rows)."""
    sql.run(con, "flagged_pairs", _FLAGGED_PAIRS)
    pairs = sql.scalar(con, "duplicate_pairs", _DUPLICATE_PAIRS)
    found = sql.scalar(con, "pairs_flagged", _PAIRS_FLAGGED)
    missed = _ids(con, "pairs_missed", _PAIRS_MISSED, limit)
    false = sql.scalar(con, "false_pairs", _FALSE_PAIRS)
    wrong = _ids(con, "false_pair_ids", _FALSE_PAIR_IDS, limit)
    pensioners = sql.scalar(con, "verdict_count", _VERDICT_COUNT)
    either, both = sql.one(con, "pairs_certified", _PAIRS_CERTIFIED)
    return [_ratio("duplicates", "duplicate pairs flagged", found, pairs, ">= 0.95", missed),
            Figure("duplicates", "false duplicate flags per 10,000 pensioners",
                   false * 10_000 / pensioners if pensioners else None, "<= 1", false, pensioners, wrong),
            _ratio("duplicates", "  pairs with a certified account: both certified (shared evidence)", both, either,
                   "")]


_SCORED = """
CREATE TABLE scored AS
WITH rej AS (
    SELECT t.source, t.row_no, r.reason, r.record_id AS rejected_record_id
    FROM truth t JOIN out_rejects r ON r.source = t.source AND r.line_no = t.row_no + 1),
kept AS (SELECT t.* FROM truth t ANTI JOIN rej USING (source, row_no)),
lnk AS (
    SELECT k.source, k.row_no, l.person_id AS linked_person, l.match_probability,
           count(*) OVER (PARTITION BY l.source, l.record_id) AS truth_rows_sharing_id
    FROM kept k JOIN out_links l ON l.source = k.source AND l.record_id = k.record_id)
SELECT t.*, rej.reason AS reject_reason, rej.reason IS NOT NULL AS rejected,
       lnk.linked_person, lnk.match_probability, lnk.row_no IS NOT NULL AS in_links,
       coalesce(lnk.truth_rows_sharing_id, 0) AS truth_rows_sharing_id
FROM truth t LEFT JOIN rej USING (source, row_no) LEFT JOIN lnk USING (source, row_no)
"""


def _match_rows(con: duckdb.DuckDBPyConnection) -> None:
    """`scored`: one row per truth row with what the round did with it (rejected / linked person / absent)."""
    sql.run(con, "scored", _SCORED)


# sound rows not linked to their true person
_MISSED_ROWS = """SELECT source, row_no, record_id, person_id, rejected, reject_reason FROM scored
                  WHERE malformed = '0' AND person_id IS NOT NULL AND linked_person IS DISTINCT FROM person_id"""
_MISSES_WITHOUT_STATE = sql.compose("""
CREATE TABLE misses AS SELECT source, row_no, CASE WHEN rejected THEN 'rejected: ' ||
    regexp_replace(reject_reason, '[0-9]+', 'N', 'g') ELSE 'unknown (no state db)' END AS cause
FROM ({missed})
""", missed=_MISSED_ROWS)
_MISSES = sql.compose("""
CREATE TABLE misses AS
WITH m AS ({missed}),
cand AS (SELECT c.rid, c.person_id, bool_or(c.shared) AS shared FROM st.link_candidates c GROUP BY ALL)
SELECT m.source, m.row_no, CASE
         WHEN m.rejected THEN 'rejected: ' || regexp_replace(m.reject_reason, '[0-9]+', 'N', 'g')
         WHEN c.shared THEN 'shared identifier only (split probability)'
         WHEN r.id_number IS NULL AND r.id_number_raw IS NULL AND r.birth_date IS NULL
              AND (c.person_id IS NULL OR (r.phone IS NULL AND r.card_no IS NULL))
              THEN 'too little to link (no ID, no birth date; name or unknown phone/card)'
         ELSE 'linker miss' END AS cause
FROM m LEFT JOIN st.records r ON r.source = m.source AND r.record_id = m.record_id AND r.line = m.row_no + 1
LEFT JOIN cand c ON c.rid = r.rid AND c.person_id = m.person_id
""", missed=_MISSED_ROWS)


def _miss_causes(con: duckdb.DuckDBPyConnection, state: Path) -> None:
    """`misses(source, row_no, cause)` for sound rows not linked to their true person, from the working tables.

    Causes: the row was rejected (its reason with digits masked); the true person was a candidate only through a
    shared identifier (a couple's phone: split probability, by design never a confident link); the row carries no
    ID number (not even one failing its check) and no birth date and either no phone or card either (a name, perhaps
    with sex and county: not a person in a province) or the true person was no candidate at all (a phone or card the registry does not hold);
    else the linker missed it."""
    if not state.exists():
        sql.run(con, "misses_without_state", _MISSES_WITHOUT_STATE)
        return
    sql.run(con, "attach_state", _ATTACH_STATE, {"path": str(state)})
    sql.run(con, "misses", _MISSES)
    sql.run(con, "detach_state", _DETACH_STATE)


_LOG_RATIOS = "CREATE TABLE source_log_ratios (source VARCHAR, seen_lr DOUBLE, unseen_lr DOUBLE)"
_LOG_RATIO_ROWS = "INSERT INTO source_log_ratios VALUES (?, ?, ?)"
_RELATIVES_SOURCES = "CREATE TABLE relatives_sources AS SELECT source FROM st.likelihood_ratios WHERE seen_dead > 0"
_WEAK_ROWS = """
CREATE TEMP VIEW weak_rows AS
SELECT person_id, source, occurred_at::DATE AS d, weight FROM st.evidence WHERE role = 'weak'
"""
_WEAK_SCORES = """
CREATE TABLE weak_scores AS
SELECT w.person_id, max(w.log_odds) FILTER (WHERE w.seen >= $min_sources) AS log_odds,
       max(w.seen) AS seen, any_value(s.relatives_only) AS relatives_only
FROM weak_windows w LEFT JOIN (
    SELECT person_id, bool_and(source IN (SELECT source FROM relatives_sources)) AS relatives_only
    FROM weak_steps WHERE capped >= $min_weight GROUP BY person_id) s USING (person_id)
GROUP BY w.person_id
"""
_ROUND_ROLES = """
CREATE TABLE round_roles AS SELECT person_id, bool_or(role = 'weak') AS weak,
       bool_or(role = 'not_confident') AS not_confident, bool_or(role = 'failed') AS failed
FROM st.evidence GROUP BY person_id
"""
_REPORTED = """
CREATE TABLE reported AS SELECT DISTINCT l.person_id FROM st.links l JOIN st.records r USING (rid)
WHERE r.kind = 'death' AND l.person_id IS NOT NULL AND l.match_probability >= $floor
"""
_WEAK_MODEL = """
CREATE TABLE weak_model AS
SELECT $as_of::DATE AS as_of, $start::DATE AS window_start, $min_sources::INT AS min_sources,
       (SELECT threshold_log_odds FROM st.weak_calibration) AS threshold, $highest::DOUBLE AS highest
"""


def _weak_scores(con: duckdb.DuckDBPyConnection, state: Path, spec: dict) -> None:
    """The round's time-aware weak model rebuilt from its working tables (docs/scoring.md section 2), for the
    breakdown of uncertified living people and the threshold what-if: `weak_windows(person_id, d, log_odds, seen)`
    (one row per person and window start: the weak records dated on or after d), `weak_scores(person_id, log_odds,
    seen)` (best log-odds of a window with enough sources; sources seen over the whole window), `relatives_sources`
    (sources the round's labelled dead were seen in after death), `round_roles` (roles of each person's in-window
    records), `reported` (a death record linked at link_floor) and one row
    `weak_model(as_of, window_start, threshold, highest, min_sources)`."""
    if not state.exists():
        return
    settings = LivenessSettings.from_dict(spec.get("liveness"))
    as_of = spec["round"]["as_of"]
    sql.run(con, "attach_state", _ATTACH_STATE, {"path": str(state)})
    ratios = load_ratios(con, "st.likelihood_ratios").values()
    sql.run(con, "source_log_ratios", _LOG_RATIOS)
    sql.run_many(con, "source_log_ratio_rows", _LOG_RATIO_ROWS,
                 [(r.source, r.seen_log_ratio, r.unseen_log_ratio) for r in ratios])
    sql.run(con, "relatives_sources", _RELATIVES_SOURCES)
    # the base log-odds summed in Python, as score_stage does: scores tied at the top must tie with the
    # calibration's, or a float wobble decides who passes a threshold set just above them
    base = base_log_odds(ratios, settings)
    sql.run(con, "weak_rows", _WEAK_ROWS)
    write_steps(con, "weak_steps", "weak_rows", {"cap": settings.source_cap, "min_weight": settings.min_source_weight})
    write_windows(con, "weak_windows", "weak_steps", base)
    sql.run(con, "weak_scores", _WEAK_SCORES,
            {"min_sources": settings.min_weak_sources, "min_weight": settings.min_source_weight})
    sql.run(con, "round_roles", _ROUND_ROLES)
    sql.run(con, "reported", _REPORTED, {"floor": settings.link_floor})
    sql.run(con, "weak_model", _WEAK_MODEL,
            {"min_sources": settings.min_weak_sources, "as_of": as_of, "start": window_start(as_of, settings),
             "highest": highest_weak_log_odds(ratios, settings)})
    sql.run(con, "detach_state", _DETACH_STATE)


# the first `limit` values of a one-column query, in order (examples shown beside a figure)
_EXAMPLES = "{query} ORDER BY 1 LIMIT $limit"


def _ids(con, name: str, query: str, limit: int, params: dict | None = None) -> list[str]:
    rows = sql.fetchall(con, name, sql.compose(_EXAMPLES, query=query), {**(params or {}), "limit": limit})
    return [r[0] for r in rows]


def _ratio(group, name, num, den, target, examples=None) -> Figure:
    value = None if not den else num / den
    return Figure(group, name, value, target, int(num or 0), int(den or 0), examples)


# ---------------------------------------------------------------- linkage

_SOUND_ROW = "malformed = '0'"
_PRECISION_RECALL = sql.compose("""
SELECT source,
       count(*) FILTER (WHERE linked_person IS NOT NULL) AS predicted,
       count(*) FILTER (WHERE linked_person IS NOT NULL AND linked_person = person_id) AS correct,
       count(*) FILTER (WHERE person_id IS NOT NULL) AS actual
FROM scored WHERE {sound} GROUP BY ROLLUP (source) ORDER BY source NULLS FIRST
""", sound=_SOUND_ROW)
_WRONGLY_LINKED_ROWS = sql.compose("""
SELECT source || ':' || record_id || ' truth=' || coalesce(person_id, '-') || ' linked=' || linked_person
FROM scored WHERE {sound} AND linked_person IS NOT NULL AND linked_person IS DISTINCT FROM person_id
""", sound=_SOUND_ROW)
_UNLINKED_ROWS = sql.compose("""
SELECT source || ':' || record_id || ' truth=' || person_id || ' linked='
       || coalesce(linked_person, CASE WHEN rejected THEN 'rejected' ELSE '-' END)
FROM scored WHERE {sound} AND person_id IS NOT NULL AND linked_person IS DISTINCT FROM person_id
""", sound=_SOUND_ROW)


def linkage(con, limit: int) -> list[Figure]:
    figures = []
    rows = sql.fetchall(con, "precision_recall", _PRECISION_RECALL)
    for source, predicted, correct, actual in rows:
        label = source or "all sources"
        examples = None
        if source is None:
            examples = _ids(con, "wrongly_linked_rows", _WRONGLY_LINKED_ROWS, limit)
        figures.append(_ratio("linkage", f"precision {label}", correct, predicted,
                              f">= {STRONG_LINK_PRECISION}", examples))
        examples = None
        if source is None:
            examples = _ids(con, "unlinked_rows", _UNLINKED_ROWS, limit)
        # No target: a couple's shared phone is linked to nobody by design; the target is on the recall over the
        # rows attributable to one person (_attributable)
        figures.append(_ratio("linkage", f"recall {label}", correct, actual, "", examples))
    figures += _wrong_links(con)
    figures += _attributable(con, limit)
    figures += _by_noise(con, limit)
    figures += _nobody(con, limit)
    figures += _malformed(con, limit)
    return figures


_WRONG_LINKS = """
SELECT s.source || ': ' || CASE
         WHEN s.person_id IS NULL THEN 'truth nobody (non-pensioner, operator)'
         WHEN pt.couple_id IS NOT NULL AND pt.couple_id = pl.couple_id THEN 'linked to the truth person''s spouse'
         ELSE 'another pensioner' END, count(*)
FROM scored s LEFT JOIN persons pt ON pt.person_id = s.person_id
LEFT JOIN persons pl ON pl.person_id = s.linked_person
WHERE s.malformed = '0' AND s.linked_person IS NOT NULL AND s.linked_person IS DISTINCT FROM s.person_id
GROUP BY 1 ORDER BY 2 DESC LIMIT 12
"""
_PREDICTED = "SELECT count(*) FROM scored WHERE malformed = '0' AND linked_person IS NOT NULL"


def _wrong_links(con) -> list[Figure]:
    """Published links to the wrong person, by who the row really belongs to."""
    rows = sql.fetchall(con, "wrong_links", _WRONG_LINKS)
    predicted = sql.scalar(con, "predicted_links", _PREDICTED)
    return [Figure("linkage", f"  wrong link: {label}", n / predicted, "", n, predicted) for label, n in rows]


_ACTUAL = "SELECT count(*) FROM scored WHERE malformed = '0' AND person_id IS NOT NULL"
_MISSED = "SELECT count(*) FROM misses"
_UNLINKABLE = "SELECT count(*) FROM misses WHERE cause LIKE 'shared identifier%' OR cause LIKE 'too little%'"
_MISS_CAUSES = "SELECT source || ': ' || cause, count(*) FROM misses GROUP BY 1 ORDER BY 2 DESC LIMIT 12"


def _attributable(con, limit: int) -> list[Figure]:
    """Recall over rows that name their person at all, and why the rest were missed."""
    actual = sql.scalar(con, "actual_links", _ACTUAL)
    missed = sql.scalar(con, "missed_links", _MISSED)
    excluded = sql.scalar(con, "unlinkable_rows", _UNLINKABLE)
    figures = [_ratio("linkage", "recall, rows attributable to one person", actual - missed, actual - excluded,
                      f">= {LINK_RECALL}")]
    for cause, n in sql.fetchall(con, "miss_causes", _MISS_CAUSES):
        figures.append(Figure("linkage", f"  missed: {cause}", n / actual, "", n, actual))
    return figures


_RECALL_BY_NOISE = """
WITH tagged AS (
    SELECT s.source, s.row_no, s.record_id, s.person_id, s.linked_person, unnest(string_split(s.noise, ';')) AS kind
    FROM scored s WHERE s.malformed = '0' AND s.person_id IS NOT NULL AND s.noise <> ''),
kept AS (
    SELECT t.* FROM tagged t LEFT JOIN misses m USING (source, row_no)
    WHERE m.cause IS NULL OR NOT (m.cause LIKE 'shared identifier%' OR m.cause LIKE 'too little%'
                                  OR m.cause LIKE 'rejected: no identifying field%'))
SELECT kind, count(*) FILTER (WHERE linked_person = person_id), count(*),
       list(source || ':' || record_id || ' truth=' || person_id || ' linked=' || coalesce(linked_person, '-')
            ORDER BY source, record_id) FILTER (WHERE linked_person IS DISTINCT FROM person_id)[1:$limit]
FROM kept GROUP BY kind ORDER BY kind
"""


def _by_noise(con, limit: int) -> list[Figure]:
    """Recall per kind of noise on the row (truth links.csv `noise`), over the rows attributable to one person (a
    miss for a shared identifier or too little to link left aside, as in the recall above, and rows rejected for
    carrying no identifying field at all: an ID missing and a name missing together)."""
    rows = sql.fetchall(con, "recall_by_noise", _RECALL_BY_NOISE, {"limit": limit})
    return [_ratio("linkage", f"recall with noise {kind}", ok, n, f">= {NOISE_RECALL}", examples or None)
            for kind, ok, n, examples in rows]


# sound rows whose true person is nobody, by whether a ring operator wrote them
_NOBODYS_ROW = "malformed = '0' AND person_id IS NULL AND ring_operator = $operator"
_NOBODY_UNLINKED = sql.compose("""SELECT count(*) FILTER (WHERE linked_person IS NULL), count(*)
                                  FROM scored WHERE {nobodys}""", nobodys=_NOBODYS_ROW)
_NOBODY_LINKED = sql.compose("""SELECT source || ':' || record_id || ' linked=' || linked_person FROM scored
                                WHERE {nobodys} AND linked_person IS NOT NULL""", nobodys=_NOBODYS_ROW)


def _nobody(con, limit: int) -> list[Figure]:
    """Sound rows whose true person is nobody must link to nobody; split by why they are nobody's."""
    figures = []
    for label, operator in (("ring operator", "1"), ("non-pensioner", "0")):
        num, den = sql.one(con, "nobody_unlinked", _NOBODY_UNLINKED, {"operator": operator})
        ex = _ids(con, "nobody_linked", _NOBODY_LINKED, limit, {"operator": operator})
        figures.append(_ratio("linkage", f"truth-nobody rows linked to nobody ({label})", num, den, ">= 1", ex))
    return figures


# bad_check_digit is left out of the target: a wrong check character looks exactly like the id_typo noise on
# sound rows, so a loader can only drop the ID and link on the other fields (wrong links are counted below).
# garbage rows only need to link to nobody (their true person is nobody).
_REJECTABLE = "malformed = '1' AND malformed_kind NOT IN ('bad_check_digit', 'garbage')"
_REJECTABLE_REJECTED = sql.compose("SELECT count(*) FILTER (WHERE rejected), count(*) FROM scored WHERE {rule}",
                                   rule=_REJECTABLE)
_REJECTABLE_KEPT = sql.compose("""SELECT source || ':' || record_id || ' ' || malformed_kind || ' linked='
                                  || coalesce(linked_person, '-') FROM scored WHERE {rule} AND NOT rejected""",
                               rule=_REJECTABLE)
_MALFORMED_WRONG = "malformed = '1' AND (linked_person IS NOT NULL AND linked_person IS DISTINCT FROM person_id)"
_MALFORMED_LINKED_WRONG = sql.compose("""SELECT count(*) FILTER (WHERE {rule}), count(*) FROM scored
                                         WHERE malformed = '1'""", rule=_MALFORMED_WRONG)
_MALFORMED_WRONG_ROWS = sql.compose("""SELECT source || ':' || record_id || ' ' || malformed_kind FROM scored
                                       WHERE {rule}""", rule=_MALFORMED_WRONG)
_MALFORMED_KINDS = """
SELECT malformed_kind, count(*), count(*) FILTER (WHERE rejected),
       count(*) FILTER (WHERE linked_person IS NOT NULL AND linked_person IS DISTINCT FROM person_id)
FROM scored WHERE malformed = '1' GROUP BY 1 ORDER BY 1
"""
_SOUND_REJECTED = "SELECT count(*) FILTER (WHERE rejected), count(*) FROM scored WHERE malformed = '0'"
_SOUND_REJECTED_ROWS = """SELECT source || ':' || record_id || ' ' || reject_reason FROM scored
                          WHERE malformed = '0' AND rejected"""


def _malformed(con, limit: int) -> list[Figure]:
    figures = []
    num, den = sql.one(con, "malformed_rejected", _REJECTABLE_REJECTED)
    ex = _ids(con, "malformed_kept", _REJECTABLE_KEPT, limit)
    figures.append(_ratio("linkage", "malformed rows rejected (dates, duplicate ids)", num, den, ">= 1", ex))
    num, den = sql.one(con, "malformed_linked_wrong", _MALFORMED_LINKED_WRONG)
    figures.append(_ratio("linkage", "malformed rows linked to a wrong person", num, den, "<= 0",
                          _ids(con, "malformed_wrong_rows", _MALFORMED_WRONG_ROWS, limit)))
    for kind, n, rej, linked_wrong in sql.fetchall(con, "malformed_kinds", _MALFORMED_KINDS):
        figures.append(Figure("linkage", f"  malformed {kind}: rejected (wrongly linked {linked_wrong})",
                              rej / n, "", rej, n))
    num, den = sql.one(con, "sound_rejected", _SOUND_REJECTED)
    ex = _ids(con, "sound_rejected_rows", _SOUND_REJECTED_ROWS, limit)
    figures.append(_ratio("linkage", "sound rows rejected", num, den, "<= 0.0005", ex))
    return figures


# ---------------------------------------------------------------- liveness

_PEOPLE = """
CREATE TABLE people AS
WITH reports AS (  -- sound death rows that identify their person at all (not a bare name)
    SELECT t.person_id, bool_or(t.false_death = '0') AS real_report, bool_or(t.false_death = '1') AS false_report,
           bool_or(m.source IS NULL) AS identifiable
    FROM truth t LEFT JOIN misses m ON m.source = t.source AND m.row_no = t.row_no AND m.cause LIKE 'too little%'
    WHERE t.kind = 'death' AND t.malformed = '0' AND t.person_id IS NOT NULL AND m.source IS NULL
    GROUP BY t.person_id),
ev AS (
    SELECT person_id,
           bool_or(kind IN ('strong', 'weak') OR (kind IN ('face', 'in_person') AND passed = '1')) AS any_evidence
    FROM truth WHERE malformed = '0' AND post_death = '0' AND person_id IS NOT NULL
    GROUP BY person_id)
SELECT p.*, coalesce(ev.any_evidence, false) AS any_evidence, coalesce(rp.real_report, false) AS has_death_record,
       coalesce(rp.false_report, false) AS has_false_record,
       TRY_CAST(p.death_date AS DATE) AS died_on,
       v.status, v.method, v.source AS deciding_source, TRY_CAST(v.evidence_at AS DATE) AS evidence_on,
       v.certified_until AS new_until
FROM persons p LEFT JOIN ev USING (person_id) LEFT JOIN reports rp USING (person_id)
LEFT JOIN verdicts v USING (person_id)
"""


_ALIVE_WITH_EVIDENCE = "alive = '1' AND any_evidence"
_ALIVE_CERTIFIED = sql.compose("""SELECT count(*) FILTER (WHERE status = 'certified'), count(*) FROM people
                                  WHERE {alive}""", alive=_ALIVE_WITH_EVIDENCE)
_PERSON_STATUS = """SELECT person_id || ' ' || coalesce(status, 'no verdict') || '/' || coalesce(method, '')
                           || ' seg=' || segment FROM people"""
_ALIVE_NOT_CERTIFIED = sql.compose("{show} WHERE {alive} AND status IS DISTINCT FROM 'certified'",
                                   show=_PERSON_STATUS, alive=_ALIVE_WITH_EVIDENCE)
_ALIVE_NOT_CERTIFIED_BY_STATUS = sql.compose("""
SELECT coalesce(status, 'no verdict') || '/' || coalesce(method, '') || ' seg=' || segment, count(*) FROM people
WHERE {alive} AND status IS DISTINCT FROM 'certified' GROUP BY 1 ORDER BY 2 DESC
""", alive=_ALIVE_WITH_EVIDENCE)
_DEAD = "SELECT count(*) FROM people WHERE alive = '0'"
_DEAD_CERTIFIED_WRONGLY = "alive = '0' AND status = 'certified' AND (has_death_record OR evidence_on > died_on)"
_DEAD_CERTIFIED = sql.compose("SELECT count(*) FROM people WHERE {wrong}", wrong=_DEAD_CERTIFIED_WRONGLY)
_DEAD_CERTIFIED_ROWS = sql.compose("""SELECT person_id || ' ' || method || ' ' || deciding_source || ' on '
                                             || evidence_on || ' died ' || died_on FROM people WHERE {wrong}""",
                                   wrong=_DEAD_CERTIFIED_WRONGLY)
_RELATIVES_USE = "alive = '0' AND post_death_weak_use = '1' AND NOT has_death_record"
_RELATIVES_CERTIFIED = sql.compose("""SELECT count(*) FILTER (WHERE status = 'certified' AND evidence_on > died_on),
                                             count(*) FROM people WHERE {relatives}""", relatives=_RELATIVES_USE)
_RELATIVES_CERTIFIED_ROWS = sql.compose("""
SELECT person_id || ' ' || method || ' ' || deciding_source || ' on ' || evidence_on || ' died ' || died_on
FROM people WHERE {relatives} AND status = 'certified' AND evidence_on > died_on
""", relatives=_RELATIVES_USE)


def liveness(con, limit: int) -> list[Figure]:
    sql.run(con, "people", _PEOPLE)
    num, den = sql.one(con, "alive_certified", _ALIVE_CERTIFIED)
    figures = [_ratio("liveness", "alive with evidence or channel: certified", num, den, ">= 0.995",
                      _ids(con, "alive_not_certified", _ALIVE_NOT_CERTIFIED, limit))]
    for status, n in sql.fetchall(con, "alive_not_certified_by_status", _ALIVE_NOT_CERTIFIED_BY_STATUS):
        figures.append(Figure("liveness", f"  not certified: {status}", n / den, "", n, den))
    figures += _uncertified_causes(con, den, limit)
    alive_den = den
    dead = sql.scalar(con, "dead", _DEAD)
    num = sql.scalar(con, "dead_certified", _DEAD_CERTIFIED)
    figures.append(_ratio("liveness", "dead certified after death or despite a death record", num, dead,
                          "<= 0.0005", _ids(con, "dead_certified_rows", _DEAD_CERTIFIED_ROWS, limit)))
    num, den = sql.one(con, "relatives_certified", _RELATIVES_CERTIFIED)
    figures.append(_ratio("liveness", "  of which: relatives' use, no death record", num, den, "<= 0.0005",
                          _ids(con, "relatives_certified_rows", _RELATIVES_CERTIFIED_ROWS, limit)))
    figures += _carried_dead(con, dead, limit)
    figures += _sound_model(con, _heavy_world(con), limit)
    figures += _weak_what_if(con, alive_den, dead)
    return figures


_GAP_CAUSES = """
CREATE TABLE gap_causes AS
WITH gap AS (SELECT person_id, status FROM people WHERE {alive} AND status IS DISTINCT FROM 'certified'),
fate AS (  -- what became of their sound, pre-death truth rows
    SELECT s.person_id, bool_or(s.rejected) AS rejected, bool_or(m.cause LIKE 'shared%') AS shared,
           bool_or(m.cause IS NOT NULL AND NOT s.rejected) AS missed,
           bool_or(TRY_CAST(s.occurred_at AS DATE) NOT BETWEEN w.window_start AND w.as_of) AS old
    FROM scored s CROSS JOIN weak_model w LEFT JOIN misses m USING (source, row_no)
    WHERE s.malformed = '0' AND s.post_death = '0' AND s.person_id IN (SELECT person_id FROM gap)
    GROUP BY s.person_id)
SELECT g.person_id, CASE
    WHEN g.status IS NULL THEN 'no verdict'
    WHEN g.status <> 'uncertified' THEN 'death check: ' || g.status
    WHEN ws.seen >= wm.min_sources AND ws.relatives_only
         THEN 'two or more weak sources, all of them sources the round''s labelled dead showed after death'
    WHEN ws.seen >= wm.min_sources THEN 'two or more weak sources, no window reaching the round''s threshold'
    WHEN ws.seen >= 1 THEN 'one weak source seen (one source never certifies alone)'
    WHEN r.weak THEN 'weak records too old or faint to count as a sighting'
    WHEN r.not_confident THEN 'strong record below confident_link or through a shared identifier'
    WHEN f.shared THEN 'only rows on a shared identifier (a couple''s phone), linked to nobody'
    WHEN f.old THEN 'only evidence older than the evidence window'
    WHEN f.rejected THEN 'only rejected rows'
    WHEN f.missed THEN 'only rows the linker could not attribute to them'
    WHEN r.failed THEN 'only a failed face / in-person check'
    ELSE 'other' END AS cause
FROM gap g CROSS JOIN weak_model wm LEFT JOIN weak_scores ws USING (person_id)
LEFT JOIN round_roles r USING (person_id) LEFT JOIN fate f USING (person_id)
"""


_WORLD_KNOBS = "SELECT knobs FROM world"
_HAS_TABLE = "SELECT count(*) FROM duckdb_tables() WHERE table_name = $table"
_CAUSE_COUNTS = "SELECT cause, count(*) FROM gap_causes GROUP BY 1 ORDER BY 2 DESC"
_PEOPLE_OF_CAUSE = "SELECT person_id FROM gap_causes WHERE cause = $cause"


def _heavy_world(con) -> bool:
    """Relatives keep using more than one of the deceased's sources (truth/world.json): the 90% target applies."""
    row = sql.fetchone(con, "world_knobs", _WORLD_KNOBS)
    if row is None:
        return False
    knobs = json.loads(row[0])
    return knobs["max_sources"] > 1 and len(knobs["relative_sources"]) > 1 and knobs["relatives"] > 0


def _has(con, table: str) -> bool:
    return bool(sql.scalar(con, "has_table", _HAS_TABLE, {"table": table}))


def _uncertified_causes(con, den: int, limit: int) -> list[Figure]:
    """Why each uncertified living person with evidence was not certified (needs the round's state db)."""
    if not _has(con, "weak_model"):
        return []
    sql.run(con, "gap_causes", sql.compose(_GAP_CAUSES, alive=_ALIVE_WITH_EVIDENCE))
    figures = []
    for cause, n in sql.fetchall(con, "cause_counts", _CAUSE_COUNTS):
        figures.append(Figure("liveness", f"  why: {cause}", n / den, "", n, den,
                              _ids(con, "people_of_cause", _PEOPLE_OF_CAUSE, limit, {"cause": cause})))
    return figures


_SOUND = """
CREATE TABLE sound_living AS
WITH win AS (SELECT * FROM round_window),
never_after_death AS (  -- weak sources in which no dead pensioner of the round shows any row after the death
    SELECT source FROM source_kinds WHERE kind = 'weak'
    EXCEPT
    SELECT t.source FROM truth t JOIN persons p USING (person_id)
    WHERE t.kind = 'weak' AND t.malformed = '0' AND p.alive = '0'
      AND TRY_CAST(t.occurred_at AS DATE) > TRY_CAST(p.death_date AS DATE)),
own AS (  -- the person's own sound rows inside the evidence window that name one person (not a couple's phone)
    SELECT t.person_id, t.kind, t.source, t.passed FROM truth t CROSS JOIN win
    WHERE t.malformed = '0' AND t.post_death = '0' AND t.person_id IS NOT NULL
      AND TRY_CAST(t.occurred_at AS DATE) BETWEEN win.window_start AND win.as_of
      AND (t.source, t.row_no) NOT IN (SELECT (source, row_no) FROM misses
                                       WHERE cause LIKE 'shared%' OR cause LIKE 'too little%')),
per AS (
    SELECT person_id,
           bool_or(kind = 'strong') AS strong,
           bool_or(kind IN ('face', 'in_person') AND passed = '1') AS channel,
           count(DISTINCT source) FILTER (WHERE kind = 'weak') AS weak_sources,
           bool_or(kind = 'weak' AND source IN (SELECT source FROM never_after_death)) AS unfakeable
    FROM own GROUP BY person_id)
SELECT p.person_id, p.status,
       coalesce(per.strong, false) AS strong, coalesce(per.channel, false) AS channel,
       coalesce(TRY_CAST(g.certified_until AS DATE) >= win.as_of, false) AS valid_period,
       coalesce(per.weak_sources >= 2 AND per.unfakeable, false) AS weak_case
FROM people p CROSS JOIN win LEFT JOIN per USING (person_id) LEFT JOIN registry_rows g USING (person_id)
WHERE p.alive = '1' AND NOT p.has_false_record
"""


_WEAK_ONLY_CASE = "weak_case AND NOT (strong OR channel OR valid_period)"
_SOUND_CASE = "strong OR channel OR valid_period OR weak_case"
# {case}: _WEAK_ONLY_CASE or _SOUND_CASE
_SOUND_CERTIFIED = """SELECT count(*) FILTER (WHERE status = 'certified'), count(*) FROM sound_living
                      WHERE {case}"""
_SOUND_NOT_CERTIFIED = """SELECT person_id || ' ' || coalesce(status, '-') FROM sound_living
                          WHERE ({case}) AND status IS DISTINCT FROM 'certified'"""


def _sound_model(con, heavy: bool, limit: int) -> list[Figure]:
    """Living people a sound model could certify (strong, channel, still-valid period, or two or more weak sources
    including one no dead pensioner of the round shows after death), and of them the weak-only case. Rows that
    name no single person (a couple's shared phone; too little to link) do not count, as in the attributable
    recall above. Living people with a false death record are left out: the death check holds them for review by
    design ("alive with a false death record: review")."""
    sql.run(con, "sound_living", _SOUND)
    figures = []
    for name, case, target in (
            ("living weak-only, >= 2 weak sources incl. one the dead never show: certified", _WEAK_ONLY_CASE,
             ">= 0.9" if heavy else ">= 0.95"),
            ("living a sound model could certify: certified", _SOUND_CASE, ">= 0.995")):
        num, den = sql.one(con, "sound_certified", sql.compose(_SOUND_CERTIFIED, case=case))
        figures.append(_ratio("liveness", name, num, den, target,
                              _ids(con, "sound_not_certified", sql.compose(_SOUND_NOT_CERTIFIED, case=case), limit)))
    return figures


_WEAK_THRESHOLD = "SELECT threshold, highest FROM weak_model"
_WHAT_IF = """
WITH ok AS (SELECT person_id, max(d) AS certified_on FROM weak_windows CROSS JOIN weak_model m
            WHERE seen >= m.min_sources AND log_odds >= $threshold GROUP BY person_id)
SELECT count(*) FILTER (WHERE p.alive = '1' AND p.any_evidence AND p.status = 'uncertified'),
       count(*) FILTER (WHERE p.alive = '0' AND p.person_id NOT IN (SELECT person_id FROM reported)
                        AND ok.certified_on > p.died_on)
FROM ok JOIN people p USING (person_id)
"""


def _weak_what_if(con, alive_den: int, dead: int) -> list[Figure]:
    """The weak threshold against the truth: at log-odds t, how many uncertified living people with evidence
    would weak-certify, and how many dead without a death record in the round would be weak-certified on a date
    after their death (a window of relatives' use alone). Scores are the round's own (same ratios and windows)."""
    if not _has(con, "weak_model"):
        return []
    threshold, highest = sql.one(con, "weak_threshold", _WEAK_THRESHOLD)
    figures = [Figure("liveness", f"weak threshold (log-odds) {threshold:.3f}; highest any person can reach "
                      f"{highest:.3f}", threshold, "")]
    for t in sorted({float(round(threshold) + k) for k in (-3, -2, -1, 0, 1)}):
        gained, false = sql.one(con, "weak_what_if", _WHAT_IF, {"threshold": t})
        figures.append(Figure("liveness", f"  what-if threshold {t:.1f}: alive gained {gained} "
                              f"(+{gained / alive_den:.4%}), dead certified after death {false} "
                              f"({false / dead:.4%})", false / dead if dead else None, "", false, dead))
    return figures


_CARRIED_DEAD_CASE = "alive = '0' AND status = 'certified' AND method = 'carried'"
_CARRIED_DEAD = sql.compose("SELECT count(*) FROM people WHERE {carried}", carried=_CARRIED_DEAD_CASE)
_CARRIED_DEAD_ROWS = sql.compose("""SELECT person_id || ' died ' || died_on || ' until ' || new_until FROM people
                                    WHERE {carried}""", carried=_CARRIED_DEAD_CASE)


def _carried_dead(con, dead: int, limit: int) -> list[Figure]:
    """Dead people still certified by a period carried from before (no death record, no evidence this round)."""
    n = sql.scalar(con, "carried_dead", _CARRIED_DEAD)
    return [Figure("liveness", "dead, no death record, period carried (info: prior period drawn independently)",
                   n / dead if dead else None, "", n, dead, _ids(con, "carried_dead_rows", _CARRIED_DEAD_ROWS, limit))]


# ---------------------------------------------------------------- death check

_DEATH_STATUS = """SELECT person_id || ' ' || coalesce(status, '-') || '/' || coalesce(method, '') || ' died '
                         || coalesce(death_date, '-') || ' regs=' || coalesce(death_sources, '-') FROM people"""
_RECORDED_DEAD = "alive = '0' AND has_death_record"
_RECORDED_HELD = sql.compose("""SELECT count(*) FILTER (WHERE status IN ('deceased', 'review')), count(*) FROM people
                                WHERE {recorded}""", recorded=_RECORDED_DEAD)
_RECORDED_NOT_HELD = sql.compose("{show} WHERE {recorded} AND status NOT IN ('deceased', 'review')",
                                 show=_DEATH_STATUS, recorded=_RECORDED_DEAD)
_RECORDED_DECEASED = sql.compose("""SELECT count(*) FILTER (WHERE status = 'deceased'), count(*) FROM people
                                    WHERE {recorded}""", recorded=_RECORDED_DEAD)
_RECORDED_IN_REVIEW = sql.compose("{show} WHERE {recorded} AND status = 'review'", show=_DEATH_STATUS,
                                  recorded=_RECORDED_DEAD)
_BARE_NAME_DEAD = "alive = '0' AND death_sources IS NOT NULL AND NOT has_death_record"
_BARE_NAME_SHARE = sql.compose("""SELECT count(*) FILTER (WHERE {unnamed}), count(*) FILTER (WHERE alive = '0')
                                  FROM people""", unnamed=_BARE_NAME_DEAD)
_BARE_NAME_ROWS = sql.compose("{show} WHERE {unnamed}", show=_DEATH_STATUS, unnamed=_BARE_NAME_DEAD)
_FALSE_DEATH_STATUS = """SELECT person_id || ' ' || status || '/' || method || ' false=' || false_death_record || ' '
                                || false_death_date || ' seg=' || segment FROM people"""
_FALSELY_DEAD = "alive = '1' AND has_false_record"
_FALSELY_DECEASED = sql.compose("""SELECT count(*) FILTER (WHERE status = 'deceased'), count(*) FROM people
                                   WHERE {false_death}""", false_death=_FALSELY_DEAD)
_FALSELY_DECEASED_ROWS = sql.compose("{show} WHERE {false_death} AND status = 'deceased'",
                                     show=_FALSE_DEATH_STATUS, false_death=_FALSELY_DEAD)
_FALSELY_IN_REVIEW = sql.compose("""SELECT count(*) FILTER (WHERE status = 'review'), count(*) FROM people
                                    WHERE {false_death}""", false_death=_FALSELY_DEAD)
_FALSELY_NOT_IN_REVIEW = sql.compose("{show} WHERE {false_death} AND status <> 'review'",
                                     show=_FALSE_DEATH_STATUS, false_death=_FALSELY_DEAD)


def deathcheck(con, limit: int) -> list[Figure]:
    num, den = sql.one(con, "recorded_held", _RECORDED_HELD)
    figures = [_ratio("deathcheck", "dead with a death record: deceased or review", num, den, ">= 1",
                      _ids(con, "recorded_not_held", _RECORDED_NOT_HELD, limit))]
    num, den = sql.one(con, "recorded_deceased", _RECORDED_DECEASED)
    figures.append(_ratio("deathcheck", "  of which deceased (the rest in review)", num, den, "",
                          _ids(con, "recorded_in_review", _RECORDED_IN_REVIEW, limit)))
    num, den = sql.one(con, "bare_name_share", _BARE_NAME_SHARE)
    figures.append(_ratio("deathcheck", "  dead whose only death records carry a bare name (not counted above)",
                          num, den, "", _ids(con, "bare_name_rows", _BARE_NAME_ROWS, limit)))
    num, den = sql.one(con, "falsely_deceased", _FALSELY_DECEASED)
    figures.append(_ratio("deathcheck", "alive with a false death record: deceased", num, den, "== 0",
                          _ids(con, "falsely_deceased_rows", _FALSELY_DECEASED_ROWS, limit)))
    num, den = sql.one(con, "falsely_in_review", _FALSELY_IN_REVIEW)
    figures.append(_ratio("deathcheck", "alive with a false death record: review", num, den, ">= 1",
                          _ids(con, "falsely_not_in_review", _FALSELY_NOT_IN_REVIEW, limit)))
    figures += _flag_recall(con, limit)
    figures += _rings(con, limit)
    return figures


_WEAK_AFTER_REPORT = """
CREATE TABLE weak_after_report AS
SELECT DISTINCT t.person_id FROM truth t JOIN people p USING (person_id)
WHERE p.has_death_record AND t.malformed = '0' AND t.kind = 'weak' AND t.post_death = '1'
  AND p.first_death_record_at IS NOT NULL AND CAST(t.occurred_at AS DATE) > CAST(p.first_death_record_at AS DATE)
"""
# who should carry a flag of $kinds, per case of _flag_recall
_STRONG_AFTER_DEATH = """SELECT person_id FROM people WHERE post_death_strong = '1'
                         AND (has_death_record OR has_false_record)"""
_STRONG_AFTER_FALSE_DEATH = """SELECT person_id FROM people WHERE post_death_strong = '1' AND alive = '1'
                               AND has_false_record"""
_STRONG_AFTER_EARLY_DEATH = """SELECT person_id FROM people WHERE post_death_strong = '1' AND alive = '0'
                               AND has_death_record"""
_WEAK_AFTER_REPORTED_DEATH = "SELECT person_id FROM weak_after_report"
_RING_MEMBERS = "SELECT DISTINCT person_id FROM rings"
# {members}: one of the five above
_FLAGGED_MEMBERS = """
SELECT count(*) FILTER (WHERE f.person_id IS NOT NULL), count(*) FROM ({members}) m
LEFT JOIN (SELECT DISTINCT person_id FROM flags WHERE list_contains($kinds, kind)) f USING (person_id)
"""
_UNFLAGGED_MEMBERS = """
SELECT m.person_id || ' ' || coalesce(p.status, '-') || '/' || coalesce(p.method, '')
       || ' flags=' || coalesce((SELECT string_agg(DISTINCT kind, ';') FROM flags g
                                 WHERE g.person_id = m.person_id), '-')
FROM ({members}) m JOIN people p USING (person_id)
WHERE m.person_id NOT IN (SELECT person_id FROM flags WHERE list_contains($kinds, kind))
"""


def _flag_recall(con, limit: int) -> list[Figure]:
    """Post-death strong (truth column); others' weak use after a *reported* death (post_death rows after the first
    record; a ring flag covers it too, the ring's shared phone or card being the channel)."""
    sql.run(con, "weak_after_report", _WEAK_AFTER_REPORT)
    cases = (
        ("post-death strong activity", _STRONG_AFTER_DEATH,
         ["activity_after_death", "register_disagreement"]),  # the union of the two lines below
        ("  post-death strong, alive with a false death record", _STRONG_AFTER_FALSE_DEATH,
         ["activity_after_death"]),
        ("  post-death strong, dead: a register dated the death too early", _STRONG_AFTER_EARLY_DEATH,
         ["activity_after_death", "register_disagreement"]),
        ("post-death weak activity (after a reported death)", _WEAK_AFTER_REPORTED_DEATH,
         ["weak_activity_after_death", "activity_after_death", "shared_identifier_ring"]),
        ("ring members", _RING_MEMBERS, ["shared_identifier_ring"]),
    )
    figures = []
    for label, members, kinds in cases:
        num, den = sql.one(con, "flagged_members", sql.compose(_FLAGGED_MEMBERS, members=members), {"kinds": kinds})
        missed = _ids(con, "unflagged_members", sql.compose(_UNFLAGGED_MEMBERS, members=members), limit,
                      {"kinds": kinds})
        target = "" if label.startswith("  ") else ">= 0.99"
        figures.append(_ratio("deathcheck", f"flag recall: {label}".replace("flag recall:   ", "  "), num, den,
                              target, missed))
    return figures


# a second account of a ring member (the generator's duplicates) is that member
_RING_FLAGGED = """SELECT DISTINCT coalesce(d.person_id, f.person_id) AS person_id FROM flags f
                   LEFT JOIN duplicates d ON d.duplicate_person_id = f.person_id
                   WHERE kind = 'shared_identifier_ring'"""
_FALSE_RING_MEMBERS = sql.compose("""
SELECT count(*) FILTER (WHERE person_id NOT IN (SELECT person_id FROM rings)), count(*) FROM ({flagged})
""", flagged=_RING_FLAGGED)
_FALSE_RING_MEMBER_ROWS = sql.compose("""
SELECT f.person_id || ' couple=' || coalesce(p.couple_id, '-') || ' alive=' || p.alive
FROM ({flagged}) f JOIN persons p USING (person_id)
WHERE f.person_id NOT IN (SELECT person_id FROM rings)
""", flagged=_RING_FLAGGED)


def _rings(con, limit: int) -> list[Figure]:
    false_n, n = sql.one(con, "false_ring_members", _FALSE_RING_MEMBERS)
    ex = _ids(con, "false_ring_member_rows", _FALSE_RING_MEMBER_ROWS, limit)
    value = None if not n else 1000 * false_n / n
    return [Figure("deathcheck", "false ring members per 1,000 flagged", value, "<= 1", false_n, n, ex)]


# ---------------------------------------------------------------- reconciliation

_SOURCE_BALANCE = """
WITH truth_n AS (SELECT source, count(*) AS input_rows FROM truth GROUP BY source),
     linked AS (SELECT source, count(*) FILTER (WHERE person_id IS NOT NULL) AS linked,
                       count(*) FILTER (WHERE person_id IS NULL) AS unlinked FROM out_links GROUP BY source),
     rejected AS (SELECT source, count(*) AS rejected FROM out_rejects GROUP BY source)
SELECT source, input_rows, coalesce(linked, 0), coalesce(unlinked, 0), coalesce(rejected, 0)
FROM truth_n LEFT JOIN linked USING (source) LEFT JOIN rejected USING (source) ORDER BY source
"""
_VERDICT_BALANCE = """SELECT (SELECT count(*) FROM persons) + (SELECT count(*) FROM duplicates), count(*),
                             count(DISTINCT person_id) FROM verdicts"""
_UNMATCHED = "SELECT count(*) FROM scored WHERE NOT rejected AND NOT in_links"
_UNMATCHED_ROWS = "SELECT source || ':' || record_id || ' row ' || row FROM scored WHERE NOT rejected AND NOT in_links"


def reconciliation(con, limit: int) -> list[Figure]:
    figures = []
    rows = sql.fetchall(con, "source_balance", _SOURCE_BALANCE)
    for source, inputs, linked, unlinked, rejected in rows:
        diff = inputs - (linked + unlinked + rejected)
        figures.append(Figure("reconciliation",
                              f"{source}: {inputs} = {linked} linked + {unlinked} unlinked + {rejected} rejected",
                              float(diff), "== 0", diff, inputs))
    persons, verdicts, distinct = sql.one(con, "verdict_balance", _VERDICT_BALANCE)
    figures.append(Figure("reconciliation", f"verdicts: {verdicts} rows, {distinct} persons, registry {persons}",
                          float(abs(verdicts - persons) + abs(distinct - persons)), "== 0"))
    unmatched = sql.scalar(con, "unmatched", _UNMATCHED)
    ex = _ids(con, "unmatched_rows", _UNMATCHED_ROWS, limit)
    figures.append(Figure("reconciliation", "truth rows found in neither links.csv nor rejects.csv",
                          float(unmatched), "== 0", unmatched, None, ex))
    return figures


# ---------------------------------------------------------------- output

def score(out: Path, round_dir: Path, limit: int = 5) -> list[Figure]:
    con = duckdb.connect()
    load(con, out, round_dir)
    row = sql.fetchone(con, "world_knobs", _WORLD_KNOBS)
    knobs = json.dumps(json.loads(row[0]), sort_keys=True) if row else None
    world = [Figure("world", f"generated with {knobs}", None, "")] if knobs else []
    return (world + linkage(con, limit) + liveness(con, limit) + deathcheck(con, limit)
            + duplicate_accounts(con, limit) + reconciliation(con, limit))


def _fmt(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.6f}".rstrip("0").rstrip(".") if value != int(value) or abs(value) < 1 else f"{value:,.0f}"


def print_table(figures: list[Figure], examples: bool) -> None:
    width = max(len(f.name) for f in figures)
    group = None
    for f in figures:
        if f.group != group:
            group = f.group
            print(f"\n## {group}")
        counts = f"{f.numerator}/{f.denominator}" if f.denominator else ""
        print(f"{f.name:<{width}}  {_fmt(f.value):>10}  {counts:>17}  {f.target:>10}  {f.verdict}")
        if examples and f.examples and f.verdict in ("FAIL", "info"):
            for e in f.examples:
                print(f"{'':<6}e.g. {e}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="round output directory")
    parser.add_argument("round_dir", type=Path, help="generated round directory with truth/")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument("--examples", type=int, default=5, help="example rows/persons listed per failing figure")
    args = parser.parse_args(argv)
    figures = score(args.out, args.round_dir, args.examples)
    if args.json:
        print(json.dumps([asdict(f) | {"verdict": f.verdict} for f in figures], ensure_ascii=False, indent=1))
    else:
        print_table(figures, examples=args.examples > 0)
        failed = sum(f.verdict == "FAIL" for f in figures)
        print(f"\n{failed} figure(s) FAIL")
    return 1 if any(f.verdict == "FAIL" for f in figures) else 0


if __name__ == "__main__":
    sys.exit(main())
