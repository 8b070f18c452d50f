"""Publishing a finished round into an empty local Neo4j with the bulk import tool (`silentcert neo4j import OUT`).

The round's working database (``OUT/state/round.duckdb``, opened read-only) is turned into import CSVs by DuckDB
SQL (:mod:`graph.neo4j_bulk`), the local server is stopped, the tool replaces its ``neo4j`` database, the server is
started again, the schema applied and the counts checked. The round's audit events are chained (from an empty
trail: the database is replaced) before the CSVs are written and imported with the rest — the same graph
``round run --neo4j`` builds through ``UNWIND`` transactions, in a fraction of the time. Later rounds are merged
incrementally by ``round run --neo4j``.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb

from silentcert.graph import neo4j_bulk, sql
from silentcert.graph.audit_key import DEVELOPMENT_KEY, load_audit_key
from silentcert.graph.connect import StoreSettings
from silentcert.graph.errors import InvalidInput
from silentcert.graph.neo4j_local import server
from silentcert.graph.neo4j_local.settings import LocalNeo4jSettings
from silentcert.services.deathcheck.audit import chain_round_events, read_round_events
from silentcert.services.rounds.context import DB_NAME, STATE_DIR
from silentcert.services.rounds.export_queries import EXPORT_QUERIES

log = logging.getLogger(__name__)

IMPORT_FOLDER = "neo4j-import"  # under OUT/state; removed after a successful load


@dataclass(frozen=True)
class BulkPublished:
    round_id: str
    counts: dict[str, int]  # nodes per label, relationships per type, as GraphStore.counts()
    seconds: dict[str, float]  # per phase: csv, stop, import, start, schema, verify


def import_round(settings: LocalNeo4jSettings, out_dir: Path, overwrite: bool = False) -> BulkPublished:
    """`silentcert neo4j import OUT_DIR`: bulk-load the round with the audit key `serve` will use; a read-only
    home (the investigators' copy) is loaded writable, because the load builds its indexes after the import, and
    restarted read-only."""
    key = load_audit_key(StoreSettings.from_env(neo4j_uri=settings.bolt_uri).audit_key_path)  # as `serve` will
    writable = dataclasses.replace(settings, read_only=False)
    done = bulk_publish_round_dir(writable, out_dir, overwrite=overwrite, audit_key=key)
    if settings.read_only:
        server.stop(writable)
        server.start(settings)  # rewrites neo4j.conf: server.databases.default_to_read_only=true
    return done


def bulk_publish_round_dir(settings: LocalNeo4jSettings, out_dir: Path, *, overwrite: bool = False,
                           keep_files: bool = False, audit_key: bytes = DEVELOPMENT_KEY) -> BulkPublished:
    """Load the finished round in `out_dir` into the local server; Conflict when its database already holds a
    graph and `overwrite` is False."""
    database = _finished_round_db(out_dir)
    round_id, as_of = _round_identity(out_dir)
    neo4j_bulk.refuse_unless_empty(settings, overwrite)
    seconds: dict[str, float] = {}
    con = duckdb.connect(str(database), read_only=True)
    try:
        with neo4j_bulk.timed(seconds, "csv"):
            events = read_round_events(con)
            audit = chain_round_events(events, head=None, key=audit_key) if events else []
            neo4j_bulk.create_export_views(con, EXPORT_QUERIES)
            files = neo4j_bulk.write_import_files(con, round_id, as_of, out_dir / STATE_DIR / IMPORT_FOLDER,
                                                  audit=audit)
    finally:
        con.close()
    load = neo4j_bulk.import_round(settings, files)
    seconds.update(load.seconds)
    if not keep_files:
        neo4j_bulk.remove_files(files)
    return BulkPublished(round_id, load.counts, seconds)


_FINISHED_ROUND_DB = "SELECT count(*) FROM stages WHERE stage = 'publish'"


def _finished_round_db(out_dir: Path) -> Path:
    database = out_dir / STATE_DIR / DB_NAME
    if not database.exists():
        raise InvalidInput(f"{out_dir} holds no round ({database} is missing): run `silentcert round run` first",
                           field="out_dir")
    con = duckdb.connect(str(database), read_only=True)
    try:
        finished = sql.run(con, "finished_round_db", _FINISHED_ROUND_DB).fetchall()[0][0]
    finally:
        con.close()
    if not finished:
        raise InvalidInput(f"the round in {out_dir} has not finished: rerun `silentcert round run` to complete it",
                           field="out_dir")
    return database


def _round_identity(out_dir: Path) -> tuple[str, date]:
    """round_id and as_of from the round's report.json (written by the publish stage)."""
    try:
        report = json.loads((out_dir / "report.json").read_text(encoding="utf-8"))
        return report["round_id"], date.fromisoformat(report["as_of"])
    except (OSError, ValueError, KeyError) as exc:
        raise InvalidInput(f"cannot read round_id and as_of from {out_dir / 'report.json'}: {exc}",
                           field="out_dir") from exc
