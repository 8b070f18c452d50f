"""The Splink pass: records no deterministic rule settled, scored against the registry."""

from __future__ import annotations

import logging
import math
import time
from typing import Any

import duckdb
from splink import Linker, block_on

from silentcert.graph import sql
from silentcert.services.resolver import model
from silentcert.services.resolver.blocking import NEAR_COLUMNS
from silentcert.services.resolver.engines import LinkageEngine
from silentcert.services.resolver.id_numbers import fails_check_sql, neighbours_sql
from silentcert.services.resolver.names import build_name_keys
from silentcert.services.resolver.settings import LinkageSettings

log = logging.getLogger(__name__)

# The registry (or {table} of its columns) as the model sees it: unique_id = rank of person_id (1-based), {keep}:
# person_id and any further columns (dedupe.py: the name of another registry). A typo'd ID usually fails its check
# digit, so the normaliser leaves id_number NULL; the model still compares the cleaned raw digits, which is how a
# typo is recognised. id_valid: the ID passed validation (the validated column holds a resident ID), so the model's
# "both valid, different" level can tell two people apart from a typo. A non-resident identifier mapped onto
# id_number (FEBRL's social security number) is not 18 characters and counts as unvalidated.
_REGISTRY_LINKAGE = """
        WITH c AS (SELECT *, upper(regexp_replace(translate(coalesce(g.id_number_raw, ''),
                       '０１２３４５６７８９ｘＸ', '0123456789XX'), '[^0-9Xx]', '', 'g')) AS cleaned FROM {table} g)
        SELECT row_number() OVER (ORDER BY person_id) AS unique_id, {keep},
               coalesce(c.id_number, CASE WHEN length(cleaned) BETWEEN 16 AND 19 THEN cleaned END) AS id_number,
               coalesce(regexp_full_match(c.id_number, '[0-9]{17}[0-9X]'), false) AS id_valid,
               name, name_pinyin, sex, birth_date, phone, county_code, card_no
        FROM c
"""

# The records still without a candidate, as the model sees them (the same columns as _REGISTRY_LINKAGE), leaving
# out those with a phone or card and nothing else that identifies (identifier_graph links them).
_PENDING = """
        CREATE OR REPLACE TEMP TABLE linkage_pending AS
        WITH c AS (
            SELECT *, upper(regexp_replace(translate(coalesce(r.id_number_raw, ''),
                       '０１２３４５６７８９ｘＸ', '0123456789XX'), '[^0-9Xx]', '', 'g')) AS cleaned FROM records r
            WHERE NOT EXISTS (SELECT 1 FROM link_candidates l WHERE l.rid = r.rid)
              AND NOT (r.id_number IS NULL AND r.id_number_raw IS NULL AND r.name IS NULL AND r.birth_date IS NULL
                       AND (r.phone IS NOT NULL OR r.card_no IS NOT NULL))
              AND (r.id_number IS NOT NULL OR r.id_number_raw IS NOT NULL
                   OR r.name IS NOT NULL OR r.birth_date IS NOT NULL)
        )
        SELECT rid AS unique_id,
               coalesce(c.id_number, CASE WHEN length(cleaned) BETWEEN 16 AND 19 THEN cleaned END) AS id_number,
               coalesce(regexp_full_match(c.id_number, '[0-9]{17}[0-9X]'), false) AS id_valid,
               name, name_pinyin, sex, birth_date, phone, county_code, card_no
        FROM c
"""
_COLUMNS = ("name", "name_pinyin", "sex", "birth_date", "phone", "county_code", "card_no")

_LK_REGISTRY = "CREATE OR REPLACE TEMP TABLE linkage_registry AS {registry}"
# Known matches the model measures m on (_linker): up to $limit of the round's deterministic links, in a fixed
# pseudo-random order. Their records' names get name keys with the others' (_NAMES), once per distinct name.
_KNOWN = """
CREATE OR REPLACE TEMP TABLE linkage_known_matches AS
SELECT g.name AS g_name, g.name_pinyin AS g_name_pinyin, g.phone AS g_phone, g.card_no AS g_card_no,
       g.county_code AS g_county_code,
       r.name AS r_name, r.name_pinyin AS r_name_pinyin, r.phone AS r_phone, r.card_no AS r_card_no,
       r.county_code AS r_county_code
FROM (SELECT rid, person_id FROM link_candidates WHERE method = 'deterministic' AND NOT shared
      ORDER BY hash(rid + $seed) LIMIT $limit) t
JOIN records r USING (rid) JOIN registry g ON g.person_id = t.person_id
"""
_NAMES = """
CREATE OR REPLACE TEMP VIEW linkage_names AS
SELECT name, name_pinyin FROM linkage_registry UNION SELECT name, name_pinyin FROM linkage_pending
UNION SELECT r_name, r_name_pinyin FROM linkage_known_matches
"""
# the near IDs (blocking.NEAR_COLUMNS) and name keys (model.NAME_KEYS) joined on
_WITH_KEYS = """
        CREATE OR REPLACE TEMP TABLE linkage_pending AS
        SELECT p.*, n.* EXCLUDE (rid), k.* EXCLUDE (name, name_pinyin)
        FROM linkage_pending p LEFT JOIN linkage_id_neighbours n ON n.rid = p.unique_id
        LEFT JOIN linkage_name_keys k ON k.name_pinyin = p.name_pinyin AND k.name IS NOT DISTINCT FROM p.name;
        CREATE OR REPLACE TEMP TABLE linkage_registry AS
        SELECT g.*, k.* EXCLUDE (name, name_pinyin) FROM linkage_registry g
        LEFT JOIN linkage_name_keys k ON k.name_pinyin = g.name_pinyin AND k.name IS NOT DISTINCT FROM g.name;
        CREATE OR REPLACE TEMP TABLE linkage_known_matches AS
        SELECT t.*, kg.name_syllables AS g_name_syllables, kg.name_initials AS g_name_initials,
               kr.name_syllables AS r_name_syllables, kr.name_initials AS r_name_initials
        FROM linkage_known_matches t
        LEFT JOIN linkage_name_keys kg ON kg.name_pinyin = t.g_name_pinyin AND kg.name IS NOT DISTINCT FROM t.g_name
        LEFT JOIN linkage_name_keys kr ON kr.name_pinyin = t.r_name_pinyin AND kr.name IS NOT DISTINCT FROM t.r_name;
        DROP TABLE linkage_id_neighbours; DROP TABLE linkage_name_keys; DROP VIEW linkage_names;
"""


def registry_linkage_sql(table: str = "registry", keep: tuple[str, ...] = ()) -> str:
    """The SELECT of :data:`_REGISTRY_LINKAGE` over ``table``, keeping person_id and the columns ``keep``."""
    return sql.with_idents(_REGISTRY_LINKAGE, table=table, keep=["person_id", *keep])


# (rid, id_near, id_near_2): for a pending record whose ID fails its check, the registry's valid IDs one
# substitution or adjacent transposition away ({neighbours}: id_numbers.neighbours_sql, joined on the ID index)
_NEAR_IDS = """
        CREATE OR REPLACE TEMP TABLE linkage_id_neighbours AS
        WITH failing AS (SELECT unique_id AS rid, id_number AS v FROM linkage_pending WHERE NOT id_valid),
        held AS (SELECT DISTINCT id_number FROM linkage_registry WHERE id_valid)
        SELECT rid, near[1] AS id_near, near[2] AS id_near_2 FROM (
            SELECT n.rid, list(n.near ORDER BY n.near) AS near
            FROM ({neighbours}) n JOIN held h ON h.id_number = n.near GROUP BY n.rid)
"""
assert NEAR_COLUMNS == ("id_near", "id_near_2"), "_NEAR_IDS names the near columns"


def _near_ids(con: duckdb.DuckDBPyConnection) -> None:
    """``linkage_id_neighbours(rid, id_near, id_near_2)`` (:data:`_NEAR_IDS`)."""
    sql.run(con, "linkage_near", sql.compose(_NEAR_IDS, neighbours=neighbours_sql("failing")))


def prepare_tables(con: duckdb.DuckDBPyConnection, known: int = 0, seed: int = 0) -> tuple[int, int]:
    """Make ``linkage_registry`` and ``linkage_pending`` (records still without a candidate), and ``linkage_known_matches``: up to
    ``known`` deterministic links (registry and record columns of ``_KNOWN_PAIR``, ``seed`` picks them)."""
    sql.run(con, "linkage_registry", sql.compose(_LK_REGISTRY, registry=registry_linkage_sql()))
    sql.run(con, "linkage_pending", _PENDING)
    sql.run(con, "linkage_known", _KNOWN, {"seed": seed, "limit": known})
    _near_ids(con)
    sql.run(con, "linkage_names", _NAMES)
    build_name_keys(con, "linkage_names", "linkage_name_keys")
    sql.run(con, "linkage_name_keys", _WITH_KEYS)
    return _count(con, "linkage_registry"), _count(con, "linkage_pending")


def splink_candidates(
    con: duckdb.DuckDBPyConnection, settings: LinkageSettings, engine: LinkageEngine
) -> dict:
    """Score pending records against the registry with Splink; insert candidates ≥ the floor."""
    known = int(settings.u_max_pairs // 10) if settings.model_path is None else 0
    n_registry, n_pending = prepare_tables(con, known, settings.seed)
    stats: dict[str, Any] = {"pending": n_pending, "model": None, "candidates": 0}
    if n_pending == 0 or n_registry == 0:
        return stats
    columns = _model_columns(con)
    started = time.perf_counter()
    registry = engine.register(_linkage_arrow(con, "linkage_registry"), "registry")
    pending = engine.register(_linkage_arrow(con, "linkage_pending"), "records")
    linker, stats["model"] = _linker(con, registry, pending, columns, settings, n_registry, n_pending)
    stats["train_seconds"] = round(time.perf_counter() - started, 2)
    # Chunks of the pending side: the blocked pairs of all pending records at once outgrow memory and disk at
    # province size, while a 1M round's stay one chunk (docs/benchmarks.md, "Whole round, embedded store").
    chunks = max(1, math.ceil(n_pending / settings.predict_chunk_records))
    predictions = linker.inference.predict(threshold_match_probability=settings.candidate_floor,
                                           num_chunks_left=1, num_chunks_right=chunks)
    stats["predict_chunks"] = chunks
    pairs = predictions.query_sql(
        "SELECT CASE WHEN source_dataset_l = 'registry' THEN unique_id_l ELSE unique_id_r END AS pidx, "
        "CASE WHEN source_dataset_l = 'registry' THEN unique_id_r ELSE unique_id_l END AS rid, "
        "match_probability FROM {this}"
    ).as_pyarrow_table()
    stats["candidates"] = _insert_pairs(con, pairs)
    stats["predict_seconds"] = round(time.perf_counter() - started - stats["train_seconds"], 2)
    if settings.save_model_path is not None:
        model.save_model(model.model_document(linker, columns, stats["model"]), settings.save_model_path)
    return stats


def _linker(con, registry, pending, columns, settings, n_registry, n_pending) -> tuple[Linker, dict]:
    """A Linker from the saved model, or trained on the round, or (small rounds) the priors."""
    if settings.model_path is not None:
        document = model.load_model(settings.model_path)
        # Blocking is how this round finds candidates, not a parameter of the model: the round's rules apply (a
        # model saved before the ID blocking was narrowed would otherwise bring back its wide blocks).
        reused = {**document["splink"],
                  "blocking_rules_to_generate_predictions": model.blocking_rules(settings.blocking, columns)}
        return Linker([registry, pending], reused), {"source": str(settings.model_path)}
    prior = model.prior_match_probability(n_registry)
    linker = Linker([registry, pending], model.build_settings(columns, settings.blocking, prior))
    if n_pending < settings.min_training_records:
        return linker, {"source": "prior", "reason": f"{n_pending} records < {settings.min_training_records}"}
    slip_u = one_slip_u(con, n_registry) if NEAR_COLUMNS[0] in columns else None
    plan = model.TrainingPlan(settings.u_max_pairs, settings.em_max_pairs, settings.seed, slip_u)
    linker.training.estimate_probability_two_random_records_match(
        [block_on("name_pinyin", "birth_date"), block_on("id_number")], recall=0.8
    )
    linker, trained = model.train(linker, [registry, pending], columns, plan)
    pairs = _true_pairs(con)
    if pairs:
        document = linker.misc.save_model_to_json()
        for comparison in model.MEASURED_M:
            document = model.m_from_true_pairs(document, pairs, comparison)
        linker = Linker([registry, pending], document, **model.REBUILT)
    return linker, {"source": "trained", **trained, "one_slip_u": slip_u, "m_true_pairs": len(pairs)}


_ONE_SLIP = """
SELECT count(*), sum((id_near IS NOT NULL)::INT + (id_near_2 IS NOT NULL)::INT)
FROM linkage_pending WHERE NOT id_valid AND {fails_check}
"""


def one_slip_u(con: duckdb.DuckDBPyConnection, n_registry: int) -> float | None:
    """u of "one slip away": registry IDs found among the neighbourhoods of the pending records' failing IDs, per
    failing ID, over the registry's size — an upper bound, since the holder the ID was meant for counts as a chance
    agreement too. None without failing IDs (the model's floor stays)."""
    failing, found = sql.one(con, "one_slip_u", sql.compose(_ONE_SLIP, fails_check=fails_check_sql("id_number")))
    if not failing or not found:
        return None
    return found / failing / max(n_registry, 1)


#: The columns of a known match each side has in ``linkage_known_matches`` (``g_`` the registry's, ``r_`` the record's).
_KNOWN_PAIR = ("name", "name_pinyin", "phone", "card_no", "county_code", *model.NAME_KEYS)
_TRUE_PAIRS = "SELECT {registry}, {record} FROM linkage_known_matches"
_HAS_VALID = "SELECT coalesce(bool_or(id_valid), false) FROM linkage_registry"
_LINKAGE_PENDING = """
SELECT unique_id, id_number, id_valid, {columns} FROM linkage_pending ORDER BY unique_id
"""
_LINKAGE_REGISTRY = """
SELECT unique_id, id_number, id_valid, {columns}, CAST(NULL AS VARCHAR) AS id_near, CAST(NULL AS VARCHAR) AS id_near_2
FROM linkage_registry ORDER BY unique_id
"""
_INSERT_PAIRS = """
INSERT INTO link_candidates
SELECT p.rid, g.person_id, p.match_probability, 'splink', false
FROM linkage_pairs p JOIN linkage_registry g ON g.unique_id = p.pidx
"""
_COUNT = "SELECT count(*) FROM {table}"


def _true_pairs(con: duckdb.DuckDBPyConnection) -> list[tuple[dict, dict]]:
    """The (registry, record) rows of ``linkage_known_matches``: the columns of ``model.MEASURED_M`` and the name keys."""
    statement = sql.with_idents(_TRUE_PAIRS, registry=[f"g_{c}" for c in _KNOWN_PAIR],
                                record=[f"r_{c}" for c in _KNOWN_PAIR])
    rows = sql.fetchall(con, "true_pairs", statement)
    n = len(_KNOWN_PAIR)
    return [(dict(zip(_KNOWN_PAIR, row[:n])), dict(zip(_KNOWN_PAIR, row[n:]))) for row in rows]


def _model_columns(con: duckdb.DuckDBPyConnection) -> set[str]:
    """The model's columns; ``id_valid`` only when the registry holds resident IDs (not FEBRL's numbers)."""
    has_valid = sql.scalar(con, "linkage_has_valid_ids", _HAS_VALID)
    columns = set(model.LINK_COLUMNS) | set(model.NAME_KEYS) | set(NEAR_COLUMNS)
    return columns - (set() if has_valid else {"id_valid", *NEAR_COLUMNS})


def _linkage_arrow(con: duckdb.DuckDBPyConnection, table: str):
    # Ordered: Splink samples by position, so the same round must reach it in the same order every run.
    columns = [*_COLUMNS, *model.NAME_KEYS]
    if table == "linkage_pending":
        return sql.arrow(con, "linkage_pending_arrow", sql.with_idents(_LINKAGE_PENDING, columns=[*columns, *NEAR_COLUMNS]))
    return sql.arrow(con, "linkage_registry_arrow", sql.with_idents(_LINKAGE_REGISTRY, columns=columns))


def _insert_pairs(con: duckdb.DuckDBPyConnection, pairs) -> int:
    con.register("linkage_pairs", pairs)
    try:
        sql.run(con, "splink_candidates", _INSERT_PAIRS)
    finally:
        con.unregister("linkage_pairs")
    return len(pairs)


def _count(con: duckdb.DuckDBPyConnection, table: str) -> int:
    return sql.scalar(con, f"count{table}", sql.with_idents(_COUNT, table=table))
