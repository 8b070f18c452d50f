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
and a flag's citations do).

A round is published set-wise (graph.embedded_publish: each export table streamed once into a temporary table, then
``INSERT ... SELECT``, merged by key unless the table is empty) in one transaction: a failed publish leaves nothing,
a repeated one changes nothing. Into empty tables (a province's first publish) the rows go without their lookup
indexes, which are built after the commit (:data:`INDEXES`).
"""

from __future__ import annotations

import itertools
import threading
from collections import deque
from collections.abc import Hashable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from silentcert.graph import consistency, embedded_retention, rows, sql
from silentcert.graph import embedded_queries as q
from silentcert.graph.coalesce import Coalescer
from silentcert.graph.embedded_publish import empty, publish
from silentcert.graph.errors import Conflict, NotFound, StoreUnavailable
from silentcert.graph.model import (
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
from silentcert.graph.store import (
    NODE_LABELS,
    RELATIONSHIP_TYPES,
    AuditedChange,
    EntryOf,
    GraphStore,
    LivenessPage,
    PageEntry,
    Progress,
    RoundExport,
)

TABLES = q.TABLES
INDEXES = q.INDEXES
_DEFERRED = ("pensioner", "holds", "event")  # tables a round publish fills (audit is appended after it)

_NO_LIMIT = 2**62

DEFAULT_MEMORY_LIMIT = "2GB"
CHANGES_KEPT = 10_000  # writes changed_people can name; an answer cache further behind than that starts afresh


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
        # The file opens in one process, so every write goes through this object: a counter it moves after each
        # commit is the store's generation (GraphStore.generation), and it logs whose answers each write may have
        # changed (changed_people), None for a write that may have changed anyone's.
        self._writes = itertools.count(1)
        self._generation = 0
        self._changes_lock = threading.Lock()
        self._changes: deque[tuple[int, frozenset[str] | None]] = deque(maxlen=CHANGES_KEPT)
        self._liveness = Coalescer(self._liveness_batch)
        self._bound(memory_limit, compress_strings)
        if not read_only:
            self.apply_schema()

    def _bound(self, memory_limit: str | None, compress_strings: bool) -> None:
        """Memory of the connection; no statement relies on insertion order (every read says ORDER BY)."""
        if memory_limit:
            sql.set_memory_limit(self._con, "store_memory_limit", memory_limit)
        if self.path != ":memory:":
            sql.run(self._con, "store_spill", q.SET_SPILL, {"spill": f"{self.path}.tmp"})
        sql.run(self._con, "store_insertion_order", q.NO_INSERTION_ORDER)
        # DuckDB's dictionary+FSST string compression: off by default, since it once made writing the events much
        # slower (docs/benchmarks.md, "String compression") and lookups that scan strings are faster without it.
        # Rounds too big for the disk turn it back on (`[resources] compress_strings`).
        if not compress_strings:
            sql.run(self._con, "store_no_dict_fsst", q.NO_DICT_FSST)

    def apply_schema(self) -> None:
        with self._con.cursor() as cur:
            sql.run(cur, "store_tables", q.TABLES)
            sql.run(cur, "store_indexes", q.CREATE_INDEXES)

    def publish_round(self, export: RoundExport, progress: Progress | None = None) -> dict[str, int]:
        """Write the round in one transaction. The indexes of tables it fills from empty are built after it, whether
        it commits or not; a process killed before they are leaves a store that reads correctly (by scans) and gets
        them back the next time it is opened for writing (apply_schema)."""
        with self._con.cursor() as cur:
            for table in _DEFERRED:
                if empty(cur, table):
                    for index in INDEXES[table]:
                        sql.run(cur, "store_drop_index", sql.with_idents(q.DROP_INDEX, index=index))
            try:
                sql.run(cur, "publish_begin", q.BEGIN)
                try:
                    written = publish(cur, export, progress)
                except BaseException:
                    sql.run(cur, "publish_rollback", q.ROLLBACK)
                    raise
                sql.run(cur, "publish_commit", q.COMMIT)
            finally:
                self._moved(None)
                sql.run(cur, "store_indexes", q.CREATE_INDEXES)
        return written

    def apply_retention(self, since: date, held_states: Sequence[str]) -> dict[str, int]:
        with self._transaction(None) as cur:
            return embedded_retention.prune(cur, since, held_states)

    def person(self, *, person_id: str | None = None, id_number: str | None = None) -> Person | None:
        if person_id is not None:
            found = self._rows("person", q.PERSON, {"person_id": person_id})
        else:
            found = self._rows("person_by_id_number", q.PERSON_BY_ID_NUMBER, {"id_number": id_number})
        return rows.person(found[0] if found else None)

    def person_evidence(self, *, person_id: str | None = None, id_number: str | None = None,
                        since: date | None = None, limit: int | None = None) -> tuple[Person, list[EvidenceEdge]] | None:
        """As GraphStore's; concurrent calls share queries (graph/coalesce.py): a lone call runs person() and
        evidence() (the cheapest for one key), a batch one query for its people and one for their records."""
        key = person_id if person_id is not None else id_number
        if key is None:
            return None
        return self._liveness.get(("person_id" if person_id is not None else "id_number", since, limit), key)

    def _liveness_batch(self, group: tuple[str, date | None, int | None],
                        keys: Sequence[str]) -> dict[str, tuple[Person, list[EvidenceEdge]]]:
        kind, since, limit = group
        if len(set(keys)) == 1:
            found = GraphStore.person_evidence(self, since=since, limit=limit, **{kind: keys[0]})
            return {keys[0]: found} if found else {}
        people = self._rows("liveness_people", q.PEOPLE_BY_IDS if kind == "person_id" else q.PEOPLE_BY_ID_NUMBERS,
                            {"keys": list(set(keys))})
        evidence = self._evidence_of([p["person_id"] for p in people], since, limit)
        return {p["key"]: (rows.person(p), evidence[p["person_id"]]) for p in people}

    def _evidence_of(self, people: list[str], since: date | None,
                     limit: int | None) -> dict[str, list[EvidenceEdge]]:
        """The newest `limit` records of each of `people` on or after `since`, newest first."""
        start = datetime.combine(since, time()) if since else None
        evidence: dict[str, list[EvidenceEdge]] = {p: [] for p in people}
        for row in self._rows("liveness_evidence", q.EVIDENCE_OF, {"people": people, "since": start,
                                             "limit": limit if limit is not None else _NO_LIMIT}):
            evidence[row["person_id"]].append(rows.evidence(row))
        return evidence

    def generation(self) -> int:
        return self._generation

    def changed_people(self, first: Hashable, second: Hashable) -> frozenset[str] | None:
        if not isinstance(first, int) or not isinstance(second, int):
            return None
        low, high = sorted((first, second))
        changed: set[str] = set()
        with self._changes_lock:
            if low < high and (not self._changes or self._changes[0][0] > low + 1):
                return None  # some of the writes between them are no longer logged
            for generation, people in reversed(self._changes):
                if generation <= low:
                    break
                if generation <= high:
                    if people is None:
                        return None
                    changed.update(people)
        return frozenset(changed)

    def _moved(self, people: frozenset[str] | None) -> None:
        """Move the generation past a write (committed or not) that may have changed `people`'s answers (None:
        anyone's). Logged before the generation moves, so a reader who sees the new one finds the write."""
        with self._changes_lock:
            generation = next(self._writes)
            self._changes.append((generation, people))
            self._generation = generation

    lists_liveness_pages = True

    def liveness_pages(self, limit: int | None, page_size: int) -> Iterator[LivenessPage]:
        after: str | None = None
        while True:
            generation = self._generation
            people = self._rows("liveness_page", q.LIVENESS_PAGE, {"after": after, "size": page_size})
            if not people:
                return
            after = people[-1]["person_id"]
            found = self._evidence_of([p["person_id"] for p in people], None, limit)
            yield generation, [PageEntry(rows.person(p), found[p["person_id"]],
                                         p["id_number"] if p["answers_id_number"] else None) for p in people]

    def identifiers(self, person_id: str) -> list[Identifier]:
        held = self._rows("held_identifiers", q.HELD, {"person_id": person_id})
        return [rows.identifier({**h, **self._rows("identifier_holders", q.HOLDERS, h)[0]}) for h in held]

    def evidence(self, person_id: str, since: date | None = None) -> list[EvidenceEdge]:
        start = datetime.combine(since, time()) if since else None
        found = self._rows("evidence", q.EVIDENCE, {"person_id": person_id, "since": start})
        return [rows.evidence(r) for r in found]

    def record_certification(self, cert: ChannelCertification, round_id: str) -> None:
        with self._transaction(frozenset({cert.person_id})) as cur:
            _record_certification(cur, cert, round_id)

    def update_person(self, person: Person) -> None:
        with self._transaction(frozenset({person.person_id})) as cur:
            _update_person(cur, person)

    def periods(self, before_round: str | None = None) -> pa.Table:
        with self._con.cursor() as cur:
            return sql.arrow(cur, "periods", q.PERIODS, {"round": before_round})

    def held_periods(self, round_id: str, as_of: date, states: Sequence[str]) -> pa.Table:
        with self._con.cursor() as cur:
            return sql.arrow(cur, "held_periods", q.HELD_PERIODS,
                             {"round": round_id, "as_of": as_of, "states": list(states)})

    def flags(self, flt: FlagFilter) -> list[Flag]:
        found = self._rows("flags", q.FLAGS, {"kind": flt.kind, "severity": flt.severity,
                                              "county_code": flt.county_code, "status": flt.status,
                                              "person_id": flt.person_id,
                                              "limit": flt.limit, "offset": flt.offset})
        return [rows.flag(r) for r in found]

    def flag(self, flag_id: str) -> FlagDetail:
        found = self._rows("flag", q.FLAG, {"flag_id": flag_id})
        if not found:
            raise NotFound(f"no flag {flag_id!r}")
        person = self._rows("person", q.PERSON, {"person_id": found[0]["person_id"]})
        cited = self._rows("flag_cited", q.CITED, {"flag_id": flag_id})
        return rows.flag_detail(found[0], person[0] if person else None, cited)

    def decided_flags(self) -> list[Flag]:
        return [rows.flag(r) for r in self._rows("decided_flags", q.DECIDED_FLAGS)]

    def save_decision(self, decision: Decision) -> Flag:
        with self._transaction(frozenset()) as cur:  # a flag is no part of a pensioner's liveness answer
            return _save_decision(cur, decision)

    def append_audit(self, entries: Sequence[AuditEntry]) -> None:
        if entries:
            with self._transaction(frozenset()) as cur:
                _append_audit(cur, entries)

    def commit_audited(self, change: AuditedChange, entry_of: EntryOf) -> tuple[Flag | None, AuditEntry]:
        # The file opens in one process: serialising its audited writes here spares racing callers the
        # conflict (and their retry) that DuckDB's optimistic concurrency would otherwise give all but one.
        touched = {p.person_id for p in (change.certification, change.person) if p is not None}
        with self._audit_lock, self._transaction(frozenset(touched)) as cur:
            flag = _save_decision(cur, change.decision) if change.decision else None
            if change.certification:
                _record_certification(cur, change.certification, change.certification_round)
            if change.person:
                _update_person(cur, change.person)
            head = _dicts(sql.run(cur, "last_audit", q.LAST_AUDIT))
            entry = entry_of(rows.audit_entry(head[0] if head else None), flag)
            _append_audit(cur, [entry])
        return flag, entry

    def round_as_of(self, round_id: str) -> date | None:
        found = self._rows("round_as_of", q.ROUND_AS_OF, {"round_id": round_id})
        return found[0]["as_of"] if found else None

    @contextmanager
    def _transaction(self, people: frozenset[str] | None) -> Iterator[duckdb.DuckDBPyConnection]:
        """A cursor in a transaction, committed when the block ends and rolled back when it raises. A write that
        clashes with a concurrent one fails (DuckDB's optimistic concurrency) and leaves nothing. `people`: whose
        liveness answers the write may change (None: anyone's)."""
        with self._con.cursor() as cur:
            sql.run(cur, "begin", q.BEGIN)
            try:
                yield cur
            except BaseException:
                sql.run(cur, "rollback", q.ROLLBACK)
                raise
            try:
                sql.run(cur, "commit", q.COMMIT)
            except duckdb.TransactionException as clash:
                raise Conflict(f"a concurrent write changed the same rows; nothing was saved ({clash})") from None
            finally:
                self._moved(people)

    def last_audit(self) -> AuditEntry | None:
        found = self._rows("last_audit", q.LAST_AUDIT)
        return rows.audit_entry(found[0] if found else None)

    def audit_trail(self, person_id: str | None = None) -> list[AuditEntry]:
        found = self._rows("audit_trail", q.AUDIT_TRAIL, {"person_id": person_id})
        return [rows.audit_entry(r) for r in found]

    def audited(self, actions: Sequence[str], before: datetime) -> pa.Table:
        with self._con.cursor() as cur:
            return sql.arrow(cur, "audited", q.AUDITED, {"actions": list(actions), "before": before.isoformat()})

    def counts(self) -> dict[str, int]:
        found = dict.fromkeys((*NODE_LABELS, *RELATIONSHIP_TYPES), 0)
        with self._con.cursor() as cur:
            found.update({name: int(n) for name, n in sql.fetchall(cur, "counts", q.COUNTS)})
        return found

    def close(self) -> None:
        self._con.close()

    def _rows(self, name: str, statement: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        with self._con.cursor() as cur:
            return _dicts(sql.run(cur, name, statement, params))


def _record_certification(cur: duckdb.DuckDBPyConnection, cert: ChannelCertification, round_id: str) -> None:
    """The check as an Event resolved to the person; Conflict when its record_id is another pensioner's record."""
    key = f"{cert.channel}/{cert.record_id}"
    if not sql.fetchone(cur, "pensioner_exists", q.PENSIONER_EXISTS, {"person_id": cert.person_id}):
        raise NotFound(f"no pensioner {cert.person_id!r}")
    holders = {r[0] for r in sql.fetchall(cur, "event_holders", q.EVENT_HOLDERS, {"key": key})}
    if holders - {cert.person_id, None}:
        raise Conflict(f"record_id {cert.record_id!r} of channel {cert.channel} is already recorded for another "
                       "pensioner")
    occurred_at = cert.occurred_at.replace(tzinfo=None)
    params = {"at": occurred_at, "passed": cert.passed, "operator": cert.operator, "person": cert.person_id,
              "round": round_id, "key": key, "channel": cert.channel, "record_id": cert.record_id}
    if not sql.fetchall(cur, "move_certification", q.MOVE_CERTIFICATION, params):
        sql.run(cur, "insert_certification", q.INSERT_CERTIFICATION, params)


# the verdict fields as "field" = $field, quoted once from graph.rows' fixed list
_UPDATE_PERSON = q.UPDATE_PERSON.replace(
    "{assignments}", ", ".join(f"{sql.quote_ident(f)} = ${f}" for f in rows.VERDICT_FIELDS))


def _update_person(cur: duckdb.DuckDBPyConnection, person: Person) -> None:
    params = {f: getattr(person, f) for f in rows.VERDICT_FIELDS}
    if not sql.fetchall(cur, "update_person", _UPDATE_PERSON, {**params, "person_id": person.person_id}):
        raise NotFound(f"no pensioner {person.person_id!r}")


def _save_decision(cur: duckdb.DuckDBPyConnection, decision: Decision) -> Flag:
    current = sql.fetchone(cur, "flag_status", q.FLAG_STATUS, {"flag_id": decision.flag_id})
    status = consistency.decided_status(current[0] if current else None, decision)
    decided = sql.run(cur, "decide_flag", q.DECIDE_FLAG,
                      {"status": status, "decided_by": decision.reviewer, "flag_id": decision.flag_id,
                       "decided_at": decision.decided_at.isoformat(), "note": decision.note})
    return rows.flag(_dicts(decided)[0])


def _append_audit(cur: duckdb.DuckDBPyConnection, entries: Sequence[AuditEntry]) -> None:
    cur.register("new_audit", pa.Table.from_pylist([rows.audit_row(e) for e in entries]))
    try:
        stored = sql.fetchall(cur, "stored_audit", q.STORED_AUDIT)
        consistency.check_appended(entries, stored)
        sql.run(cur, "append_audit", q.APPEND_AUDIT)
    finally:
        cur.unregister("new_audit")


def _dicts(cur: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r)) for r in cur.fetchall()]
