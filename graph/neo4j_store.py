"""The Neo4j graph store: the identity graph in Neo4j 5 through the official driver, passed in.

Every statement comes from :mod:`graph.catalog`. Reads and writes run as managed transactions
(``execute_read`` / ``execute_write``), so the driver retries transient errors itself; tenacity retries what the
driver gives up on — no server yet at the first connection, or a server restarting (ServiceUnavailable) — with
bounded exponential backoff, then raises :class:`graph.errors.StoreUnavailable`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Sequence
from datetime import date, datetime, time
from typing import Any, TypeVar

import neo4j
import pyarrow as pa
from neo4j.exceptions import (
    AuthError,
    ServiceUnavailable,
    SessionExpired,
    TransientError,
)
from tenacity import (
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    stop_after_delay,
    wait_exponential,
)

from silentcert.graph import catalog, consistency, neo4j_publish, rows
from silentcert.graph.coalesce import Coalescer
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
    AUDITED_SCHEMA,
    NODE_LABELS,
    RELATIONSHIP_TYPES,
    AuditedChange,
    EntryOf,
    GraphStore,
    Progress,
    RoundExport,
)

T = TypeVar("T")
_LivenessQuery = tuple[str, datetime | None, int]  # (statement, since, limit): one coalesced batch
_Generation = tuple[str | None, int]  # (epoch, count) of the Generation node
_LivenessRead = tuple[_Generation, tuple[Person, list[EvidenceEdge]]]  # the generation read with the answer

_UNREACHABLE = (ServiceUnavailable, SessionExpired, OSError)
_NO_LIMIT = 2**62  # Cypher's LIMIT takes no null
_TRANSIENT_TRIES = 3  # an auto-commit read retried on TransientError (a managed transaction's driver would)
_PERSON_DATES = ("birth_date", "evidence_at", "certified_until")
# The schema is applied at every start with IF NOT EXISTS: the server's "index or constraint already exists"
# notification for each statement is expected, and the driver would log every one of them.
_QUIET_SCHEMA = {"notifications_disabled_classifications": [neo4j.NotificationDisabledClassification.SCHEMA]}


class Neo4jStore(GraphStore):
    """The graph in a Neo4j database. `retry_seconds` bounds how long an unreachable server is waited for;
    `batch_size` rows go in one write transaction of a publish, `writers` of them at once."""

    def __init__(self, driver: neo4j.Driver, database: str = "neo4j", batch_size: int = 10000, *,
                 writers: int = 2, retry_seconds: float = 60.0, close_driver: bool = False):
        self._driver = driver
        self.database = database
        self.batch_size = batch_size
        self.writers = writers  # sessions writing a publish's batches at once
        self.last_publish: neo4j_publish.PublishStats | None = None
        self.retry_seconds = retry_seconds
        self._close_driver = close_driver
        self._liveness: Coalescer[_LivenessQuery, str, _LivenessRead] = Coalescer(self._liveness_batch)
        self._generations: Coalescer[str, str, _Generation] = Coalescer(self._generation_batch)

    # -- the connection -------------------------------------------------------------------------------------

    def _retrying(self, work: Callable[[], T]) -> T:
        try:
            try:
                return work()  # the usual case, without building tenacity's machinery on every call
            except _UNREACHABLE:
                return self._retrier()(work)
        except AuthError as exc:
            raise StoreUnavailable(f"Neo4j at {_address(self._driver)} refused the credentials: {exc.code}") from exc
        except _UNREACHABLE as exc:
            raise StoreUnavailable(f"Neo4j at {_address(self._driver)} unreachable after "
                                   f"{self.retry_seconds:g} s of retries: {type(exc).__name__}") from exc

    def _retrier(self) -> Retrying:
        """Bounded exponential backoff for a server not up yet or restarting."""
        return Retrying(
            retry=retry_if_exception_type(_UNREACHABLE),
            wait=wait_exponential(multiplier=0.25, max=8),
            stop=stop_after_delay(self.retry_seconds) | stop_after_attempt(30),
            reraise=True,
        )

    def _read(self, work: Callable[[neo4j.ManagedTransaction], T]) -> T:
        def attempt() -> T:
            with self._driver.session(database=self.database) as session:
                return session.execute_read(work)
        return self._retrying(attempt)

    def _write(self, work: Callable[[neo4j.ManagedTransaction], T], **session_config: Any) -> T:
        def attempt() -> T:
            with self._driver.session(database=self.database, **session_config) as session:
                return session.execute_write(work)
        return self._retrying(attempt)

    def _write_answers(self, work: Callable[[neo4j.ManagedTransaction], T]) -> T:
        """A write that may change a liveness answer: it moves the generation in its own transaction (so a process
        that dies before the next step leaves it moved), and again once that transaction has committed: a reader
        may see part of a commit being applied (read committed), the generation before the rest, and keep an
        answer read meanwhile under it; the second move, made after the commit is whole, is the one a call that
        starts after the write returned compares against."""
        def both(tx: neo4j.ManagedTransaction) -> T:
            done = work(tx)
            _bump_generation(tx)
            return done
        done = self._write(both)
        self._write(_bump_generation)
        return done

    def _read_rows(self, name: str, **params: Any) -> list[dict[str, Any]]:
        return self._read(lambda tx: [r.data() for r in tx.run(catalog.query(name), params)])

    def _read_auto(self, name: str, **params: Any) -> list[neo4j.Record]:
        """The records of one read statement run in an auto-commit transaction, as the driver gives them
        (maps and lists are plain Python already): one network round trip, where a managed transaction's
        BEGIN, RUN and COMMIT take two or three — the GetLiveness path. A lone read has nothing to roll back;
        the store's retry covers an unreachable server and a transient error is retried here, as the driver
        would in a managed transaction."""
        query = catalog.query(name)

        def run() -> list[neo4j.Record]:
            with self._driver.session(database=self.database, default_access_mode=neo4j.READ_ACCESS) as session:
                return list(session.run(query, params))

        def attempt() -> list[neo4j.Record]:
            try:
                return run()  # the usual case, without building tenacity's machinery on every call
            except TransientError:
                return Retrying(retry=retry_if_exception_type(TransientError),
                                stop=stop_after_attempt(_TRANSIENT_TRIES - 1), reraise=True)(run)
        return self._retrying(attempt)

    def verify(self) -> None:
        """Wait (bounded) until the server answers; StoreUnavailable when it never does."""
        self._retrying(self._driver.verify_connectivity)

    # -- schema and publishing ------------------------------------------------------------------------------

    def apply_schema(self) -> None:
        """The plain indexes first, all in one transaction: the server populates them in the background, one job
        for all of them; then the constraints, one a transaction, each populating and checking its own index while
        that job runs: faster than one statement after the other in the file's order (the schema phase of
        docs/benchmarks.md, "Neo4j bulk import")."""
        statements = catalog.schema_statements()
        constraints = [s for s in statements if catalog.is_constraint(s)]

        def create_indexes(tx: neo4j.ManagedTransaction) -> None:
            for statement in statements:
                if statement not in constraints:
                    tx.run(statement).consume()
        self._write(create_indexes, **_QUIET_SCHEMA)
        for statement in constraints:
            self._write(functools.partial(_run_one, statement=statement), **_QUIET_SCHEMA)

    def await_indexes(self, timeout_seconds: int = 1800) -> None:
        """Block until every index and constraint is online (populating them after a bulk import takes a while)."""
        def run() -> None:
            with self._driver.session(database=self.database) as session:
                session.run(catalog.query("await_indexes"), timeout_seconds=timeout_seconds).consume()
        self._retrying(run)

    def publish_round(self, export: RoundExport, progress: Progress | None = None) -> dict[str, int]:
        """Only what changed since the graph's last publish is written, and readers see each person wholly before
        or after it (graph/neo4j_publish.py); what was sent is kept in `last_publish`."""
        written, self.last_publish = neo4j_publish.publish(self, export, progress)
        self._write(_bump_generation)
        return written

    def write_columns(self, query_name: str, columns: dict[str, list[Any]], count: int,
                      params: dict[str, Any]) -> None:
        """`count` rows through one query (as `$rows`: one list per column, `$count` long) in one managed write
        transaction (retried as a whole)."""
        query = catalog.query(query_name)
        self._write(lambda tx: tx.run(query, params, rows=columns, count=count).consume())

    def write_one(self, query_name: str, params: dict[str, Any]) -> dict[str, Any]:
        """The single row one write statement returns."""
        query = catalog.query(query_name)
        return self._write(lambda tx: tx.run(query, params).single(strict=True).data())

    def run_auto(self, query_name: str, params: dict[str, Any]) -> None:
        """One statement in an auto-commit transaction (CALL { } IN TRANSACTIONS needs one)."""
        self._auto(query_name, params)

    def _auto(self, query_name: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        """The rows of one statement run in an auto-commit transaction, retried while the server is unreachable
        (each such statement here is idempotent: a retry finishes what a failed run left)."""
        def run() -> list[dict[str, Any]]:
            with self._driver.session(database=self.database) as session:
                return session.run(catalog.query(query_name), params).data()
        return self._retrying(run)

    def read_pages(self, query_name: str, chunk: int) -> Iterator[tuple[list[Any], ...]]:
        """The pages of a paged read statement (publish_state_*.cypher): per page one record of column lists, the
        first the page's keys in order; a page starts at the last key of the one before (`$after`, repeated, so
        a key equal to "" is not skipped), which is dropped here."""
        after: str | None = None
        # the hashes' property keys do not exist before the first publish: no warning for that
        with self._driver.session(database=self.database, default_access_mode=neo4j.READ_ACCESS,
                                  notifications_disabled_classifications=["UNRECOGNIZED"]) as session:
            while True:
                params = {"after": "" if after is None else after, "chunk": chunk + (after is not None)}
                record = self._retrying(functools.partial(_single, session, catalog.query(query_name), params))
                page = tuple(list(c) for c in record.values())
                if after is not None and page[0] and page[0][0] == after:
                    page = tuple(c[1:] for c in page)
                if not page[0]:
                    return
                yield page
                after = page[0][-1]

    # -- people and evidence --------------------------------------------------------------------------------

    def person(self, *, person_id: str | None = None, id_number: str | None = None) -> Person | None:
        if person_id is not None:
            found = self._read_rows("person_by_id", person_id=person_id)
        else:
            found = self._read_rows("person_by_id_number", id_number=id_number)
        return rows.person(found[0]["row"] if found else None)

    def person_evidence(self, *, person_id: str | None = None, id_number: str | None = None,
                        since: date | None = None, limit: int | None = None) -> tuple[Person, list[EvidenceEdge]] | None:
        """The person and their newest evidence in one query (GetLiveness's read), dates and times as ISO text
        from the queries. Concurrent calls share queries (graph/coalesce.py): one per batch of lookups of a
        kind, `since` and `limit`."""
        return self.liveness_read(person_id=person_id, id_number=id_number, since=since, limit=limit)[1]

    def liveness_read(self, *, person_id: str | None = None, id_number: str | None = None, since: date | None = None,
                      limit: int | None = None) -> tuple[_Generation | None, tuple[Person, list[EvidenceEdge]] | None]:
        """person_evidence() and the generation its query read before any pensioner (None when nobody was found)."""
        start = datetime.combine(since, time()) if since else None
        limit = limit if limit is not None else _NO_LIMIT
        if person_id is not None:
            found = self._liveness.get(("liveness_by_ids", start, limit), person_id)
        elif id_number is not None:
            found = self._liveness.get(("liveness_by_id_numbers", start, limit), id_number)
        else:
            return None, None
        return (found[0], found[1]) if found else (None, None)

    def _liveness_batch(self, group: _LivenessQuery, keys: Sequence[str]) -> dict[str, _LivenessRead]:
        query, since, limit = group
        return {r["key"]: (tuple(r["generation"]), (_person_from_text(r["row"]),
                                                    [_evidence_from_text(e) for e in r["evidence"]]))
                for r in self._read_auto(query, keys=list(keys), since=since, limit=limit)}

    def generation(self) -> _Generation:
        """(epoch, count) of the Generation node, which every write that can change a liveness answer moves in its
        own transaction, from any process. Concurrent calls share one read (graph/coalesce.py); a read is sent
        after every call it answers arrived, so it sees every write committed before them."""
        generation = self._generations.get("generation", "")
        if generation is None:  # _generation_batch answers every key it is given
            raise RuntimeError("the Generation node's read answered nothing")
        return generation

    def _generation_batch(self, group: str, keys: Sequence[str]) -> dict[str, _Generation]:
        row = self._read_auto("generation")[0]
        return dict.fromkeys(keys, (row["epoch"], row["count"]))

    def identifiers(self, person_id: str) -> list[Identifier]:
        return [rows.identifier(r["row"]) for r in self._read_rows("identifiers", person_id=person_id)]

    def evidence(self, person_id: str, since: date | None = None) -> list[EvidenceEdge]:
        start = datetime.combine(since, time()) if since else None
        return [rows.evidence(r["row"]) for r in self._read_rows("evidence", person_id=person_id, since=start)]

    def record_certification(self, cert: ChannelCertification, round_id: str) -> None:
        self._write_answers(lambda tx: _record_certification(tx, cert, round_id))

    def update_person(self, person: Person) -> None:
        self._write_answers(lambda tx: _update_person(tx, person))

    def periods(self, before_round: str | None = None) -> pa.Table:
        def read(tx: neo4j.ManagedTransaction) -> list[list[Any]]:
            return tx.run(catalog.query("periods"), before_round=before_round).values()
        values = self._read(read)
        person_ids, statuses, until = (list(c) for c in zip(*values)) if values else ([], [], [])
        return pa.table({
            "person_id": pa.array(person_ids, pa.string()),
            "status": pa.array(statuses, pa.string()),
            "certified_until": pa.array([rows.native(d) for d in until], pa.date32()),
        })

    def apply_retention(self, since: date, held_states: Sequence[str]) -> dict[str, int]:
        """The retention rule (graph/queries/retention_*.cypher): each statement once, in an auto-commit transaction
        that deletes in transactions of `batch_size` rows. One pass over the candidates drops the whole set (each
        statement says why a deletion changes no other candidate's outcome). A statement retried after a failure
        deletes what is left, so its count then covers only the retry."""
        params: dict[str, dict[str, Any]] = {"events": {"since": f"{since.isoformat()}T00:00:00"},
                                              "identifiers": {}, "verdicts": {},
                                              "old_verdicts": {"since": since.isoformat(), "held": list(held_states)}}
        return {kind: int(self._auto(f"retention_{kind}", {**extra, "batch": self.batch_size})[0]["dropped"])
                for kind, extra in params.items()}

    def held_periods(self, round_id: str, as_of: date, states: Sequence[str]) -> pa.Table:
        def read(tx: neo4j.ManagedTransaction) -> list[list[Any]]:
            return tx.run(catalog.query("held_periods"), round_id=round_id, as_of=as_of,
                          states=list(states)).values()
        values = self._read(read)
        person_ids, statuses, period_states, since = (list(c) for c in zip(*values)) if values else ([],) * 4
        return pa.table({
            "person_id": pa.array(person_ids, pa.string()),
            "status": pa.array(statuses, pa.string()),
            "period_state": pa.array(period_states, pa.string()),
            "since": pa.array([rows.native(d) for d in since], pa.date32()),
        })

    # -- flags ----------------------------------------------------------------------------------------------

    def flags(self, flt: FlagFilter) -> list[Flag]:
        found = self._read_rows("flags", kind=flt.kind, severity=flt.severity, county_code=flt.county_code,
                                status=flt.status, person_id=flt.person_id, limit=flt.limit, offset=flt.offset)
        return [rows.flag(r["row"]) for r in found]

    def flag(self, flag_id: str) -> FlagDetail:
        found = self._read_rows("flag_detail", flag_id=flag_id)
        if not found:
            raise NotFound(f"no flag {flag_id!r}")
        return rows.flag_detail(found[0]["flag"], found[0]["person"], found[0]["cited"])

    def decided_flags(self) -> list[Flag]:
        return [rows.flag(r["row"]) for r in self._read_rows("decided_flags")]

    def save_decision(self, decision: Decision) -> Flag:
        return self._write_answers(lambda tx: _save_decision(tx, decision))

    # -- audit ----------------------------------------------------------------------------------------------

    def append_audit(self, entries: Sequence[AuditEntry]) -> None:
        if entries:
            self._write(lambda tx: _append_audit(tx, entries))

    def commit_audited(self, change: AuditedChange, entry_of: EntryOf) -> tuple[Flag | None, AuditEntry]:
        def work(tx: neo4j.ManagedTransaction) -> tuple[Flag | None, AuditEntry]:
            flag = _save_decision(tx, change.decision) if change.decision else None
            if change.certification:
                _record_certification(tx, change.certification, change.certification_round)
            if change.person:
                _update_person(tx, change.person)
            head = tx.run(catalog.query("last_audit")).single()
            entry = entry_of(rows.audit_entry(head["row"] if head else None), flag)
            _append_audit(tx, [entry])  # raising rolls every write above back
            return flag, entry
        return self._write_answers(work)

    def round_as_of(self, round_id: str) -> date | None:
        found = self._read_rows("round_as_of", round_id=round_id)
        return rows.native(found[0]["as_of"]) if found else None

    def last_audit(self) -> AuditEntry | None:
        found = self._read_rows("last_audit")
        return rows.audit_entry(found[0]["row"] if found else None)

    def audit_trail(self, person_id: str | None = None) -> list[AuditEntry]:
        return [rows.audit_entry(r["row"]) for r in self._read_rows("audit_trail", person_id=person_id)]

    def audited(self, actions: Sequence[str], before: datetime) -> pa.Table:
        def read(tx: neo4j.ManagedTransaction) -> list[list[Any]]:
            return tx.run(catalog.query("audited"), actions=list(actions), before=before.isoformat()).values()
        values = self._read(read)
        columns = [list(c) for c in zip(*values)] if values else [[]] * len(AUDITED_SCHEMA)
        return pa.Table.from_arrays([pa.array(c, f.type) for c, f in zip(columns, AUDITED_SCHEMA, strict=True)],
                                    schema=AUDITED_SCHEMA)

    # -- housekeeping ---------------------------------------------------------------------------------------

    def counts(self) -> dict[str, int]:
        """From the count store, not a scan of every node and relationship (the verify phase of
        docs/benchmarks.md, "Neo4j bulk import"). The queries name every label and type of
        the model, so the server's warning about one not created yet is switched off for them."""
        def read(tx: neo4j.ManagedTransaction) -> list[tuple[str, int]]:
            return [(r["label"], r["n"]) for r in tx.run(catalog.query("count_nodes"))] + [
                (r["type"], r["n"]) for r in tx.run(catalog.query("count_relationships"))]

        def attempt() -> list[tuple[str, int]]:
            with self._driver.session(database=self.database,
                                      notifications_disabled_classifications=["UNRECOGNIZED"]) as session:
                return session.execute_read(read)
        found = dict.fromkeys((*NODE_LABELS, *RELATIONSHIP_TYPES), 0)
        found.update((name, n) for name, n in self._retrying(attempt) if name in found)
        return found

    def clear(self) -> None:
        """Delete every node and relationship: for the test server and rebuilding a development graph only."""
        for query in ("admin_clear_relationships", "admin_clear"):  # CALL IN TRANSACTIONS: auto-commit
            self._auto(query, {})

    def close(self) -> None:
        if self._close_driver:
            self._driver.close()


def _person_from_text(row: dict[str, Any]) -> Person:
    """A Person from a liveness query's row, whose dates are ISO text."""
    dates = {k: date.fromisoformat(row[k]) if row.get(k) else None for k in _PERSON_DATES}
    person: Person = rows.person(row | dates)
    return person


def _evidence_from_text(row: dict[str, Any]) -> EvidenceEdge:
    """An EvidenceEdge from a liveness query's evidence map, whose occurred_at is ISO text."""
    return rows.evidence(row | {"occurred_at": datetime.fromisoformat(row["occurred_at"])})


def _address(driver: neo4j.Driver) -> str:
    """host:port of the server for messages (the driver keeps no credentials in it)."""
    address = getattr(getattr(driver, "_pool", None), "address", None)
    return f"{address.host}:{address.port}" if address else "the configured address"


def _bump_generation(tx: neo4j.ManagedTransaction) -> None:
    """Move the store's generation (GraphStore.generation) in the write transaction `tx`."""
    tx.run(catalog.query("bump_generation")).consume()


def _record_certification(tx: neo4j.ManagedTransaction, cert: ChannelCertification, round_id: str) -> None:
    found = tx.run(catalog.query("record_certification"), person_id=cert.person_id,
                   key=f"{cert.channel}/{cert.record_id}", channel=cert.channel, record_id=cert.record_id,
                   occurred_at=cert.occurred_at.replace(tzinfo=None), passed=cert.passed, operator=cert.operator,
                   round_id=round_id).single()
    if found is None:
        raise NotFound(f"no pensioner {cert.person_id!r}")
    if found["taken"]:
        raise Conflict(f"record_id {cert.record_id!r} of channel {cert.channel} is already recorded for another "
                       "pensioner")


def _update_person(tx: neo4j.ManagedTransaction, person: Person) -> None:
    params = {f: getattr(person, f) for f in ("person_id", *rows.VERDICT_FIELDS)}
    if not tx.run(catalog.query("update_person"), params).data():
        raise NotFound(f"no pensioner {person.person_id!r}")


def _single(session: neo4j.Session, query: str, params: dict[str, Any]) -> neo4j.Record:
    return session.run(query, params).single(strict=True)


def _run_one(tx: neo4j.ManagedTransaction, statement: str) -> None:
    tx.run(statement).consume()


def _save_decision(tx: neo4j.ManagedTransaction, decision: Decision) -> Flag:
    current = tx.run(catalog.query("flag_status"), flag_id=decision.flag_id).single()
    status = consistency.decided_status(current["status"] if current else None, decision)
    saved = tx.run(catalog.query("save_decision"), flag_id=decision.flag_id, status=status,
                   decided_by=decision.reviewer, decided_at=decision.decided_at.isoformat(),
                   note=decision.note).single(strict=True)  # the flag exists: flag_status found it
    return rows.flag(saved["row"])


def _append_audit(tx: neo4j.ManagedTransaction, entries: Sequence[AuditEntry]) -> None:
    stored = [(r["seq"], r["hash"]) for r in tx.run(catalog.query("append_audit"),
                                                    rows=[rows.audit_row(e) for e in entries])]
    consistency.check_appended(entries, stored)  # raising rolls the transaction back
