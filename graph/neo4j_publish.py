"""Publishing a round into Neo4j by difference: only what is new or changed since the graph's last publish is sent.

The round's tables are staged in a private DuckDB (streamed in record batches, held under `memory_limit`, spilled to
a temporary directory) and hashed there: per record its content (`h`) and its link to a person (`l`), per pensioner
the row, the round and a fingerprint of their records (`h`) and of their identifier rows (`hi`). The graph keeps the
hashes it was last written with (Event/DeathRecord `h`, `l`; Pensioner `h`, `hi`); they are read back once per
publish (`publish_state_*.cypher`, a page of 100,000 as three lists in one record: the driver builds a record far
slower than it unpacks a list) and compared in SQL, so an unchanged record, identifier or pensioner is not sent at
all. What is sent goes as columns (`$rows`: one list per column, `$count` long; the queries UNWIND the row numbers):
a map per row costs the driver and the server several times more to pack and unpack than the lists. New records are CREATEd (their key was not in the graph), not MERGEd; changed ones are set in place.
A node or edge written without hashes (the bulk import, an older publish) reads as changed and is rewritten once.

Readers see a person wholly before or wholly after the publish (GetLiveness in a loop during a publish:
tests/integration/test_neo4j_publish_readers.py). Each publish has a generation, one more than the last
(`publish_generation.cypher`). It writes in three phases:

1. pensioners new to the graph (`pending`, unknown to readers), their identifiers, and every new or changed
   record: a new link is a RESOLVED_TO edge carrying `gen` (the publish's generation), an old link it replaces is
   marked `gone` (same generation), not deleted;
2. every pensioner whose hash changed — in a new round, all of them: the node's verdict, `gen` and the round's
   VERDICT edge in one write. Readers show a link only when `gen <= p.gen` and hide it when `gone <= p.gen`
   (`liveness_by_*.cypher`), so this one write switches the person from the old records to the new;
3. flags and citations (merged, as few as reviewers see), then the retired links are deleted.

A publish killed half-way is run again: what it wrote carries its hashes and is skipped, the rest is written.
A record whose content (not its link) changed under the same key — a department's correction — is set in place,
which readers see at once.
"""

from __future__ import annotations

import functools
import shutil
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from silentcert.graph import exports, sql
from silentcert.graph.store import EXPORT_COLUMNS, Progress, RoundExport

_STAGE_ROWS = 65_536
_STATE_CHUNK = 100_000
_LABELS = (("Event", False, "events"), ("DeathRecord", True, "death_records"))
# (identifier kind, the records' column holding it, the plural naming its queries)
_IDENTIFIER_KINDS = (("id_number", "id_number", "id_numbers"), ("phone", "phone", "phones"),
                     ("card", "card_no", "cards"))

# The hashes compared with what the graph holds (63 bits: Neo4j integers are signed). DuckDB's hash() may change
# between DuckDB versions: then every row reads as changed once and is rewritten, nothing worse. The tables are
# named by a prefix (staged_ here, bulk_ in graph/neo4j_bulk.py, which writes the same hashes) through
# sql.with_idents; {temp} is TEMP or nothing (_TEMP, _PERSISTENT: cursors of a connection do not see its TEMP
# tables, and the publish reads through cursors).
EVENT_HASHES_SQL = """
    CREATE OR REPLACE {temp} TABLE {event_hash} AS
    SELECT key, person_id,
           (hash(source, kind, record_id, occurred_at, id_number, phone, card_no, passed) >> 1)::BIGINT AS h,
           (hash(person_id, match_probability, method) >> 1)::BIGINT AS l
    FROM {events}"""
PENSIONER_HASHES_SQL = """
    CREATE OR REPLACE {temp} TABLE {pensioner_hash} AS
    WITH records AS (
        SELECT person_id, bit_xor((hash(key, h, l) >> 1)::BIGINT) AS fingerprint
        FROM {event_hash} WHERE person_id IS NOT NULL GROUP BY person_id),
    held AS (
        SELECT person_id, bit_xor((hash(kind, value, shared, origin) >> 1)::BIGINT) AS hi
        FROM {identifiers} GROUP BY person_id)
    SELECT x.person_id,
           (hash($round_id, x.id_number, x.name, x.name_pinyin, x.sex, x.birth_date, x.phone, x.card_no,
                 x.county_code, x.unit_id, x.monthly_pension, x.status, x.method, x.source, x.evidence_at,
                 x.probability, x.certified_until, x.period_state, x.explanation, r.fingerprint) >> 1)::BIGINT AS h,
           coalesce(held.hi, 0) AS hi
    FROM {pensioners} x LEFT JOIN records r USING (person_id) LEFT JOIN held USING (person_id)"""


def hash_tables(con: duckdb.DuckDBPyConnection, prefix: str, round_id: str, *, temp: bool) -> None:
    """{prefix}event_hash (key, person_id, h, l) and {prefix}pensioner_hash (person_id, h, hi) over the staged
    {prefix}events, {prefix}identifiers and {prefix}pensioners tables: what a publish stores and compares."""
    def named(*tables: str) -> dict[str, str]:
        return {table: prefix + table for table in tables}

    kind = _TEMP if temp else _PERSISTENT
    events = sql.with_idents(EVENT_HASHES_SQL, **named("events", "event_hash"))
    pensioners = sql.with_idents(PENSIONER_HASHES_SQL, **named("pensioners", "identifiers", "event_hash",
                                                               "pensioner_hash"))
    sql.run(con, "publish_event_hashes", sql.compose(events, temp=kind))
    sql.run(con, "publish_pensioner_hashes", sql.compose(pensioners, temp=kind), {"round_id": round_id})


_TEMP, _PERSISTENT = "TEMP", ""


# What the graph holds, read back by publish_state_*.cypher
STATE_TABLES_SQL = (
    "CREATE OR REPLACE TABLE graph_pensioner_hashes (person_id VARCHAR, h BIGINT, hi BIGINT)",
    "CREATE OR REPLACE TABLE graph_event_hashes (key VARCHAR, h BIGINT, l BIGINT)",
)
# Pensioners whose row, round or records changed, with a flag for those new to the graph
PENSIONER_DIFF_SQL = """
    CREATE OR REPLACE TABLE changed_pensioners AS
    SELECT x.*, hx.h, hx.hi, s.person_id IS NULL AS new, s.hi IS DISTINCT FROM hx.hi AS held_changed
    FROM staged_pensioners x JOIN staged_pensioner_hash hx USING (person_id) LEFT JOIN graph_pensioner_hashes s USING (person_id)
    WHERE s.h IS DISTINCT FROM hx.h OR s.hi IS DISTINCT FROM hx.hi"""
EVENT_DIFF_SQL = """
    CREATE OR REPLACE TABLE changed_events AS
    SELECT x.*, hx.h, hx.l, s.key IS NULL AS new, s.l IS DISTINCT FROM hx.l AS relink,
           coalesce(x.kind = 'death', false) AS death
    FROM staged_events x JOIN staged_event_hash hx USING (key) LEFT JOIN graph_event_hashes s USING (key)
    WHERE s.key IS NULL OR s.h IS DISTINCT FROM hx.h OR s.l IS DISTINCT FROM hx.l"""
NEW_PENSIONERS_SQL = "SELECT person_id FROM changed_pensioners WHERE new"
# The identifier rows of pensioners whose identifiers changed; `new`: the pensioner is new to the graph, so its
# edges are created, not merged. Written by one session: a value held by many (a shared phone) is a dense node,
# and two sessions linking it to different pensioners deadlock on its relationship groups
CHANGED_IDENTIFIERS_SQL = """
    SELECT i.person_id, i.value, i.origin, d.new
    FROM staged_identifiers i JOIN changed_pensioners d USING (person_id)
    WHERE d.held_changed AND i.kind = $kind"""
# Identifier values of one kind that those rows and the new records carry, merged once (with `shared` from the
# identifier rows; null for a value only records carry) before the edges that point to them are written
IDENTIFIER_VALUES_SQL = {
    column: sql.with_idents("""
        SELECT value, max(shared) AS shared FROM (
            SELECT i.value, i.shared FROM staged_identifiers i JOIN changed_pensioners d USING (person_id)
            WHERE d.held_changed AND i.kind = $kind
            UNION ALL
            SELECT {column}, NULL FROM changed_events WHERE new AND {column} IS NOT NULL)
        GROUP BY value""", column=column)
    for _, column, _ in _IDENTIFIER_KINDS
}
# Ordered by person: the parallel writers' batches then lock disjoint pensioners
RECORDS_SQL = """
    SELECT key, source, kind, record_id, occurred_at, person_id, match_probability, method, id_number, phone,
           card_no, passed, h, l, relink
    FROM changed_events WHERE new = $new AND death = $death ORDER BY person_id"""
PENSIONER_ROWS_SQL = sql.with_idents("SELECT {columns}, h, hi FROM changed_pensioners ORDER BY person_id",
                                     columns=list(EXPORT_COLUMNS["pensioners"]))
NO_PROGRESS_BAR_SQL = "SET enable_progress_bar = false"
COUNT_SQL = "SELECT count(*) FROM {table}"  # table: one of this module's staging tables
CHECK_SQL = "SELECT {aggregate} FROM {table}"  # aggregate: one of graph.exports' row checks
STAGE_SQL = "CREATE OR REPLACE TABLE {table} AS SELECT * FROM export_stream"
FLAGS_SQL = "SELECT * FROM staged_flags"
FLAG_CITATIONS_SQL = "SELECT * FROM staged_flag_citations"
# -1: a hash the graph does not hold (the hashes are never negative)
STATE_CHUNK_SQL = "INSERT INTO {table} SELECT c0, nullif(c1, -1), nullif(c2, -1) FROM graph_hash_page"
# What the graph holds: per staging table the paged queries that read it back, key first, then h and the link or
# identifier hash
_STATE = (("graph_pensioner_hashes", ("publish_state_pensioners",)),
          ("graph_event_hashes", ("publish_state_events", "publish_state_death_records")))
_STATE_TYPES = (pa.string(), pa.int64(), pa.int64())


class PublishTarget(Protocol):
    """What the diff publish needs from the Neo4j store (graph.neo4j_store.Neo4jStore)."""

    batch_size: int
    writers: int

    def write_columns(self, query_name: str, columns: dict[str, list[Any]], count: int,
                      params: dict[str, Any]) -> None: ...

    def write_one(self, query_name: str, params: dict[str, Any]) -> dict[str, Any]: ...

    def run_auto(self, query_name: str, params: dict[str, Any]) -> None: ...

    def read_pages(self, query_name: str, chunk: int) -> Iterator[tuple[list[Any], ...]]: ...


@dataclass
class PublishStats:
    """What one publish sent: rows per step (a row is one UNWIND row: a node and its edges), and seconds per phase."""

    generation: int = 0
    sent: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def rows_sent(self) -> int:
        return sum(self.sent.values())


def publish(target: PublishTarget, export: RoundExport, progress: Progress | None = None,
            memory_limit: str = "2GB") -> tuple[dict[str, int], PublishStats]:
    """Write what changed of `export`; returns the rows of each export table and what was sent."""
    tables = {name: getattr(export, name) for name in EXPORT_COLUMNS}
    for name, table in tables.items():
        exports.check_columns(name, table)
    spill = tempfile.mkdtemp(prefix="silentcert-neo4j-publish-")
    con = duckdb.connect(config={"memory_limit": memory_limit, "temp_directory": spill,
                                 "preserve_insertion_order": False})
    sql.run(con, "publish_no_progress_bar", NO_PROGRESS_BAR_SQL)
    try:
        return _Publish(target, con, export, progress).run(tables)
    finally:
        con.close()
        shutil.rmtree(spill, ignore_errors=True)


class _Publish:
    def __init__(self, target: PublishTarget, con: duckdb.DuckDBPyConnection, export: RoundExport,
                 progress: Progress | None):
        self.target, self.con, self.export, self.progress = target, con, export, progress
        self.stats = PublishStats()
        self.params: dict[str, Any] = {"round_id": export.round_id}
        self._clock = time.perf_counter()

    def run(self, tables: dict[str, Any]) -> tuple[dict[str, int], PublishStats]:
        written = {name: self._stage(name, table) for name, table in tables.items()}
        self.export.on_staged()
        for name in tables:
            exports.check_rows(name, functools.partial(self._check, f"staged_{name}"))
        hash_tables(self.con, "staged_", self.export.round_id, temp=False)
        self._lap("stage")
        self._read_state()
        sql.run(self.con, "publish_changed_pensioners", PENSIONER_DIFF_SQL)
        sql.run(self.con, "publish_changed_events", EVENT_DIFF_SQL)
        self._lap("diff")
        opened = self.target.write_one("publish_generation", {"round_id": self.export.round_id,
                                                              "as_of": self.export.as_of})
        self.stats.generation = self.params["gen"] = opened["gen"]
        self._records_and_identifiers()
        self._lap("records")
        self._pump("pensioners", PENSIONER_ROWS_SQL, {},
                   "publish_pensioner_verdicts_again" if opened["existed"] else "publish_pensioner_verdicts")
        self._done("pensioners", written)
        self._done("identifiers", written)
        self._done("events", written)
        self._lap("pensioners")
        self._flags(tables)
        self._done("flags", written)
        self._done("flag_citations", written)
        self.target.run_auto("publish_drop_retired_links", {"gen": self.params["gen"]})
        self._lap("flags_and_cleanup")
        return written, self.stats

    # -- phases ---------------------------------------------------------------------------------------------

    def _records_and_identifiers(self) -> None:
        self._pump("pending_pensioners", NEW_PENSIONERS_SQL, {}, "publish_pending_pensioners")
        for kind, column, plural in _IDENTIFIER_KINDS:
            self._pump(f"{plural}_nodes", IDENTIFIER_VALUES_SQL[column], {"kind": kind}, f"publish_{plural}_nodes")
            self._pump(f"identifiers_{kind}", CHANGED_IDENTIFIERS_SQL, {"kind": kind}, f"publish_{plural}",
                       workers=1)
        for _, death, plural in _LABELS:
            self._pump(f"new_{plural}", RECORDS_SQL, {"new": True, "death": death}, f"publish_new_{plural}")
            self._pump(f"changed_{plural}", RECORDS_SQL, {"new": False, "death": death},
                       f"publish_changed_{plural}")

    def _flags(self, tables: dict[str, Any]) -> None:
        """Flags and citations are few (a reviewer's queue): merged whole, as before, so a decided flag keeps its
        decision (publish_flags.cypher)."""
        self._pump("flags", FLAGS_SQL, {}, "publish_flags", workers=1)
        self._pump("flag_citations", FLAG_CITATIONS_SQL, {}, "publish_flag_citations", workers=1)

    # -- plumbing -------------------------------------------------------------------------------------------

    def _stage(self, name: str, table: Any) -> int:
        """Stream one export table into the table staged_<name>; returns its rows."""
        self.con.register("export_stream", exports.reader(name, table, _STAGE_ROWS))
        try:
            sql.run(self.con, "publish_stage", sql.with_idents(STAGE_SQL, table=f"staged_{name}"))
        finally:
            self.con.unregister("export_stream")
        return int(sql.scalar(self.con, "publish_staged_rows", sql.with_idents(COUNT_SQL, table=f"staged_{name}")))

    def _read_state(self) -> None:
        """The hashes the graph holds, into graph_pensioner_hashes and graph_event_hashes (columns as the queries return them)."""
        for statement in STATE_TABLES_SQL:
            sql.run(self.con, "publish_graph_hash_tables", statement)
        for table, queries in _STATE:
            for query in queries:
                for page in self.target.read_pages(query, _STATE_CHUNK):
                    arrays = [pa.array(column, t) for column, t in zip(page, _STATE_TYPES)]
                    self.con.register("graph_hash_page", pa.table(arrays, names=[f"c{i}" for i in range(len(arrays))]))
                    sql.run(self.con, "publish_graph_hash_page", sql.with_idents(STATE_CHUNK_SQL, table=table))
                    self.con.unregister("graph_hash_page")
            self._lap(f"read_{table}")

    def _pump(self, step: str, rows_sql: str, sql_params: dict[str, Any], query: str,
              workers: int | None = None) -> None:
        """Write the rows of `rows_sql` through `query`, batch_size rows a transaction, on `workers` sessions at once
        (the store's `writers`): the next batches are read from DuckDB while earlier ones are written."""
        workers = workers or self.target.writers
        sent = 0
        cur = self.con.cursor()
        try:
            reader = sql.reader(cur, f"publish_{step}", rows_sql, self.target.batch_size, sql_params)
            with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="neo4j-publish") as pool:
                pending: list[Future[None]] = []
                for batch in _rebatched(reader, self.target.batch_size):
                    columns = _temporal_as_text(batch).to_pydict()
                    pending.append(pool.submit(self.target.write_columns, query, columns, batch.num_rows,
                                               self.params))
                    sent += batch.num_rows
                    while len(pending) > workers:
                        pending.pop(0).result()
                for done in pending:
                    done.result()
        finally:
            cur.close()
        if sent:
            self.stats.sent[step] = sent

    def _done(self, name: str, written: dict[str, int]) -> None:
        if self.progress:
            self.progress(name, written[name])

    def _check(self, table: str, aggregate: str) -> Any:
        """One aggregate of graph.exports' row checks over the staged `table`."""
        return sql.scalar(self.con, "publish_row_check",
                          sql.compose(sql.with_idents(CHECK_SQL, table=table), aggregate=aggregate))

    def _lap(self, phase: str) -> None:
        now = time.perf_counter()
        self.stats.seconds[phase] = round(now - self._clock, 2)
        self._clock = now


def _rebatched(reader: pa.RecordBatchReader, size: int) -> Iterator[pa.Table]:
    yield from exports.rebatch(iter(reader), size)


def _temporal_as_text(table: pa.Table) -> pa.Table:
    """Dates and timestamps as ISO text, which the queries turn back into Cypher temporals with date() and
    localdatetime(): the driver encodes Python dates and datetimes one by one in Python, several times slower."""
    for i, column in enumerate(table.schema):
        if pa.types.is_date(column.type):
            table = table.set_column(i, column.name, pc.strftime(table.column(i), format="%Y-%m-%d"))
        elif pa.types.is_timestamp(column.type):
            table = table.set_column(i, column.name, pc.strftime(table.column(i), format="%Y-%m-%dT%H:%M:%S"))
    return table

