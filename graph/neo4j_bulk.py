"""A round's graph as ``neo4j-admin database import`` CSV files, written by DuckDB SQL, and the bulk load itself.

The first load of a province into an empty Neo4j goes through the import tool (store files written directly,
hundreds of thousands of rows a second) instead of ``UNWIND … MERGE`` transactions; later rounds are merged
incrementally by :meth:`graph.neo4j_store.Neo4jStore.publish_round`. The graph is exactly the one that method
builds from the same round (labels, properties and their types, relationships): the SQL below mirrors
``graph/queries/publish_*.cypher`` rule by rule, and ``tests/integration/test_neo4j_bulk.py`` compares the two.

The SQL reads five relations named like the RoundExport tables with a ``bulk_`` prefix (``bulk_pensioners``,
``bulk_identifiers``, ``bulk_events``, ``bulk_flags``, ``bulk_flag_citations``; columns as
``graph.store.EXPORT_COLUMNS``): views over a round's working database,
or a :class:`~graph.store.RoundExport`'s arrow tables registered with :func:`register_export`.

The round's audit entries (chained from an empty trail: the import replaces the whole database) are written as
``AuditEntry`` nodes and ``ABOUT`` relationships too, with the properties ``append_audit.cypher`` sets, so the
graph is complete when the server starts and nothing is appended over Bolt afterwards.

Import IDs are integers (``--id-type=integer``: the tool maps and sorts longs instead of 14.7M strings), the
row ids of the tables the rows come from; they are not stored — the keys (person_id, key, value, flag_id,
round_id) are ordinary string properties, as the UNWIND publish writes them. ID spaces: ``Pensioner``,
``Record`` (rows of ``bulk_events``, shared by Event and DeathRecord so a citation file needs one end space),
``Identifier`` (rows of ``bulk_identifier_nodes``: IdNumber, Phone and Card values may coincide), ``Flag``,
``Audit`` (rows of ``bulk_audit``) and ``Round``. Relationship files reach the ids by joins on the keys; a join
also drops an edge to an unknown pensioner or record, as the UNWIND publish's MATCH does.
"""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import neo4j
import pyarrow as pa

from silentcert.graph import catalog, exports, neo4j_publish, rows, sql
from silentcert.graph.errors import Conflict, StageFailed
from silentcert.graph.model import AuditEntry
from silentcert.graph.neo4j_local import bulk_import, server
from silentcert.graph.neo4j_local.settings import LocalNeo4jSettings
from silentcert.graph.neo4j_store import Neo4jStore
from silentcert.graph.store import EXPORT_COLUMNS, NODE_LABELS, RELATIONSHIP_TYPES, RoundExport

log = logging.getLogger(__name__)

ARRAY_DELIMITER = "\x1f"  # between the elements of a list property (an audit entry's sources)

# The SQL catalog of the import files: one query per node label and relationship type, written out whole. Import
# IDs are row ids; the one Round node is 0; a record's occurred_at is written in whole seconds, as Neo4jStore sends
# it; Event and DeathRecord split the events on kind = 'death'; HAS_* edges go to known pensioners only (the join to
# bulk_pensioners drops the others, as the MATCH does).

# Identifier nodes of the three kinds, materialised once (bulk_identifier_nodes) so that their row ids are the
# import IDs the HAS_* and OBSERVED_ON files point at: held values (MATCHed to a known pensioner first; the last
# holder in person_id order sets `shared`), plus values only seen on records (merged by OBSERVED_ON, no `shared`).
IDENTIFIER_NODES = """
CREATE OR REPLACE TEMP TABLE bulk_identifier_nodes AS
        (WITH held AS (
            SELECT value, arg_max_null(shared, person_id) AS shared FROM bulk_identifiers
            WHERE kind = 'id_number' AND person_id IN (SELECT person_id FROM bulk_pensioners) GROUP BY value),
        seen AS (SELECT DISTINCT id_number AS value FROM bulk_events WHERE id_number IS NOT NULL)
        SELECT 'id_number' AS kind, value, shared FROM held FULL JOIN seen USING (value)) UNION ALL
        (WITH held AS (
            SELECT value, arg_max_null(shared, person_id) AS shared FROM bulk_identifiers
            WHERE kind = 'phone' AND person_id IN (SELECT person_id FROM bulk_pensioners) GROUP BY value),
        seen AS (SELECT DISTINCT phone AS value FROM bulk_events WHERE phone IS NOT NULL)
        SELECT 'phone' AS kind, value, shared FROM held FULL JOIN seen USING (value)) UNION ALL
        (WITH held AS (
            SELECT value, arg_max_null(shared, person_id) AS shared FROM bulk_identifiers
            WHERE kind = 'card' AND person_id IN (SELECT person_id FROM bulk_pensioners) GROUP BY value),
        seen AS (SELECT DISTINCT card_no AS value FROM bulk_events WHERE card_no IS NOT NULL)
        SELECT 'card' AS kind, value, shared FROM held FULL JOIN seen USING (value))
"""

NODE_SQL: dict[str, str] = {
    "Round": """
        SELECT 0 AS ":ID(Round)", round_id, as_of AS "as_of:date", published_at AS "published_at:datetime",
               1 AS "gen:long"
        FROM bulk_round""",
    "Pensioner": """
        SELECT b.rowid AS ":ID(Pensioner)", person_id, id_number, name, name_pinyin, sex,
               birth_date AS "birth_date:date", phone, card_no, county_code, unit_id,
               monthly_pension AS "monthly_pension:double", status, method, source,
               evidence_at AS "evidence_at:date", probability AS "probability:double",
               certified_until AS "certified_until:date", period_state, (SELECT round_id FROM bulk_round) AS round_id,
               explanation, h.h AS "h:long", h.hi AS "hi:long", 1 AS "gen:long"
        FROM bulk_pensioners b JOIN bulk_pensioner_hash h USING (person_id)""",
    "IdNumber": """
        SELECT rowid AS ":ID(Identifier)", value, shared AS "shared:boolean"
        FROM bulk_identifier_nodes WHERE kind = 'id_number'""",
    "Phone": """
        SELECT rowid AS ":ID(Identifier)", value, shared AS "shared:boolean"
        FROM bulk_identifier_nodes WHERE kind = 'phone'""",
    "Card": """
        SELECT rowid AS ":ID(Identifier)", value, shared AS "shared:boolean"
        FROM bulk_identifier_nodes WHERE kind = 'card'""",
    "Event": """
        SELECT e.rowid AS ":ID(Record)", e.key, e.source, e.kind, e.record_id,
               strftime(e.occurred_at, '%Y-%m-%dT%H:%M:%S') AS "occurred_at:localdatetime", e.passed AS "passed:boolean",
               h.h AS "h:long", h.l AS "l:long"
        FROM bulk_events e JOIN bulk_event_hash h USING (key) WHERE coalesce(e.kind = 'death', false) = false""",
    "DeathRecord": """
        SELECT e.rowid AS ":ID(Record)", e.key, e.source, e.kind, e.record_id,
               strftime(e.occurred_at, '%Y-%m-%dT%H:%M:%S') AS "occurred_at:localdatetime", e.passed AS "passed:boolean",
               h.h AS "h:long", h.l AS "l:long"
        FROM bulk_events e JOIN bulk_event_hash h USING (key) WHERE coalesce(e.kind = 'death', false) = true""",
    "Flag": """
        SELECT rowid AS ":ID(Flag)", flag_id, 'open' AS status, person_id, kind, severity, detail,
               overpayment AS "overpayment:double", ring_id, county_code, (SELECT round_id FROM bulk_round) AS round_id
        FROM bulk_flags""",
    "AuditEntry": """
        SELECT rowid AS ":ID(Audit)", seq AS "seq:long", "at", actor, "action", person_id, subject,
               sources AS "sources:string[]", "before", "after", prev_hash, hash
        FROM bulk_audit""",
}

RELATIONSHIP_SQL: dict[str, str] = {
    "VERDICT": """
        SELECT rowid AS ":START_ID(Pensioner)", 0 AS ":END_ID(Round)",
               status, method, source, evidence_at AS "evidence_at:date", probability AS "probability:double",
               certified_until AS "certified_until:date", period_state
        FROM bulk_pensioners""",
    "HAS_ID": """
        SELECT p.rowid AS ":START_ID(Pensioner)", n.rowid AS ":END_ID(Identifier)", i.origin
        FROM bulk_identifiers i JOIN bulk_pensioners p USING (person_id)
             JOIN bulk_identifier_nodes n ON n.kind = i.kind AND n.value = i.value
        WHERE i.kind = 'id_number'""",
    "HAS_PHONE": """
        SELECT p.rowid AS ":START_ID(Pensioner)", n.rowid AS ":END_ID(Identifier)", i.origin
        FROM bulk_identifiers i JOIN bulk_pensioners p USING (person_id)
             JOIN bulk_identifier_nodes n ON n.kind = i.kind AND n.value = i.value
        WHERE i.kind = 'phone'""",
    "HAS_CARD": """
        SELECT p.rowid AS ":START_ID(Pensioner)", n.rowid AS ":END_ID(Identifier)", i.origin
        FROM bulk_identifiers i JOIN bulk_pensioners p USING (person_id)
             JOIN bulk_identifier_nodes n ON n.kind = i.kind AND n.value = i.value
        WHERE i.kind = 'card'""",
    "OBSERVED_ON": """SELECT e.rowid AS ":START_ID(Record)", n.rowid AS ":END_ID(Identifier)"
            FROM bulk_events e JOIN bulk_identifier_nodes n ON n.kind = 'id_number' AND n.value = e.id_number
            UNION ALL SELECT e.rowid AS ":START_ID(Record)", n.rowid AS ":END_ID(Identifier)"
            FROM bulk_events e JOIN bulk_identifier_nodes n ON n.kind = 'phone' AND n.value = e.phone
            UNION ALL SELECT e.rowid AS ":START_ID(Record)", n.rowid AS ":END_ID(Identifier)"
            FROM bulk_events e JOIN bulk_identifier_nodes n ON n.kind = 'card' AND n.value = e.card_no""",
    "RESOLVED_TO": """
        SELECT e.rowid AS ":START_ID(Record)", p.rowid AS ":END_ID(Pensioner)",
               e.match_probability AS "probability:double", e.method, (SELECT round_id FROM bulk_round) AS round_id, 1 AS "gen:long"
        FROM bulk_events e JOIN bulk_pensioners p USING (person_id)""",
    "CONCERNS": """
        SELECT f.rowid AS ":START_ID(Flag)", p.rowid AS ":END_ID(Pensioner)"
        FROM bulk_flags f JOIN bulk_pensioners p USING (person_id)""",
    "CITES": """
        SELECT DISTINCT f.rowid AS ":START_ID(Flag)", e.rowid AS ":END_ID(Record)"
        FROM bulk_flag_citations c JOIN bulk_flags f USING (flag_id) JOIN bulk_events e ON e.key = c.event_key""",
    "ABOUT": """
        SELECT a.rowid AS ":START_ID(Audit)", p.rowid AS ":END_ID(Pensioner)"
        FROM bulk_audit a JOIN bulk_pensioners p USING (person_id)""",
}

# AuditEntry's fields as rows.audit_row stores them: text but for seq (the sources joined, see _register_audit)
_AUDIT_SCHEMA = pa.schema([(f.name, pa.int64() if f.name == "seq" else pa.string()) for f in fields(AuditEntry)])


@dataclass(frozen=True)
class ImportFiles:
    """The CSV files of one round and the rows each holds (= nodes per label, relationships per type)."""

    folder: Path
    nodes: dict[str, list[Path]]
    relationships: dict[str, list[Path]]
    rows: dict[str, int]


_FROM_ARROW = "CREATE OR REPLACE TEMP TABLE {table} AS SELECT * FROM bulk_arrow"
# {columns}: each export column cast to its type (_typed_columns); {query}: the export's query (export_queries)
_EXPORT_TABLE = "CREATE OR REPLACE TEMP TABLE {table} AS SELECT {columns} FROM ({query})"
_ROUND_TABLE = "CREATE OR REPLACE TEMP TABLE bulk_round (round_id VARCHAR, as_of DATE, published_at VARCHAR)"
_ROUND_ROW = "INSERT INTO bulk_round VALUES ($round_id, $as_of, $published_at)"
_COPY = "COPY ({query}) TO $path (FORMAT csv, HEADER)"
_AUDIT = "CREATE OR REPLACE TEMP TABLE bulk_audit AS SELECT * FROM bulk_audit_arrow"


def register_export(con: duckdb.DuckDBPyConnection, export: RoundExport) -> None:
    """Copy a RoundExport's tables (conformed: typed, one row per key) into the temporary tables the SQL reads
    (tables: their row ids are the import IDs)."""
    for name in EXPORT_COLUMNS:
        con.register("bulk_arrow", exports.conform(name, getattr(export, name)))
        sql.run(con, f"bulk_{name}", sql.with_idents(_FROM_ARROW, table=f"bulk_{name}"))
        con.unregister("bulk_arrow")


def create_export_views(con: duckdb.DuckDBPyConnection, export_queries: dict[str, str]) -> None:
    """Temporary tables named like the RoundExport tables, filled once from a round's working database (a read-only
    connection is enough). Tables, not views: the events are read by seven of the files, and a view would join
    records and links seven times. The queries' final ORDER BY is dropped: the import does not care for order."""
    for name, query in export_queries.items():
        statement = sql.with_idents(_EXPORT_TABLE, table=f"bulk_{name}")
        sql.run(con, f"bulk_{name}", sql.compose(statement, columns=_typed_columns(name), query=_unordered(query)))


def _typed_columns(table: str) -> str:
    """``CAST("c" AS TYPE) AS "c"`` for each export column (names quoted by graph.sql, types from _sql_type)."""
    q = sql.quote_ident
    return ", ".join(f"CAST({q(c)} AS {_sql_type(table, c)}) AS {q(c)}" for c in EXPORT_COLUMNS[table])


def _unordered(query: str) -> str:
    head, _, tail = query.rpartition("ORDER BY")
    return head if head and ")" not in tail else query


def write_import_files(con: duckdb.DuckDBPyConnection, round_id: str, as_of: date, folder: Path,
                       published_at: datetime | None = None, audit: Sequence[AuditEntry] = ()) -> ImportFiles:
    """COPY every node label and relationship type to `folder`/<name>.csv with import-tool headers; `audit` are
    the entries the trail of the new database starts with."""
    folder.mkdir(parents=True, exist_ok=True)
    _register_audit(con, audit)
    published_at = published_at or datetime.now(UTC)
    sql.run(con, "bulk_round", _ROUND_TABLE)
    published = published_at.astimezone(UTC).isoformat().replace("+00:00", "Z")
    sql.run(con, "bulk_round_row", _ROUND_ROW, {"round_id": round_id, "as_of": as_of, "published_at": published})
    sql.run(con, "bulk_identifier_nodes", IDENTIFIER_NODES)
    # the hashes and generation an incremental publish stores, so the next one sends only what changed
    neo4j_publish.hash_tables(con, "bulk_", round_id, temp=True)
    rows: dict[str, int] = {}
    paths: dict[str, list[Path]] = {}
    for name, query in {**NODE_SQL, **RELATIONSHIP_SQL}.items():
        path = folder / f"{name}.csv"
        rows[name] = sql.run(con, f"bulk_file_{name}", sql.compose(_COPY, query=query), {"path": str(path)}
                             ).fetchall()[0][0]
        paths[name] = [path]
    return ImportFiles(folder, {k: paths[k] for k in NODE_SQL}, {k: paths[k] for k in RELATIONSHIP_SQL}, rows)


def _register_audit(con: duckdb.DuckDBPyConnection, entries: Sequence[AuditEntry]) -> None:
    """The entries as append_audit.cypher stores them (rows.audit_row), sources joined by ARRAY_DELIMITER."""
    stored = [rows.audit_row(e) for e in entries]
    for row in stored:
        if any(ARRAY_DELIMITER in source for source in row["sources"]):
            raise StageFailed(f"audit entry {row['seq']} names a source holding the control character U+001F: "
                              f"{row['sources']!r}")
        row["sources"] = ARRAY_DELIMITER.join(row["sources"])
    con.register("bulk_audit_arrow", pa.Table.from_pylist(stored, schema=_AUDIT_SCHEMA))
    sql.run(con, "bulk_audit", _AUDIT)
    con.unregister("bulk_audit_arrow")


def expected_counts(files: ImportFiles) -> dict[str, int]:
    """What GraphStore.counts() must report after importing `files`."""
    found = dict.fromkeys((*NODE_LABELS, *RELATIONSHIP_TYPES), 0)
    found.update(files.rows)
    return found


@dataclass
class BulkLoad:
    """A finished import: the counts the database holds (as GraphStore.counts(), checked against the files) and
    seconds per phase."""

    counts: dict[str, int]
    seconds: dict[str, float] = field(default_factory=dict)


def import_round(settings: LocalNeo4jSettings, files: ImportFiles, *, heap: str = "2g") -> BulkLoad:
    """Stop the local server, replace its `neo4j` database with `files`, start it, apply the schema (constraints
    and indexes are built after the import, as the import tool expects), give audit entries without sources the
    empty list the tool cannot write, check the counts. Leaves it running."""
    seconds: dict[str, float] = {}
    with timed(seconds, "stop"):
        server.stop(settings)
    with timed(seconds, "import"):
        (settings.logs_dir / "import.report").unlink(missing_ok=True)  # a stale report would read as skipped rows
        result = bulk_import(settings, files.nodes, files.relationships, heap=heap, id_type="integer",
                             array_delimiter=ARRAY_DELIMITER)
        log.info("neo4j-admin database import: its output is in %s", result.log_file)
        log.debug("neo4j-admin database import:\n%s", result.output)
        _refuse_skipped_rows(result.report_file)
    with timed(seconds, "start"):
        server.start(settings)
    uri, user, password = server.bolt_settings(settings)
    with neo4j.GraphDatabase.driver(uri, auth=(user, password)) as driver:
        store = Neo4jStore(driver)
        with timed(seconds, "schema"):
            store.apply_schema()
            store.await_indexes()
        with timed(seconds, "verify"):
            driver.execute_query(catalog.query("bulk_audit_sources"))
            counts = _check_counts(store, expected_counts(files))
    return BulkLoad(counts, seconds)


@contextmanager
def timed(seconds: dict[str, float], phase: str) -> Iterator[None]:
    started = time.perf_counter()
    try:
        yield
    finally:
        seconds[phase] = round(time.perf_counter() - started, 2)
        log.info("bulk load: %s took %.1f s", phase, seconds[phase])


def database_is_empty(settings: LocalNeo4jSettings) -> bool:
    """Whether the local server's `neo4j` database holds no node (starts the server when it is stopped)."""
    server.start(settings)
    uri, user, password = server.bolt_settings(settings)
    with neo4j.GraphDatabase.driver(uri, auth=(user, password)) as driver:
        return not any(Neo4jStore(driver).counts().values())


def refuse_unless_empty(settings: LocalNeo4jSettings, overwrite: bool) -> None:
    """Conflict when the database already holds a graph and `overwrite` was not asked for."""
    if not overwrite and not database_is_empty(settings):
        raise Conflict(f"the neo4j database of {settings.home} already holds a graph; a bulk import replaces it "
                       "entirely: pass --overwrite to do that, or publish incrementally with round run --neo4j")


def remove_files(files: ImportFiles) -> None:
    shutil.rmtree(files.folder, ignore_errors=True)


def _refuse_skipped_rows(report: Path) -> None:
    if report.exists() and report.stat().st_size:
        lines = report.read_text(encoding="utf-8", errors="replace").splitlines()
        raise StageFailed(f"neo4j-admin skipped {len(lines)} row(s), see {report}; first: {lines[0]}")


def _check_counts(store: Neo4jStore, expected: dict[str, int]) -> dict[str, int]:
    found = store.counts()
    wrong = {k: (found.get(k), n) for k, n in expected.items() if found.get(k) != n}
    if wrong:
        detail = ", ".join(f"{k}: {got} (expected {want})" for k, (got, want) in sorted(wrong.items()))
        raise StageFailed(f"bulk import left other counts than the files hold: {detail}")
    return found


def _sql_type(table: str, column: str) -> str:
    arrow = exports.schema(table).field(column).type
    return {"date32[day]": "DATE", "double": "DOUBLE", "timestamp[us]": "TIMESTAMP", "bool": "BOOLEAN"}.get(
        str(arrow), "VARCHAR")
