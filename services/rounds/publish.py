"""The publish stage: notices, the CONTRACT section 3 files, the report, and the graph stores.

Files are written to a temporary name and renamed, so a reader never sees half a file and a rerun replaces them
with identical bytes. Store writes are idempotent merges; a publish interrupted half-way is simply run again.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path
from typing import Any

import duckdb

from silentcert.graph import sql
from silentcert.graph.query_table import QueryTable
from silentcert.graph.store import RoundExport
from silentcert.services.deathcheck.audit import appended, chain_round_events, read_round_events
from silentcert.services.liveness.notices import build_notices
from silentcert.services.liveness.periods import window_start
from silentcert.services.rounds.context import RoundContext
from silentcert.services.rounds.export_queries import EXPORT_QUERIES
from silentcert.services.rounds.payments import HELD_STATES, build_payments
from silentcert.services.rounds.report import write_report

# CONTRACT section 3: file -> (columns, the query that produces them in a stable order)
OUTPUT_FILES: dict[str, str] = {
    "verdicts.csv": """
        SELECT person_id, status, method, source, strftime(evidence_at, '%Y-%m-%d') AS evidence_at,
               round(probability, 6) AS probability, strftime(certified_until, '%Y-%m-%d') AS certified_until
        FROM verdicts ORDER BY person_id""",
    "links.csv": """
        SELECT source, record_id, person_id, round(match_probability, 6) AS match_probability
        FROM links ORDER BY source, record_id""",
    "rejects.csv": "SELECT source, record_id, line, reason FROM rejects ORDER BY source, line, record_id",
    "flags.csv": "SELECT flag_id, person_id, kind, severity, detail FROM flags ORDER BY flag_id",
    "notices.csv": """
        SELECT person_id, kind, channel, recipient, message, priority FROM notices ORDER BY person_id, kind, channel""",
    "forecast.csv": """
        SELECT person_id, strftime(certified_until, '%Y-%m-%d') AS certified_until,
               strftime(last_silent_evidence, '%Y-%m-%d') AS last_silent_evidence,
               round(lapse_probability, 6) AS lapse_probability, priority
        FROM forecast ORDER BY priority""",
    "payments.csv": """
        SELECT person_id, action, strftime(effective, '%Y-%m-%d') AS effective, months,
               printf('%.2f', amount) AS amount
        FROM payments ORDER BY person_id, action""",
}


def publish_round(ctx: RoundContext) -> dict[str, Any]:
    build_notices(ctx.con, ctx.spec.as_of, ctx.spec.round_id, ctx.settings.liveness)
    build_payments(ctx.con, ctx.spec.as_of, ctx.settings.deathcheck.payment_day)
    stats: dict[str, Any] = {}
    for name, query in OUTPUT_FILES.items():
        stats[name.removesuffix(".csv")] = write_csv(ctx.con, query, ctx.out_dir / name)
        ctx.progress.advance("publish", len(stats), len(OUTPUT_FILES) + 1 + len(ctx.stores), unit="files")
    write_report(ctx.con, ctx.spec, ctx.out_dir)
    export = round_export(ctx.con, ctx.spec.round_id, ctx.spec.as_of)
    events = read_round_events(ctx.con)
    resources = ctx.settings.resources
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="audit-chain") as chainer:
        for store in ctx.stores:
            store.apply_schema()
            # Chaining the audit entries is pure Python on one core: done on a thread while the store writes the
            # round (in DuckDB or Neo4j, without holding the GIL), not after (the publish column of
            # docs/benchmarks.md, "Whole round, embedded store").
            chained = (chainer.submit(chain_round_events, events, store.last_audit(), store.audit_key)
                       if events is not None and not appended(store, events) else None)
            name, started = type(store).__name__, time.perf_counter()
            # the working database streams the tables out under publish_memory_limit, then (on_staged) holds
            # next to nothing while the store writes what it staged
            staged = dataclasses.replace(export, on_staged=functools.partial(
                sql.set_memory_limit, ctx.con, "publish_staged_memory", _STAGED_MEMORY_LIMIT))
            with sql.memory_limit(ctx.con, "publish_memory_limit", resources.publish_memory_limit,
                                  restore=resources.memory_limit):
                written = store.publish_round(staged,
                                              progress=lambda table, rows: ctx.progress.advance("publish", rows))
                if chained is not None:
                    store.append_audit(chained.result())
                stats[name] = sum(written.values())
                stats[f"{name}_seconds"] = round(time.perf_counter() - started, 1)
                started = time.perf_counter()
                stats[f"{name}_retention"] = store.apply_retention(
                    window_start(ctx.spec.as_of, ctx.settings.liveness), HELD_STATES)
                stats[f"{name}_retention_seconds"] = round(time.perf_counter() - started, 1)
    return stats


# {query}: one of OUTPUT_FILES' queries
_COPY_CSV = """COPY ({query}) TO $path (HEADER, DELIMITER ',', QUOTE '"')"""


# The working database's bound once a store has staged the round's tables: nothing runs on it until the next
# store stages them again, so the store has its memory.
_STAGED_MEMORY_LIMIT = "64MB"


def write_csv(con: duckdb.DuckDBPyConnection, query: str, path: Path) -> int:
    """COPY the query to `path` atomically; returns the number of rows."""
    tmp = path.with_name(f".{path.name}.tmp")
    rows = int(sql.run(con, f"write_{path.stem}", sql.compose(_COPY_CSV, query=query), {"path": str(tmp)}).fetchall()[0][0])
    os.replace(tmp, path)
    return rows


def round_export(con: duckdb.DuckDBPyConnection, round_id: str, as_of: date) -> RoundExport:
    """The round's graph as queries over the working database (columns as graph.store.EXPORT_COLUMNS).

    Nothing is read here: each store streams the tables in record batches when it publishes them, each scan on a
    cursor of its own (an unfetched result on `con` cannot break the export), so ~10M evidence rows are never held
    in memory at once. `con` must stay open until the stores have published."""
    tables: dict[str, Any] = {name: QueryTable(con, query) for name, query in EXPORT_QUERIES.items()}
    return RoundExport(round_id=round_id, as_of=as_of, **tables)
