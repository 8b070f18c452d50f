"""The graph store interface: what the services need from the identity graph.

Two implementations fill it: :mod:`graph.embedded` (DuckDB file, the default, no server) and
:mod:`graph.neo4j_store` (Neo4j through the official driver). Services receive a store object; they never
know which one they have. One contract test suite (``tests/integration/test_store_contract.py``) runs against both.

Writes are idempotent: publishing the same round twice, or retrying a failed batch, changes nothing.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Hashable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Protocol, Self

import pyarrow as pa

from silentcert.graph.audit_key import DEVELOPMENT_KEY
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

# Columns of each table in a RoundExport (one row per node or edge).
EXPORT_COLUMNS: dict[str, tuple[str, ...]] = {
    "pensioners": (
        "person_id", "id_number", "name", "name_pinyin", "sex", "birth_date", "phone", "card_no",
        "county_code", "unit_id", "monthly_pension", "status", "method", "source", "evidence_at",
        "probability", "certified_until", "period_state", "explanation",
    ),
    "identifiers": ("person_id", "kind", "value", "shared", "origin"),
    # kind 'death' rows become DeathRecord nodes, the others Event nodes; key = source || '/' || record_id
    "events": (
        "key", "source", "kind", "record_id", "occurred_at", "person_id", "match_probability", "method",
        "id_number", "phone", "card_no", "passed",
    ),
    "flags": ("flag_id", "person_id", "kind", "severity", "detail", "overpayment", "ring_id", "county_code"),
    "flag_citations": ("flag_id", "event_key"),
}


@dataclass(frozen=True)
class PageEntry:
    """One pensioner of a liveness page: what person_evidence() answers for them, and the normalised ID number
    it also answers for (None when they hold none, or when a lower person_id holds the same one)."""

    person: Person
    evidence: list[EvidenceEdge]
    id_number: str | None


LivenessPage = tuple[Hashable | None, list[PageEntry]]  # (generation read before the page, its pensioners)


class ExportTable(Protocol):
    """What a RoundExport table offers: a ``pyarrow.Table`` does, and so does graph.query_table.QueryTable (a
    query over the round's DuckDB database, read in record batches so ~10M evidence rows are never held whole)."""

    @property
    def num_rows(self) -> int: ...

    @property
    def column_names(self) -> list[str]: ...

    def to_batches(self, max_chunksize: int | None = None) -> Iterable[pa.RecordBatch]: ...


@dataclass(frozen=True)
class RoundExport:
    """One round's graph, ready to publish: tables with the columns of EXPORT_COLUMNS. Stores read them in record
    batches (graph.exports.batches), as often as they need."""

    round_id: str
    as_of: date
    pensioners: ExportTable
    identifiers: ExportTable
    events: ExportTable
    flags: ExportTable
    flag_citations: ExportTable
    # Called by a store once it holds its own copy of every table and reads them no more: a round's working
    # database then gives the memory it held for them to the store (services/rounds/publish.py).
    on_staged: Callable[[], None] = field(default=lambda: None, compare=False)


# What GraphStore.counts() reports, in both stores: nodes per label and relationships per type.
NODE_LABELS = ("Pensioner", "IdNumber", "Phone", "Card", "Event", "DeathRecord", "Flag", "Round", "AuditEntry")
RELATIONSHIP_TYPES = (
    "HAS_ID", "HAS_PHONE", "HAS_CARD", "OBSERVED_ON", "RESOLVED_TO", "CONCERNS", "CITES", "VERDICT", "ABOUT",
)

@dataclass(frozen=True)
class AuditedChange:
    """State changes that commit together with their audit entry, or not at all (GraphStore.commit_audited)."""

    decision: Decision | None = None  # saved on its flag (an undecided flag; Conflict otherwise)
    certification: ChannelCertification | None = None  # stored as an Event; Conflict when its record_id is
    certification_round: str = ""                       # already resolved to another pensioner
    person: Person | None = None  # verdict fields replaced


EntryOf = Callable[[AuditEntry | None, Flag | None], AuditEntry]
"""(the chain's head read inside the transaction, the decided flag or None) → the audit entry to append. Pure: a
store may call it again when it retries the transaction."""

Progress = Callable[[str, int], None]
"""Called as progress(table_name, rows_done) while publishing."""


#: What GraphStore.audited returns: audit entries as a round compares with them (``after`` as its JSON text).
AUDITED_SCHEMA = pa.schema([("seq", pa.int64()), ("action", pa.string()), ("person_id", pa.string()),
                            ("subject", pa.string()), ("after", pa.string())])


class GraphStore(ABC):
    """The identity graph: pensioners, identifiers, evidence, death records, flags, rounds, audit."""

    # The secret keying the audit chain (graph.audit_key); open_store sets a real one, a store constructed
    # without one (tests) chains with the public development key.
    audit_key: bytes = DEVELOPMENT_KEY

    @abstractmethod
    def apply_schema(self) -> None:
        """Create constraints, indexes (Neo4j) or tables (embedded); safe to call every start."""

    @abstractmethod
    def publish_round(self, export: RoundExport, progress: Progress | None = None) -> dict[str, int]:
        """Merge one round into the graph in batches; returns rows written per table. Idempotent.

        Flags already decided by a reviewer keep their status and decision."""

    @abstractmethod
    def apply_retention(self, since: date, held_states: Sequence[str]) -> dict[str, int]:
        """Drop what is older than the certification window starting on `since`, except what the retention rule
        keeps (docs/graph.md, "Retention"; `held_states` are the period states held_periods is asked for, whose
        runs' first verdicts stay); returns what was dropped per kind. Idempotent; a publish applies it."""

    @abstractmethod
    def person(self, *, person_id: str | None = None, id_number: str | None = None) -> Person | None:
        """One pensioner by account number or normalised ID number, or None."""

    @abstractmethod
    def identifiers(self, person_id: str) -> list[Identifier]:
        """The ID numbers, phones and cards the person holds."""

    @abstractmethod
    def evidence(self, person_id: str, since: date | None = None) -> list[EvidenceEdge]:
        """Records resolved to the person (newest first), optionally only those on or after `since`."""

    def person_evidence(self, *, person_id: str | None = None, id_number: str | None = None,
                        since: date | None = None, limit: int | None = None) -> tuple[Person, list[EvidenceEdge]] | None:
        """One pensioner (as person()) and their newest `limit` records on or after `since` (as evidence()), or
        None. A store that can answer both in one round trip overrides this (GetLiveness calls it)."""
        person = self.person(person_id=person_id, id_number=id_number)
        if person is None:
            return None
        return person, self.evidence(person.person_id, since)[:limit]

    def generation(self) -> Hashable | None:
        """A value that changes whenever a write that can change what person(), evidence() or person_evidence()
        answer has committed, whichever process wrote (a round publish, a certification, a person's verdict, a
        reviewer's decision): an answer read after reading generation G may be reused while generation() still
        equals G. Read it BEFORE the answer. None: the store does not track it, and nothing may be reused."""
        return None

    def changed_people(self, first: Hashable, second: Hashable) -> frozenset[str] | None:
        """The pensioners whose person() or evidence() may answer differently under generation `first` than under
        `second` (either may be the later), or None when the store cannot say: then every answer may differ. A
        store whose writes all go through one object can name them; the default cannot."""
        return None

    def liveness_pages(self, limit: int | None, page_size: int) -> Iterator[LivenessPage]:
        """Every pensioner's person_evidence() (no `since`, the newest `limit` records), in pages of about
        `page_size` people by person_id, each page with the generation read before it; for warming GetLiveness
        answers (services/liveness/servicer.py), where :attr:`lists_liveness_pages` says so. The default lists
        nothing."""
        return iter(())

    # Whether liveness_pages lists the pensioners, so that GetLiveness answers are worth warming. Only a store that
    # also names the changed people (changed_people) should: where every write drops every answer (Neo4j, whose
    # writers are other processes too), each face check would have the whole province read again.
    lists_liveness_pages: bool = False

    def liveness_read(self, *, person_id: str | None = None, id_number: str | None = None, since: date | None = None,
                      limit: int | None = None) -> tuple[Hashable | None, tuple[Person, list[EvidenceEdge]] | None]:
        """person_evidence() and the generation it was read under (read before it). A store that can read both
        in one round trip overrides this (GetLiveness calls it for an answer it does not hold)."""
        generation = self.generation()
        return generation, self.person_evidence(person_id=person_id, id_number=id_number, since=since, limit=limit)

    @abstractmethod
    def record_certification(self, cert: ChannelCertification, round_id: str) -> None:
        """Store a face or in-person check as an Event resolved to the person (idempotent on record_id)."""

    @abstractmethod
    def update_person(self, person: Person) -> None:
        """Replace the verdict fields (status, method, period...) of one pensioner."""

    @abstractmethod
    def periods(self, before_round: str | None = None) -> pa.Table:
        """(person_id, status, certified_until) of every pensioner: what the next round builds on.

        With `before_round`, a pensioner whose latest verdict came from that round gets their verdict of the round
        published before it instead (and is left out when there is none): a round run again after its inputs were
        corrected must not take its own earlier result for the previous round's. A face or in-person check recorded
        after that round was published, which moved the period past the round's verdict, keeps the node's
        period."""

    @abstractmethod
    def held_periods(self, round_id: str, as_of: date, states: Sequence[str]) -> pa.Table:
        """(person_id, status, period_state, since) of every pensioner whose verdict in the previous round (the
        latest published with an as_of before `as_of`, `round_id` itself never) left the period in one of `states`.
        `since` is the as_of of the first round of the person's unbroken run of such verdicts up to it: the round
        after their latest verdict in another state, or their first round. Verdicts as the rounds published them;
        reviewers' later changes to the person are not verdicts."""

    @abstractmethod
    def flags(self, flt: FlagFilter) -> list[Flag]:
        """Flags matching the filter, most severe first."""

    @abstractmethod
    def flag(self, flag_id: str) -> FlagDetail:
        """One flag with its person and the records it cites; raises NotFound."""

    @abstractmethod
    def decided_flags(self) -> list[Flag]:
        """Every flag a reviewer has decided, so a rerun keeps the decisions."""

    @abstractmethod
    def save_decision(self, decision: Decision) -> Flag:
        """Record a reviewer's decision on a flag; returns the updated flag."""

    @abstractmethod
    def commit_audited(self, change: AuditedChange, entry_of: EntryOf) -> tuple[Flag | None, AuditEntry]:
        """Apply `change` and append the entry `entry_of` builds on the chain's head, in one transaction: a failed
        append (a concurrent one took the seq) leaves no change. Returns the decided flag (None) and the entry."""

    @abstractmethod
    def round_as_of(self, round_id: str) -> date | None:
        """The as-of date of a published round, None when there is no such round."""

    @abstractmethod
    def audited(self, actions: Sequence[str], before: datetime) -> pa.Table:
        """:data:`AUDITED_SCHEMA` (seq, action, person_id, subject, after) of the audit entries with one of `actions` dated before
        `before`, in chain order; `after` as its stored JSON text. A round asks with its own as_of, so the
        entries of its own earlier run, and of later rounds, are never in the answer."""

    @abstractmethod
    def append_audit(self, entries: Sequence[AuditEntry]) -> None:
        """Append entries to the audit chain. There is no update or delete."""

    @abstractmethod
    def last_audit(self) -> AuditEntry | None:
        """The newest audit entry (the head of the hash chain)."""

    @abstractmethod
    def audit_trail(self, person_id: str | None = None) -> list[AuditEntry]:
        """Audit entries in chain order, all or about one person."""

    @abstractmethod
    def counts(self) -> dict[str, int]:
        """How many nodes of each NODE_LABELS label and relationships of each RELATIONSHIP_TYPES type the graph
        holds (0 for none): what a publish added, and proof that repeating it added nothing."""

    @abstractmethod
    def close(self) -> None:
        """Release the connection or driver."""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
