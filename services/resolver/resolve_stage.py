"""The resolve stage: link every ``records`` row to at most one ``registry`` person.

Passes, each set-wise in SQL, each only over records the earlier ones left open:

1. ``direct``        — face / in-person records naming a registry person_id;
2. ``deterministic`` — a valid ID number held in the registry, birth date and sex not contradicting;
3. ``splink``        — the Splink model for records carrying name, birth date or ID fields;
4. ``identifier``    — phone/card-only records, through the identifier graph;

then the registry's duplicate accounts (``dedupe.py``: ``duplicate_pairs``), whose open pairs' candidates are
scored as one person's, so a duplicate does not split its evidence.

Writes ``link_candidates``, ``identifiers``, ``duplicate_pairs`` and ``links`` (one row per record). The caller
owns the transaction (the round pipeline wraps the stage in one).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path

import duckdb

from silentcert.graph import sql
from silentcert.services.resolver import dedupe, deterministic, identifier_graph, probabilistic
from silentcert.services.resolver.engines import LinkageEngine, engine_for
from silentcert.services.resolver.settings import LinkageSettings

Progress = Callable[[str, dict], None]

_SPILL = "SELECT current_setting('temp_directory')"
_DROP_SCRATCH = "DROP TABLE IF EXISTS linkage_registry; DROP TABLE IF EXISTS linkage_pending; DROP TABLE IF EXISTS linkage_known_matches"
_CANDIDATES = """
        CREATE OR REPLACE TABLE link_candidates (
            rid BIGINT NOT NULL, person_id VARCHAR NOT NULL, match_probability DOUBLE NOT NULL,
            method VARCHAR NOT NULL, shared BOOLEAN NOT NULL
        )
"""
# A record's best candidate: among equally probable ones the more direct evidence wins, then the lower person_id,
# so reruns give the same links.
_BEST = """
        SELECT * FROM link_candidates
        QUALIFY row_number() OVER (
            PARTITION BY rid ORDER BY match_probability DESC,
            CASE method WHEN 'direct' THEN 0 WHEN 'deterministic' THEN 1 WHEN 'splink' THEN 2 ELSE 3 END,
            person_id) = 1
"""
_CONFIDENT = """
        CREATE OR REPLACE TEMP TABLE linkage_confident AS
        SELECT rid, person_id FROM ({best})
        WHERE match_probability >= $auto AND NOT shared
"""
_DROP_CONFIDENT = "DROP TABLE IF EXISTS linkage_confident"
_LINKS = """
        CREATE OR REPLACE TABLE links AS
        WITH best AS ({best}),
        banded AS (
            SELECT r.rid, r.source, r.record_id, b.person_id, b.match_probability, b.method,
                   CASE WHEN b.match_probability >= $auto THEN 'auto'
                        WHEN b.match_probability >= $floor THEN 'review'
                        ELSE 'none' END AS band
            FROM records r LEFT JOIN best b USING (rid)
        )
        SELECT rid, source, record_id,
               CASE WHEN band = 'none' THEN NULL ELSE person_id END AS person_id,
               coalesce(match_probability, 0.0) AS match_probability, method, band
        FROM banded
"""
_BANDS = "SELECT band, count(*) FROM links GROUP BY band ORDER BY band"


def _spill_directory(con: duckdb.DuckDBPyConnection) -> str | None:
    """Where Splink's own DuckDB spills: next to the round database's spill, when that has one."""
    spill = sql.scalar(con, "spill_directory", _SPILL)
    return str(Path(spill) / "linkage") if spill and spill != ".tmp" else None


@dataclass(frozen=True)
class LinkMemory:
    """How a round shares its memory with Splink: Splink's own DuckDB is bounded to `engine`, and the working
    database to `working_while_linking` while Splink's passes run (then back to `working`)."""

    engine: str
    working_while_linking: str
    working: str


def link_round(
    con: duckdb.DuckDBPyConnection,
    settings: LinkageSettings,
    progress: Progress | None = None,
    *,
    engine: LinkageEngine | None = None,
    memory: LinkMemory | None = None,
) -> dict:
    """Run the linkage passes over ``registry``/``records`` in ``con``; returns the stage stats. Without `memory`,
    Splink's DuckDB is bounded to 2GB and the working database keeps its own bound throughout."""
    report = progress or (lambda step, stats: None)
    own_engine = engine is None
    engine = engine or engine_for(settings.engine, spark_master=settings.spark_master,
                                  memory_limit=memory.engine if memory else "2GB",
                                  temp_directory=_spill_directory(con))
    shared = (sql.memory_limit(con, "linking_memory_limit", memory.working_while_linking, restore=memory.working)
              if memory else nullcontext())
    stats: dict = {}
    started = time.perf_counter()
    try:
        _create_candidates(con)
        stats["direct"] = deterministic.direct_candidates(con)
        stats["deterministic"] = deterministic.id_number_candidates(con)
        report("deterministic", dict(stats))
        with shared:  # Splink's DuckDB fills up while it links, and the duplicate search links again
            stats["splink"] = probabilistic.splink_candidates(con, settings, engine)
            report("splink", stats["splink"])
            stats["identifiers"] = _identifier_pass(con, settings)
            report("identifiers", stats["identifiers"])
            stats["duplicates"] = dedupe.find_duplicates(con, settings, engine)
            if own_engine:  # its memory back before the working database has its whole bound again
                engine.close()
                own_engine = False
        stats["duplicates"]["candidates_merged"] = dedupe.merge_pair_candidates(con, settings)
        stats["links"] = write_links(con, settings)
    finally:
        if own_engine:
            engine.close()
        sql.run(con, "drop_linkage_scratch", _DROP_SCRATCH)
    stats["seconds"] = round(time.perf_counter() - started, 2)
    report("links", stats["links"])
    return stats


def _create_candidates(con: duckdb.DuckDBPyConnection) -> None:
    sql.run(con, "link_candidates_table", _CANDIDATES)


def _identifier_pass(con: duckdb.DuckDBPyConnection, settings: LinkageSettings) -> dict:
    """Identifiers from the registry and confident links, then phone/card-only candidates."""
    sql.run(con, "linkage_confident", sql.compose(_CONFIDENT, best=_BEST), {"auto": float(settings.auto_threshold)})
    try:
        held = identifier_graph.build_identifiers(con, "linkage_confident")
    finally:
        sql.run(con, "drop_lk_confident", _DROP_CONFIDENT)
    return {"identifiers": held, "candidates": identifier_graph.identifier_candidates(con, settings)}


def write_links(con: duckdb.DuckDBPyConnection, settings: LinkageSettings) -> dict:
    """``links``: exactly one row per record — its best candidate, banded by the thresholds."""
    sql.run(con, "links", sql.compose(_LINKS, best=_BEST),
            {"auto": float(settings.auto_threshold), "floor": float(settings.review_floor)})
    rows = sql.fetchall(con, "link_bands", _BANDS)
    return {band: n for band, n in rows}
