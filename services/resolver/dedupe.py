"""Duplicate accounts: one person registered twice, in this registry or in another scheme's.

The registry (and, read-only, any further registries the round names: ``other_registries``) is deduplicated with
Splink's ``dedupe_only`` on the comparisons the linkage uses (``model.comparisons``), over the columns that
describe a person: the ID number (with its 15-digit legacy form already upgraded by the normaliser, and the
cleaned characters of an ID that failed validation, so a mistyped ID is one edit away), the name and its pinyin,
birth date, sex and phone. ``county_code`` and ``card_no`` are left out: they describe an *account* (where it was
opened, where it is paid), and a second account differs in them by construction.

Blocking reaches pairs with the same normalised ID, an ID one edit away (the ID-part rules of ``blocking.py``)
and the same name pinyin and birth date. Pairs between two other registries are not looked at: their
duplicates are another agency's business. u is estimated by random sampling on the accounts themselves, m stays
at the model's priors (a registry holds too few duplicates for EM), the prior match probability is estimated from
the pairs that share an ID number or name and birth date (``_linker``). A pair is kept at ``review_floor`` and
banded by the linkage's own ``auto_threshold`` / ``review_floor``.

Writes ``duplicate_pairs(person_id, other_person_id, other_registry, match_probability, band, open)``:
``other_registry`` is NULL for two accounts of this registry (then ``person_id < other_person_id``) and the other
registry's name otherwise (``other_person_id`` is that registry's person_id). ``open`` is false once a reviewer
dismissed a flag of the pair (``decided_flags``, when the round loaded them: two people), found by the ids the
deathcheck gives its ``duplicate_account`` flags (the ``duplicate_flag_id`` macro of ``services/deathcheck/duplicates``).
"""

from __future__ import annotations

import time
from typing import Any

import duckdb
from splink import Linker, SettingsCreator, block_on
from splink.blocking_rule_library import And, CustomRule

from silentcert.graph import sql
from silentcert.services.deathcheck.duplicates import create_flag_id_macro
from silentcert.services.resolver import model
from silentcert.services.resolver.engines import LinkageEngine
from silentcert.services.resolver.probabilistic import registry_linkage_sql
from silentcert.services.resolver.settings import LinkageSettings

#: The person's columns (module docstring: why not county_code and card_no).
PERSON_COLUMNS = ("id_number", "id_valid", "name", "name_pinyin", "birth_date", "sex", "phone")

#: Same ID, an ID one edit away (one part of the 18 characters intact), same name pinyin and birth date.
BLOCKING = ("id_number", "id_head", "id_seq", "id_day", "id_tail", "id_ends", "name_pinyin+birth_date")

PAIRS_TABLE = """
    CREATE OR REPLACE TABLE duplicate_pairs (
        person_id VARCHAR NOT NULL, other_person_id VARCHAR NOT NULL, other_registry VARCHAR,
        match_probability DOUBLE NOT NULL, band VARCHAR NOT NULL, open BOOLEAN NOT NULL DEFAULT true)
"""


# Every account as the model sees it ({registry}: probabilistic.registry_linkage_sql), home true for this
# registry's rows; _WITH_OTHERS adds the other registries' ({others}: the same over other_registries).
_HOME = """
SELECT NULL::VARCHAR AS registry, true AS home, person_id, id_number, id_valid, name, name_pinyin, birth_date, sex,
       phone
FROM ({registry})
"""
_WITH_OTHERS = """
SELECT NULL::VARCHAR AS registry, true AS home, person_id, id_number, id_valid, name, name_pinyin, birth_date, sex,
       phone
FROM ({registry})
UNION ALL
SELECT registry, false, person_id, id_number, id_valid, name, name_pinyin, birth_date, sex, phone FROM ({others})
"""
_ACCOUNTS = """
CREATE OR REPLACE TEMP TABLE dedupe_accounts AS
SELECT row_number() OVER (ORDER BY home DESC, registry, person_id) AS unique_id, * FROM ({accounts})
"""
_COUNT_ACCOUNTS = "SELECT count(*) FROM dedupe_accounts"
_ACCOUNTS_ARROW = "SELECT * EXCLUDE (person_id, registry) FROM dedupe_accounts ORDER BY unique_id"
_DROP_ACCOUNTS = "DROP TABLE IF EXISTS dedupe_accounts"
_PAIR_COUNTS = """
SELECT coalesce(other_registry, 'registry'), band, count(*) FROM duplicate_pairs GROUP BY ALL ORDER BY ALL
"""


def accounts_sql(con: duckdb.DuckDBPyConnection) -> str:
    """Every account as the model sees it, ``home`` true for this registry's rows."""
    if not sql.has_table(con, "other_registries"):
        return sql.compose(_HOME, registry=registry_linkage_sql())
    return sql.compose(_WITH_OTHERS, registry=registry_linkage_sql(),
                       others=registry_linkage_sql("other_registries", keep=("registry",)))


def find_duplicates(con: duckdb.DuckDBPyConnection, settings: LinkageSettings, engine: LinkageEngine) -> dict:
    """Write ``duplicate_pairs`` (module docstring); returns counts by band and registry."""
    sql.run(con, "duplicate_pairs_table", PAIRS_TABLE)
    sql.run(con, "dedupe_accounts", sql.compose(_ACCOUNTS, accounts=accounts_sql(con)))
    try:
        n = sql.scalar(con, "dedupe_accounts_count", _COUNT_ACCOUNTS)
        if n < 2:
            return {"accounts": n, "pairs": {}}
        accounts = engine.register(sql.arrow(con, "dedupe_accounts_arrow", _ACCOUNTS_ARROW), "accounts")
        columns = set(PERSON_COLUMNS) - _absent(con)
        started = time.perf_counter()
        linker = _linker(accounts, columns, settings, n, _exact_pairs(con))
        timing = {"train_seconds": round(time.perf_counter() - started, 2)}
        predictions = linker.inference.predict(threshold_match_probability=settings.review_floor)
        pairs = predictions.query_sql(
            "SELECT unique_id_l, unique_id_r, match_probability FROM {this}").as_pyarrow_table()
        timing["predict_seconds"] = round(time.perf_counter() - started - timing["train_seconds"], 2)
        _write_pairs(con, pairs, settings)
        _close_dismissed(con)
    finally:
        sql.run(con, "drop_dd_accounts", _DROP_ACCOUNTS)
    rows = sql.fetchall(con, "duplicate_pair_counts", _PAIR_COUNTS)
    counts: dict[str, dict[str, int]] = {}
    for registry, band, k in rows:
        counts.setdefault(registry, {})[band] = k
    return {"accounts": n, "pairs": counts, **timing}


def _linker(accounts, columns: set[str], settings: LinkageSettings, n: int, exact_pairs: int) -> Linker:
    """The dedupe model: the linkage's comparisons; u sampled from the accounts when there are enough of them
    (``min_training_records``, as the linkage), else the priors; the prior match probability estimated from the
    pairs agreeing exactly on ID or on name and birth date, or one pair in all when none does."""
    rules: list[Any] = [And(rule, CustomRule("l.home OR r.home")) for rule in model.blocking_rules(BLOCKING, columns)]
    creator = SettingsCreator(
        link_type="dedupe_only", unique_id_column_name="unique_id",
        probability_two_random_records_match=1.0 / max(1, n * (n - 1) // 2),
        blocking_rules_to_generate_predictions=rules, comparisons=model.comparisons(columns),
        additional_columns_to_retain=["home"], retain_intermediate_calculation_columns=False,
        retain_matching_columns=False)
    linker = Linker(accounts, creator)
    if n >= settings.min_training_records:
        model.estimate_u(linker, settings.u_max_pairs, settings.seed)
        if "id_number" in columns:
            linker = Linker(accounts, model.floor_id_near_miss_u(linker.misc.save_model_to_json()), **model.REBUILT)
    if exact_pairs:
        linker.training.estimate_probability_two_random_records_match(
            [block_on("id_number"), block_on("name_pinyin", "birth_date")], recall=0.8)
    return linker


def _exact_pairs(con: duckdb.DuckDBPyConnection) -> int:
    """Pairs of accounts with the same ID number or the same name pinyin and birth date."""
    return sql.scalar(con, "dedupe_exact_pairs", _EXACT_PAIRS)


_EXACT_PAIRS = """
        SELECT count(*) FROM (
            SELECT a.unique_id, b.unique_id FROM dedupe_accounts a JOIN dedupe_accounts b USING (id_number)
            WHERE a.unique_id < b.unique_id AND (a.home OR b.home)
            UNION
            SELECT a.unique_id, b.unique_id FROM dedupe_accounts a JOIN dedupe_accounts b USING (name_pinyin, birth_date)
            WHERE a.unique_id < b.unique_id AND (a.home OR b.home))
"""


def _write_pairs(con: duckdb.DuckDBPyConnection, pairs, settings: LinkageSettings) -> None:
    con.register("dedupe_pairs", pairs)
    try:
        sql.run(con, "duplicate_pairs", _WRITE_PAIRS, {"auto": settings.auto_threshold})
    finally:
        con.unregister("dedupe_pairs")


_WRITE_PAIRS = """
            INSERT INTO duplicate_pairs
            WITH p AS (
                SELECT CASE WHEN a.home AND (NOT b.home OR a.person_id < b.person_id) THEN a ELSE b END AS x,
                       CASE WHEN a.home AND (NOT b.home OR a.person_id < b.person_id) THEN b ELSE a END AS y,
                       d.match_probability
                FROM dedupe_pairs d JOIN dedupe_accounts a ON a.unique_id = d.unique_id_l
                JOIN dedupe_accounts b ON b.unique_id = d.unique_id_r)
            SELECT x.person_id, y.person_id, y.registry, match_probability,
                   CASE WHEN match_probability >= $auto THEN 'auto' ELSE 'review' END, true
            FROM p ORDER BY 1, 3 NULLS FIRST, 2
"""

# each side's flag of the pair: deathcheck.duplicates' duplicate_flag_id macro
_CLOSE_DISMISSED = """
        UPDATE duplicate_pairs p SET open = false
        WHERE EXISTS (SELECT 1 FROM decided_flags d WHERE d.status = 'dismissed'
                      AND (d.flag_id = duplicate_flag_id(p.person_id, p.other_registry, p.other_person_id)
                           OR (p.other_registry IS NULL
                               AND d.flag_id = duplicate_flag_id(p.other_person_id, NULL, p.person_id))))
"""


def _close_dismissed(con: duckdb.DuckDBPyConnection) -> None:
    """A pair a reviewer found to be two people (a flag of it dismissed) is not open."""
    if not sql.has_table(con, "decided_flags"):
        return
    create_flag_id_macro(con)
    sql.run(con, "close_dismissed_pairs", _CLOSE_DISMISSED)


_FILLED = """
SELECT count(id_number), count(name), count(birth_date), count(sex), count(phone), coalesce(bool_or(id_valid), false)
FROM dedupe_accounts
"""


def _absent(con: duckdb.DuckDBPyConnection) -> set[str]:
    """Columns no account fills (a comparison on them would only add noise to u)."""
    filled = sql.fetchall(con, "dedupe_filled_columns", _FILLED)[0]
    names = ("id_number", "name", "birth_date", "sex", "phone")
    absent = {c for c, k in zip(names, filled[:5]) if not k}
    if "name" in absent:
        absent.add("name_pinyin")
    return absent | (set() if filled[5] else {"id_valid"})


def merge_pair_candidates(con: duckdb.DuckDBPyConnection, settings: LinkageSettings) -> int:
    """Evidence is not split by a duplicate: the candidates of a record among the accounts of one open auto-band
    pair are scored as one person's. A split probability (an ID or phone held by k accounts, 1/k each) is summed
    over the pair, and is no longer shared when the pair holds every holder; Splink's, scored per account, is the
    pair's best. Every account of the pair keeps the candidate (the link goes to one of them; the deathcheck gives
    the other the verdict). Returns the number of candidates changed."""
    sql.run(con, "dedupe_group", _GROUP)
    try:
        sql.run(con, "dedupe_merged", _MERGED, {"cap": float(settings.shared_identifier_cap)})
        sql.run(con, "merge_pair_candidates", _MERGE_CANDIDATES)
        return sql.scalar(con, "merged_candidates", _MERGED_COUNT)
    finally:
        sql.run(con, "drop_dd_group", _DROP_GROUP)


_GROUP = """
        CREATE OR REPLACE TEMP TABLE dedupe_groups AS
        WITH edges AS (
            SELECT person_id, other_person_id FROM duplicate_pairs
            WHERE open AND band = 'auto' AND other_registry IS NULL)
        SELECT person_id, min(grp) AS grp FROM (
            SELECT person_id, person_id AS grp FROM edges UNION ALL
            SELECT other_person_id, person_id FROM edges) GROUP BY person_id
"""
_MERGED = """
            CREATE OR REPLACE TEMP TABLE dedupe_merged AS
            WITH touched AS (  -- only the records with a candidate in a pair, not every candidate of the round
                SELECT DISTINCT rid FROM link_candidates JOIN dedupe_groups USING (person_id)),
            c AS (
                SELECT c.*, g.grp, count(*) OVER (PARTITION BY c.rid) AS holders
                FROM link_candidates c LEFT JOIN dedupe_groups g USING (person_id)
                WHERE c.rid IN (SELECT rid FROM touched)),
            per_group AS (
                SELECT rid, grp, any_value(holders) > count(*) AS still_shared,
                       CASE WHEN bool_or(shared) THEN sum(match_probability)
                            ELSE max(match_probability) END AS p
                FROM c WHERE grp IS NOT NULL GROUP BY rid, grp HAVING count(*) > 1)
            SELECT rid, grp, least(p, CASE WHEN still_shared THEN $cap ELSE 1.0 END) AS p, still_shared
            FROM per_group
"""
_MERGE_CANDIDATES = """
            UPDATE link_candidates c SET match_probability = m.p, shared = m.still_shared
            FROM dedupe_merged m, dedupe_groups g
            WHERE c.rid = m.rid AND g.person_id = c.person_id AND g.grp = m.grp
"""
_MERGED_COUNT = """
SELECT coalesce(sum(1), 0) FROM link_candidates c JOIN dedupe_groups g USING (person_id)
JOIN dedupe_merged m ON m.rid = c.rid AND m.grp = g.grp
"""
_DROP_GROUP = "DROP TABLE IF EXISTS dedupe_groups; DROP TABLE IF EXISTS dedupe_merged"
