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
from datetime import date, datetime, timezone
from pathlib import Path

import duckdb
import neo4j
import pyarrow as pa

from graph import catalog, exports, neo4j_publish, rows
from graph.neo4j_local import bulk_import, server
from graph.neo4j_local.settings import LocalNeo4jSettings
from graph.neo4j_store import Neo4jStore
from graph.model import AuditEntry
from graph.store import EXPORT_COLUMNS, NODE_LABELS, RELATIONSHIP_TYPES, RoundExport
from services.errors import Conflict, StageFailed

log = logging.getLogger(__name__)

_TIMESTAMP = "strftime(e.occurred_at, '%Y-%m-%dT%H:%M:%S')"  # as Neo4jStore sends it: whole seconds
_IS_DEATH = "coalesce(e.kind = 'death', false)"
_ROUND = "(SELECT round_id FROM bulk_round)"
_ROUND_NODE = 0  # the one Round node's import ID
ARRAY_DELIMITER = "\x1f"  # between the elements of a list property (an audit entry's sources)
_IDENTIFIERS = (("IdNumber", "id_number", "id_number", "HAS_ID"), ("Phone", "phone", "phone", "HAS_PHONE"),
                ("Card", "card", "card_no", "HAS_CARD"))

# Identifier nodes of the three kinds, materialised once (bulk_identifier_nodes) so that their row ids are the
# import IDs the HAS_* and OBSERVED_ON files point at.
IDENTIFIER_NODES_SQL = " UNION ALL ".join(f"""
        (WITH held AS (
            SELECT value, arg_max_null(shared, person_id) AS shared FROM bulk_identifiers
            WHERE kind = '{kind}' AND person_id IN (SELECT person_id FROM bulk_pensioners) GROUP BY value),
        seen AS (SELECT DISTINCT {column} AS value FROM bulk_events WHERE {column} IS NOT NULL)
        SELECT '{kind}' AS kind, value, shared FROM held FULL JOIN seen USING (value))"""
    for _, kind, column, _ in _IDENTIFIERS)


def _identifier_nodes(kind: str) -> str:
    """Held values (MATCHed to a known pensioner first; the last holder in person_id order sets `shared`), plus
    values only seen on records (merged by OBSERVED_ON, no `shared`)."""
    return f"""
        SELECT rowid AS ":ID(Identifier)", value, shared AS "shared:boolean"
        FROM bulk_identifier_nodes WHERE kind = '{kind}'"""


def _record_nodes(death: bool) -> str:
    return f"""
        SELECT e.rowid AS ":ID(Record)", e.key, e.source, e.kind, e.record_id,
               {_TIMESTAMP} AS "occurred_at:localdatetime", e.passed AS "passed:boolean", h.h AS "h:long",
               h.l AS "l:long"
        FROM bulk_events e JOIN bulk_event_hash h USING (key) WHERE {_IS_DEATH} = {str(death).lower()}"""


NODE_SQL: dict[str, str] = {
    "Round": f"""
        SELECT {_ROUND_NODE} AS ":ID(Round)", round_id, as_of AS "as_of:date", published_at AS "published_at:datetime",
               1 AS "gen:long"
        FROM bulk_round""",
    "Pensioner": f"""
        SELECT b.rowid AS ":ID(Pensioner)", person_id, id_number, name, name_pinyin, sex,
               birth_date AS "birth_date:date", phone, card_no, county_code, unit_id,
               monthly_pension AS "monthly_pension:double", status, method, source,
               evidence_at AS "evidence_at:date", probability AS "probability:double",
               certified_until AS "certified_until:date", period_state, {_ROUND} AS round_id, explanation,
               h.h AS "h:long", h.hi AS "hi:long", 1 AS "gen:long"
        FROM bulk_pensioners b JOIN bulk_pensioner_hash h USING (person_id)""",
    **{label: _identifier_nodes(kind) for label, kind, _, _ in _IDENTIFIERS},
    "Event": _record_nodes(death=False),
    "DeathRecord": _record_nodes(death=True),
    "Flag": f"""
        SELECT rowid AS ":ID(Flag)", flag_id, 'open' AS status, person_id, kind, severity, detail,
               overpayment AS "overpayment:double", ring_id, county_code, {_ROUND} AS round_id
        FROM bulk_flags""",
    "AuditEntry": """
        SELECT rowid AS ":ID(Audit)", seq AS "seq:long", "at", actor, "action", person_id, subject,
               sources AS "sources:string[]", "before", "after", prev_hash, hash
        FROM bulk_audit""",
}


def _holds(kind: str) -> str:
    """Edges to known pensioners only (the join to bulk_pensioners drops the others, as the MATCH does)."""
    return f"""
        SELECT p.rowid AS ":START_ID(Pensioner)", n.rowid AS ":END_ID(Identifier)", i.origin
        FROM bulk_identifiers i JOIN bulk_pensioners p USING (person_id)
             JOIN bulk_identifier_nodes n ON n.kind = i.kind AND n.value = i.value
        WHERE i.kind = '{kind}'"""


RELATIONSHIP_SQL: dict[str, str] = {
    "VERDICT": f"""
        SELECT rowid AS ":START_ID(Pensioner)", {_ROUND_NODE} AS ":END_ID(Round)",
               status, method, source, evidence_at AS "evidence_at:date", probability AS "probability:double",
               certified_until AS "certified_until:date", period_state
        FROM bulk_pensioners""",
    **{rel: _holds(kind) for _, kind, _, rel in _IDENTIFIERS},
    "OBSERVED_ON": " UNION ALL ".join(
        f"""SELECT e.rowid AS ":START_ID(Record)", n.rowid AS ":END_ID(Identifier)"
            FROM bulk_events e JOIN bulk_identifier_nodes n ON n.kind = '{kind}' AND n.value = e.{column}"""
        for _, kind, column, _ in _IDENTIFIERS),
    "RESOLVED_TO": f"""
        SELECT e.rowid AS ":START_ID(Record)", p.rowid AS ":END_ID(Pensioner)",
               e.match_probability AS "probability:double", e.method, {_ROUND} AS round_id, 1 AS "gen:long"
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


def register_export(con: duckdb.DuckDBPyConnection, export: RoundExport) -> None:
    """Copy a RoundExport's tables (conformed: typed, one row per key) into the temporary tables the SQL reads
    (tables: their row ids are the import IDs)."""
    for name in EXPORT_COLUMNS:
        con.register("bulk_arrow", exports.conform(name, getattr(export, name)))
        con.execute(f"CREATE OR REPLACE TEMP TABLE bulk_{name} AS SELECT * FROM bulk_arrow")
        con.unregister("bulk_arrow")


def create_export_views(con: duckdb.DuckDBPyConnection, export_queries: dict[str, str]) -> None:
    """Temporary tables named like the RoundExport tables, filled once from a round's working database (a read-only
    connection is enough). Tables, not views: the events are read by seven of the files, and a view would join
    records and links seven times. The queries' final ORDER BY is dropped: the import does not care for order."""
    for name, query in export_queries.items():
        columns = ", ".join(f'CAST("{c}" AS {_sql_type(name, c)}) AS "{c}"' for c in EXPORT_COLUMNS[name])
        con.execute(f"CREATE OR REPLACE TEMP TABLE bulk_{name} AS SELECT {columns} FROM ({_unordered(query)})")


def _unordered(query: str) -> str:
    head, _, tail = query.rpartition("ORDER BY")
    return head if head and ")" not in tail else query


def write_import_files(con: duckdb.DuckDBPyConnection, round_id: str, as_of: date, folder: Path,
                       published_at: datetime | None = None, audit: Sequence[AuditEntry] = ()) -> ImportFiles:
    """COPY every node label and relationship type to `folder`/<name>.csv with import-tool headers; `audit` are
    the entries the trail of the new database starts with."""
    folder.mkdir(parents=True, exist_ok=True)
    _register_audit(con, audit)
    published_at = published_at or datetime.now(timezone.utc)
    con.execute("CREATE OR REPLACE TEMP TABLE bulk_round (round_id VARCHAR, as_of DATE, published_at VARCHAR)")
    con.execute("INSERT INTO bulk_round VALUES (?, ?, ?)",
                [round_id, as_of, published_at.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")])
    con.execute(f"CREATE OR REPLACE TEMP TABLE bulk_identifier_nodes AS {IDENTIFIER_NODES_SQL}")
    # the hashes and generation an incremental publish stores, so the next one sends only what changed
    neo4j_publish.hash_tables(con, "bulk_", round_id, temp=True)
    rows: dict[str, int] = {}
    paths: dict[str, list[Path]] = {}
    for name, query in {**NODE_SQL, **RELATIONSHIP_SQL}.items():
        path = folder / f"{name}.csv"
        rows[name] = con.execute(f"COPY ({query}) TO $path (FORMAT csv, HEADER)", {"path": str(path)}).fetchall()[0][0]
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
    con.execute("CREATE OR REPLACE TEMP TABLE bulk_audit AS SELECT * FROM bulk_audit_arrow")
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
