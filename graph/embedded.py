"""The embedded graph store: the identity graph as DuckDB tables in one file, the default (no server).

Nodes and relationships map to tables::

    pensioner        (:Pensioner)                     identifier   (:IdNumber|:Phone|:Card) by kind
    holds            -[:HAS_ID|HAS_PHONE|HAS_CARD]->  event        (:Event|:DeathRecord) by label; its
    flag             (:Flag), person_id = CONCERNS                 id_number/phone/card_no are OBSERVED_ON, its
    flag_citation    -[:CITES]->                                   person_id/probability/method/round_id the one
    round            (:Round)                                      RESOLVED_TO (a record resolves to at most one
    verdict          -[:VERDICT]->                                 person, so the edge lives on the record's row)
    audit            (:AuditEntry), person_id = ABOUT

DuckDB looks rows up through single-column indexes only (a composite primary key does not serve a lookup on its
first column), hence the single-column indexes below. Every index is held in memory whole and checked row by row
as rows go in: a primary key on the ~10M event keys of a 1M-pensioner round cost more than the rest of the publish
together. So only the small node tables have primary keys (pensioner, flag, round, audit, flag_citation); event and
the relationship tables keep their keys unique through the publish (graph.embedded_publish) and carry just the
lookup indexes the reads use (event: person_id; a lookup by event key scans, which only a recorded certification
and a flag's citations do). A store file made before this keeps its old primary keys, and the publish works the
same on it; one that still has a separate ``resolved_to`` table has it folded into ``event`` when opened.

A round is published set-wise (graph.embedded_publish: each export table streamed once into a temporary table, then
``INSERT ... SELECT``, merged by key unless the table is empty) in one transaction: a failed publish leaves nothing,
a repeated one changes nothing. Into empty tables (a province's first publish) the rows go without their lookup
indexes, which are built after the commit (:data:`INDEXES`).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from graph import consistency, embedded_retention, rows
from graph.embedded_publish import empty, publish
from graph.model import (
    AuditEntry,
    ChannelCertification,
    Decision,
    EvidenceEdge,
    Flag,
    FlagDetail,
    FlagFilter,
    Identifier,
    Person,
)
from graph.store import (
    NODE_LABELS,
    RELATIONSHIP_TYPES,
    AuditedChange,
    EntryOf,
    GraphStore,
    Progress,
    RoundExport,
)
from services.errors import Conflict, NotFound, StoreUnavailable

TABLES = """
CREATE TABLE IF NOT EXISTS pensioner (
    person_id VARCHAR PRIMARY KEY, id_number VARCHAR, name VARCHAR, name_pinyin VARCHAR, sex VARCHAR,
    birth_date DATE, phone VARCHAR, card_no VARCHAR, county_code VARCHAR, unit_id VARCHAR, monthly_pension DOUBLE,
    status VARCHAR, method VARCHAR, source VARCHAR, evidence_at DATE, probability DOUBLE, certified_until DATE,
    period_state VARCHAR, round_id VARCHAR, explanation VARCHAR);
ALTER TABLE pensioner ADD COLUMN IF NOT EXISTS explanation VARCHAR;  -- a store file made before the column
CREATE TABLE IF NOT EXISTS identifier (kind VARCHAR, value VARCHAR, shared BOOLEAN);
CREATE TABLE IF NOT EXISTS holds (person_id VARCHAR, kind VARCHAR, value VARCHAR, origin VARCHAR, shared BOOLEAN);
CREATE TABLE IF NOT EXISTS event (
    key VARCHAR, label VARCHAR, source VARCHAR, kind VARCHAR, record_id VARCHAR, occurred_at TIMESTAMP,
    id_number VARCHAR, phone VARCHAR, card_no VARCHAR, passed BOOLEAN, operator VARCHAR,
    person_id VARCHAR, probability DOUBLE, method VARCHAR, round_id VARCHAR);
CREATE TABLE IF NOT EXISTS flag (
    flag_id VARCHAR PRIMARY KEY, person_id VARCHAR, kind VARCHAR, severity VARCHAR, detail VARCHAR,
    status VARCHAR, overpayment DOUBLE, round_id VARCHAR, county_code VARCHAR, ring_id VARCHAR,
    decided_by VARCHAR, decided_at VARCHAR, note VARCHAR);
CREATE TABLE IF NOT EXISTS flag_citation (flag_id VARCHAR, event_key VARCHAR, PRIMARY KEY (flag_id, event_key));
CREATE TABLE IF NOT EXISTS round (round_id VARCHAR PRIMARY KEY, as_of DATE, published_at TIMESTAMP);
CREATE TABLE IF NOT EXISTS verdict (
    person_id VARCHAR, round_id VARCHAR, status VARCHAR, method VARCHAR, source VARCHAR, evidence_at DATE,
    probability DOUBLE, certified_until DATE, period_state VARCHAR);
CREATE TABLE IF NOT EXISTS audit (
    seq BIGINT PRIMARY KEY, "at" VARCHAR, actor VARCHAR, action VARCHAR, person_id VARCHAR, subject VARCHAR,
    sources VARCHAR[], before VARCHAR, after VARCHAR, prev_hash VARCHAR, hash VARCHAR);
"""

# The lookup indexes, by table. A publish into an empty table drops its indexes first and builds them after the
# commit: DuckDB adds each inserted row to an index at commit, on one core, while CREATE INDEX over the committed
# table builds it in parallel (docs/benchmarks.md, "Embedded publish"). The drop has to be committed before the
# rows go in: dropped inside the publish's transaction, the commit was as slow as with the indexes kept.
INDEXES = {
    "pensioner": {"pensioner_id_number": "id_number"},
    "holds": {"holds_person": "person_id", "holds_value": "value"},
    "event": {"event_person": "person_id"},
    "audit": {"audit_person": "person_id"},
}
_INDEX = """
CREATE INDEX IF NOT EXISTS {name} ON {table} ({column});"""
_CREATE_INDEXES = "".join(_INDEX.format(name=name, table=table, column=column)
                          for table, indexes in INDEXES.items() for name, column in indexes.items())
_DEFERRED = ("pensioner", "holds", "event")  # tables a round publish fills (audit is appended after it)

_SEVERITY_RANK = ("CASE severity WHEN 'critical' THEN 0 WHEN 'high' THEN 1 WHEN 'medium' THEN 2 WHEN 'low' THEN 3 "
                  "ELSE 4 END")

_COUNTS = """
SELECT 'Pensioner', count(*) FROM pensioner
UNION ALL SELECT CASE kind WHEN 'id_number' THEN 'IdNumber' WHEN 'phone' THEN 'Phone' ELSE 'Card' END, count(*)
    FROM identifier GROUP BY kind
UNION ALL SELECT label, count(*) FROM event GROUP BY label
UNION ALL SELECT 'Flag', count(*) FROM flag
UNION ALL SELECT 'Round', count(*) FROM round
UNION ALL SELECT 'AuditEntry', count(*) FROM audit
UNION ALL SELECT CASE kind WHEN 'id_number' THEN 'HAS_ID' WHEN 'phone' THEN 'HAS_PHONE' ELSE 'HAS_CARD' END, count(*)
    FROM holds GROUP BY kind
UNION ALL SELECT 'OBSERVED_ON', count(id_number) + count(phone) + count(card_no) FROM event
UNION ALL SELECT 'RESOLVED_TO', count(person_id) FROM event
UNION ALL SELECT 'CONCERNS', count(*) FROM flag JOIN pensioner USING (person_id)
UNION ALL SELECT 'CITES', count(*) FROM flag_citation
UNION ALL SELECT 'VERDICT', count(*) FROM verdict
UNION ALL SELECT 'ABOUT', count(*) FROM audit JOIN pensioner USING (person_id)
"""


# GraphStore.held_periods: the previous round's verdicts in $states, and where each person's run of them began.
_HELD_PERIODS = """
WITH previous AS (
    SELECT round_id, as_of FROM round WHERE round_id <> $round AND as_of < $as_of
    ORDER BY as_of DESC, round_id DESC LIMIT 1),
held AS (
    SELECT v.person_id, v.status, v.period_state FROM verdict v JOIN previous USING (round_id)
    WHERE list_contains($states, v.period_state)),
history AS (
    SELECT v.person_id, r.as_of, list_contains($states, v.period_state) AS in_state
    FROM verdict v JOIN round r USING (round_id) SEMI JOIN held h USING (person_id)
    WHERE r.round_id <> $round AND r.as_of <= (SELECT as_of FROM previous)),
last_other AS (
    SELECT person_id, max(as_of) FILTER (WHERE NOT in_state) AS as_of FROM history GROUP BY person_id)
SELECT h.person_id, h.status, h.period_state, min(r.as_of) AS since
FROM held h JOIN last_other o USING (person_id) JOIN history r USING (person_id)
WHERE r.in_state AND (o.as_of IS NULL OR r.as_of > o.as_of)
GROUP BY ALL ORDER BY h.person_id
"""


DEFAULT_MEMORY_LIMIT = "2GB"


class EmbeddedStore(GraphStore):
    """The graph in one DuckDB file (or ``":memory:"``). Opening it creates the tables when they are missing.

    DuckDB's buffer pool is bounded by `memory_limit` (None: DuckDB's default, 80% of RAM); a publish larger than
    that spills to ``<path>.tmp``."""

    def __init__(self, path: str | Path, *, read_only: bool = False, memory_limit: str | None = DEFAULT_MEMORY_LIMIT,
                 compress_strings: bool = False):
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        try:
            self._con = duckdb.connect(self.path, read_only=read_only)
        except duckdb.IOException as exc:
            raise StoreUnavailable(f"embedded store {self.path} cannot be opened (in use by another process?): "
                                   f"{exc}") from exc
        self._audit_lock = threading.Lock()
        self._bound(memory_limit, compress_strings)
        if not read_only:
            self.apply_schema()

    def _bound(self, memory_limit: str | None, compress_strings: bool) -> None:
        """Memory of the connection; no statement relies on insertion order (every read says ORDER BY)."""
        if memory_limit:
            self._con.execute("SET memory_limit = $limit", {"limit": memory_limit})
        if self.path != ":memory:":
            self._con.execute("SET temp_directory = $spill", {"spill": f"{self.path}.tmp"})
        self._con.execute("SET preserve_insertion_order = false")
        # DuckDB's dictionary+FSST string compression: off by default, since it once made writing the events much
        # slower (docs/benchmarks.md, "String compression") and lookups that scan strings are faster without it.
        # Rounds too big for the disk turn it back on (`[resources] compress_strings`).
        if not compress_strings:
            self._con.execute("SET disabled_compression_methods = 'dict_fsst'")

    def apply_schema(self) -> None:
        with self._con.cursor() as cur:
            _fold_resolved_to(cur)
            cur.execute(TABLES)
            cur.execute(_CREATE_INDEXES)

    def publish_round(self, export: RoundExport, progress: Progress | None = None) -> dict[str, int]:
        """Write the round in one transaction. The indexes of tables it fills from empty are built after it, whether
        it commits or not; a process killed before they are leaves a store that reads correctly (by scans) and gets
        them back the next time it is opened for writing (apply_schema)."""
        with self._con.cursor() as cur:
            for table in _DEFERRED:
                if empty(cur, table):
                    for index in INDEXES[table]:
                        cur.execute(f"DROP INDEX IF EXISTS {index}")
            try:
                cur.execute("BEGIN TRANSACTION")
                try:
                    written = publish(cur, export, progress)
                except BaseException:
                    cur.execute("ROLLBACK")
                    raise
                cur.execute("COMMIT")
            finally:
                cur.execute(_CREATE_INDEXES)
        return written

    def apply_retention(self, since: date) -> dict[str, int]:
        with self._transaction() as cur:
            return embedded_retention.prune(cur, since)

    def person(self, *, person_id: str | None = None, id_number: str | None = None) -> Person | None:
        if person_id is not None:
            found = self._rows("SELECT * FROM pensioner WHERE person_id = ?", [person_id])
        else:
            found = self._rows("""SELECT * FROM pensioner
                                  WHERE person_id = (SELECT min(person_id) FROM pensioner WHERE id_number = ?)""",
                               [id_number])
        return rows.person(found[0] if found else None)

    def identifiers(self, person_id: str) -> list[Identifier]:
        held = self._rows("SELECT kind, value, origin FROM holds WHERE person_id = ? ORDER BY kind, value", [person_id])
        if not held:
            return []
        values = [h["value"] for h in held]
        holders = {(r["kind"], r["value"]): r for r in self._rows(
            f"""SELECT kind, value, count(*) AS holders, bool_or(coalesce(shared, false)) AS shared FROM holds
                WHERE value IN ({", ".join("?" * len(values))}) GROUP BY kind, value""",
            values,
        )}
        return [rows.identifier({**h, **holders[(h["kind"], h["value"])]}) for h in held]

    def evidence(self, person_id: str, since: date | None = None) -> list[EvidenceEdge]:
        start = datetime.combine(since, time()) if since else None
        found = self._rows(
            """SELECT source, kind, record_id, occurred_at, probability AS link_probability, method, round_id, passed
               FROM event
               WHERE person_id = ? AND (?::TIMESTAMP IS NULL OR occurred_at >= ?::TIMESTAMP)
               ORDER BY occurred_at DESC, key""",
            [person_id, start, start],
        )
        return [rows.evidence(r) for r in found]

    def record_certification(self, cert: ChannelCertification, round_id: str) -> None:
        with self._transaction() as cur:
            _record_certification(cur, cert, round_id)

    def update_person(self, person: Person) -> None:
        with self._transaction() as cur:
            _update_person(cur, person)

    def periods(self, before_round: str | None = None) -> pa.Table:
        query = """
            WITH here AS (  -- the pensioners whose latest verdict came from $round, and that verdict's period
                SELECT p.person_id, p.status, p.certified_until, v.certified_until AS published_until
                FROM pensioner p LEFT JOIN verdict v ON v.person_id = p.person_id AND v.round_id = $round
                WHERE p.round_id = $round),
            live AS (  -- certified by a face or in-person check recorded after $round was published
                SELECT person_id, status, certified_until FROM here
                WHERE certified_until > coalesce(published_until, DATE '0001-01-01'))
            SELECT person_id, status, certified_until FROM pensioner
            WHERE $round IS NULL OR round_id IS DISTINCT FROM $round
            UNION ALL
            SELECT * FROM live
            UNION ALL
            SELECT v.person_id, arg_max(v.status, r.as_of), arg_max(v.certified_until, r.as_of)
            FROM verdict v JOIN round r USING (round_id) SEMI JOIN here h ON h.person_id = v.person_id
            WHERE v.round_id <> $round AND v.person_id NOT IN (SELECT person_id FROM live)
            GROUP BY v.person_id
            ORDER BY person_id"""
        with self._con.cursor() as cur:
            return cur.sql(query, params={"round": before_round}).to_arrow_table()

    def held_periods(self, round_id: str, as_of: date, states: Sequence[str]) -> pa.Table:
        with self._con.cursor() as cur:
            return cur.sql(_HELD_PERIODS, params={"round": round_id, "as_of": as_of,
                                                  "states": list(states)}).to_arrow_table()

    def flags(self, flt: FlagFilter) -> list[Flag]:
        found = self._rows(
            f"""SELECT * FROM flag
                WHERE (?::VARCHAR IS NULL OR kind = ?) AND (?::VARCHAR IS NULL OR severity = ?)
                  AND (?::VARCHAR IS NULL OR county_code = ?) AND (?::VARCHAR IS NULL OR status = ?)
                ORDER BY {_SEVERITY_RANK}, coalesce(overpayment, 0.0) DESC, flag_id
                LIMIT ? OFFSET ?""",
            [flt.kind, flt.kind, flt.severity, flt.severity, flt.county_code, flt.county_code,
             flt.status, flt.status, flt.limit, flt.offset],
        )
        return [rows.flag(r) for r in found]

    def flag(self, flag_id: str) -> FlagDetail:
        found = self._rows("SELECT * FROM flag WHERE flag_id = ?", [flag_id])
        if not found:
            raise NotFound(f"no flag {flag_id!r}")
        person = self._rows("SELECT * FROM pensioner WHERE person_id = ?", [found[0]["person_id"]])
        cited = self._rows(
            """SELECT e.label, e.key, e.source, e.kind, e.record_id, e.occurred_at, e.passed, q.person_id,
                      q.name AS person_name, q.status AS person_status, e.probability, e.method, e.round_id
               FROM flag_citation c JOIN event e ON e.key = c.event_key
               LEFT JOIN pensioner q ON q.person_id = e.person_id
               WHERE c.flag_id = ?""",
            [flag_id],
        )
        return rows.flag_detail(found[0], person[0] if person else None, cited)

    def decided_flags(self) -> list[Flag]:
        return [rows.flag(r) for r in self._rows("SELECT * FROM flag WHERE status <> 'open' ORDER BY flag_id")]

    def save_decision(self, decision: Decision) -> Flag:
        with self._transaction() as cur:
            return _save_decision(cur, decision)

    def append_audit(self, entries: Sequence[AuditEntry]) -> None:
        if entries:
            with self._transaction() as cur:
                _append_audit(cur, entries)

    def commit_audited(self, change: AuditedChange, entry_of: EntryOf) -> tuple[Flag | None, AuditEntry]:
        # The file opens in one process: serialising its audited writes here spares racing callers the
        # conflict (and their retry) that DuckDB's optimistic concurrency would otherwise give all but one.
        with self._audit_lock, self._transaction() as cur:
            flag = _save_decision(cur, change.decision) if change.decision else None
            if change.certification:
                _record_certification(cur, change.certification, change.certification_round)
            if change.person:
                _update_person(cur, change.person)
            head = _dicts(cur.execute("SELECT * FROM audit ORDER BY seq DESC LIMIT 1"))
            entry = entry_of(rows.audit_entry(head[0] if head else None), flag)
            _append_audit(cur, [entry])
        return flag, entry

    def round_as_of(self, round_id: str) -> date | None:
        found = self._rows("SELECT as_of FROM round WHERE round_id = ?", [round_id])
        return found[0]["as_of"] if found else None

    @contextmanager
    def _transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A cursor in a transaction, committed when the block ends and rolled back when it raises. A write that
        clashes with a concurrent one fails (DuckDB's optimistic concurrency) and leaves nothing."""
        with self._con.cursor() as cur:
            cur.execute("BEGIN TRANSACTION")
            try:
                yield cur
            except BaseException:
                cur.execute("ROLLBACK")
                raise
            try:
                cur.execute("COMMIT")
            except duckdb.TransactionException as clash:
                raise Conflict(f"a concurrent write changed the same rows; nothing was saved ({clash})") from None

    def last_audit(self) -> AuditEntry | None:
        found = self._rows("SELECT * FROM audit ORDER BY seq DESC LIMIT 1")
        return rows.audit_entry(found[0] if found else None)

    def audit_trail(self, person_id: str | None = None) -> list[AuditEntry]:
        found = self._rows("SELECT * FROM audit WHERE ?::VARCHAR IS NULL OR person_id = ? ORDER BY seq",
                           [person_id, person_id])
        return [rows.audit_entry(r) for r in found]

    def counts(self) -> dict[str, int]:
        found = dict.fromkeys((*NODE_LABELS, *RELATIONSHIP_TYPES), 0)
        with self._con.cursor() as cur:
            found.update({name: int(n) for name, n in cur.execute(_COUNTS).fetchall()})
        return found

    def close(self) -> None:
        self._con.close()

    def _rows(self, sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
        with self._con.cursor() as cur:
            cur.execute(sql, params or [])
            return _dicts(cur)


def _record_certification(cur: duckdb.DuckDBPyConnection, cert: ChannelCertification, round_id: str) -> None:
    """The check as an Event resolved to the person; Conflict when its record_id is another pensioner's record."""
    key = f"{cert.channel}/{cert.record_id}"
    if not cur.execute("SELECT 1 FROM pensioner WHERE person_id = ?", [cert.person_id]).fetchone():
        raise NotFound(f"no pensioner {cert.person_id!r}")
    holders = {r[0] for r in cur.execute("SELECT person_id FROM event WHERE key = ?", [key]).fetchall()}
    if holders - {cert.person_id, None}:
        raise Conflict(f"record_id {cert.record_id!r} of channel {cert.channel} is already recorded for another "
                       "pensioner")
    occurred_at = cert.occurred_at.replace(tzinfo=None)
    moved = cur.execute(
        """UPDATE event SET occurred_at = $at, passed = $passed, operator = $operator, person_id = $person,
               round_id = $round, probability = CASE WHEN person_id IS NULL THEN 1.0 ELSE probability END,
               method = CASE WHEN person_id IS NULL THEN 'direct' ELSE method END
           WHERE key = $key RETURNING key""",
        {"at": occurred_at, "passed": cert.passed, "operator": cert.operator, "person": cert.person_id,
         "round": round_id, "key": key}).fetchall()
    if not moved:
        cur.execute(
            """INSERT INTO event (key, label, source, kind, record_id, occurred_at, passed, operator,
                                  person_id, probability, method, round_id)
               VALUES (?, 'Event', ?, ?, ?, ?, ?, ?, ?, 1.0, 'direct', ?)""",
            [key, cert.channel, cert.channel, cert.record_id, occurred_at, cert.passed, cert.operator,
             cert.person_id, round_id])


def _update_person(cur: duckdb.DuckDBPyConnection, person: Person) -> None:
    values = [getattr(person, f) for f in rows.VERDICT_FIELDS]
    sets = ", ".join(f"{f} = ?" for f in rows.VERDICT_FIELDS)
    if not cur.execute(f"UPDATE pensioner SET {sets} WHERE person_id = ? RETURNING person_id",
                       [*values, person.person_id]).fetchall():
        raise NotFound(f"no pensioner {person.person_id!r}")


def _save_decision(cur: duckdb.DuckDBPyConnection, decision: Decision) -> Flag:
    current = cur.execute("SELECT status FROM flag WHERE flag_id = ?", [decision.flag_id]).fetchone()
    status = consistency.decided_status(current[0] if current else None, decision)
    cur.execute("UPDATE flag SET status = ?, decided_by = ?, decided_at = ?, note = ? WHERE flag_id = ? RETURNING *",
                [status, decision.reviewer, decision.decided_at.isoformat(), decision.note, decision.flag_id])
    return rows.flag(_dicts(cur)[0])


def _append_audit(cur: duckdb.DuckDBPyConnection, entries: Sequence[AuditEntry]) -> None:
    cur.register("new_audit", pa.Table.from_pylist([rows.audit_row(e) for e in entries]))
    try:
        stored = cur.execute("SELECT seq, hash FROM audit WHERE seq IN (SELECT seq FROM new_audit)").fetchall()
        consistency.check_appended(entries, stored)
        cur.execute("INSERT INTO audit BY NAME SELECT * FROM new_audit ON CONFLICT DO NOTHING")
    finally:
        cur.unregister("new_audit")


def _fold_resolved_to(cur: duckdb.DuckDBPyConnection) -> None:
    """A store made before RESOLVED_TO moved onto the event row kept it in a table of its own: fold it in."""
    tables = {name for (name,) in cur.execute("SELECT table_name FROM duckdb_tables() WHERE schema_name = 'main'")
              .fetchall()}
    if "resolved_to" not in tables:
        return
    if "event" in tables:
        cur.execute("""CREATE TABLE event_folded AS
                       SELECT e.*, r.person_id, r.probability, r.method, r.round_id
                       FROM event e LEFT JOIN resolved_to r USING (key)""")
        cur.execute("DROP TABLE event")
        cur.execute("ALTER TABLE event_folded RENAME TO event")
    cur.execute("DROP TABLE resolved_to")


def _dicts(cur: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r)) for r in cur.fetchall()]
