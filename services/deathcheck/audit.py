"""The audit chain: every automatic result and every human decision, append-only and tamper-evident.

Each entry's hash is HMAC-SHA256(key, prev_hash + canonical JSON of the entry without its hash), keyed with the
store's audit key (graph.audit_key: a server secret, so someone who can write the store cannot re-chain it);
the first entry's prev_hash is 64 zeros. ``verify`` walks a chain and names the first entry that was changed, removed or inserted. There is
no function here (or in the stores) that edits or deletes an entry.

A round writes its automatic results to the ``audit_events`` table of the working database, unchained (the head
of the chain lives in the graph store); the publish stage chains them onto the store's head with
``append_round_events``, once per round and content: a closing entry about ``round:<round_id>`` carries a digest
of the round's events and a rerun finding it appends nothing.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import duckdb

from silentcert.graph import sql
from silentcert.graph.audit_key import DEVELOPMENT_KEY
from silentcert.graph.model import AuditEntry, Person
from silentcert.graph.store import GraphStore

GENESIS = "0" * 64
ROUND_ACTOR = "deathcheck"
ROUND_CLOSED = "round_audited"


_HASHED_FIELDS = tuple(f.name for f in dataclasses.fields(AuditEntry) if f.name != "hash")  # chain_entry's keys


def canonical(entry: AuditEntry) -> str:
    """The entry (without its hash) as canonical JSON: sorted keys, no spaces, UTF-8 text, times as text."""
    return _canonical({name: getattr(entry, name) for name in _HASHED_FIELDS})  # not asdict: no deep copy


def _canonical(fields: dict[str, Any]) -> str:
    return json.dumps({**fields, "sources": list(fields["sources"])}, sort_keys=True, ensure_ascii=False,
                      separators=(",", ":"), default=str)


def entry_hash(entry: AuditEntry, key: bytes = DEVELOPMENT_KEY) -> str:
    return _hash(entry.prev_hash, canonical(entry), key)


def _hash(prev_hash: str, canonical_text: str, key: bytes) -> str:
    return hmac.new(key, (prev_hash + canonical_text).encode("utf-8"), hashlib.sha256).hexdigest()


def chain_entry(head: AuditEntry | None, *, key: bytes = DEVELOPMENT_KEY, actor: str, action: str, at: datetime, person_id: str | None,
                subject: str, sources: Sequence[str], before: dict[str, Any], after: dict[str, Any]) -> AuditEntry:
    """The next entry after `head` (None: the first entry of a chain), hashed. Built once, hashed from its fields
    (a round chains tens of thousands: building the entry twice cost a fifth of the chaining)."""
    fields: dict[str, Any] = {"seq": (head.seq if head else 0) + 1, "at": at, "actor": actor, "action": action,
              "person_id": person_id, "subject": subject, "sources": tuple(sources), "before": before,
              "after": after, "prev_hash": head.hash if head else GENESIS}
    return AuditEntry(**fields, hash=_hash(fields["prev_hash"], _canonical(fields), key))


def person_state(person: Person | None) -> dict[str, Any]:
    """A pensioner's verdict fields as an audit entry records them before and after a change."""
    if person is None:
        return {}
    return {"person_id": person.person_id, "status": person.status, "method": person.method,
            "source": person.source, "probability": person.probability,
            "certified_until": person.certified_until.isoformat() if person.certified_until else None,
            "period_state": person.period_state}


@dataclass(frozen=True)
class ChainBreak:
    """Where a chain stops being trustworthy: the first bad entry's seq and what is wrong with it."""

    seq: int
    reason: str


def verify(entries: Sequence[AuditEntry], head: AuditEntry | None = None,
           key: bytes = DEVELOPMENT_KEY) -> ChainBreak | None:
    """None when `entries` (in chain order, starting after `head` or at the genesis) form an intact chain keyed
    with `key`."""
    prev_hash, prev_seq = (head.hash, head.seq) if head else (GENESIS, 0)
    for entry in entries:
        if entry.seq != prev_seq + 1:
            return ChainBreak(prev_seq + 1, f"entry {prev_seq + 1} is missing (next is {entry.seq})")
        if entry.prev_hash != prev_hash:
            return ChainBreak(entry.seq, "previous hash does not match: an entry before it was changed or removed")
        if not hmac.compare_digest(entry_hash(entry, key), entry.hash):
            return ChainBreak(entry.seq, "contents do not match the hash: the entry was modified (or hashed with "
                                         "another audit key)")
        prev_hash, prev_seq = entry.hash, entry.seq
    return None


# ----------------------------------------------------------------------------------------------------------------
# Round events: written by the stage, chained by the publish stage.

EVENT_COLUMNS = ("ordinal", "at", "actor", "action", "person_id", "subject", "sources", "before", "after")


@dataclass(frozen=True)
class RoundEvents:
    """A round's ``audit_events`` in order, their digest and the round's marker subject (``round:<id>``)."""

    events: list[dict[str, Any]]
    digest: str
    marker: str


def append_round_events(con: duckdb.DuckDBPyConnection, store: GraphStore) -> int:
    """Chain the round's ``audit_events`` onto the store's audit trail; returns the entries appended (0 when the
    same events were already appended by an earlier publish)."""
    events = read_round_events(con)
    if events is None or appended(store, events):
        return 0
    entries = chain_round_events(events, store.last_audit(), store.audit_key)
    store.append_audit(entries)
    return len(entries)


_EVENTS = "SELECT {columns} FROM audit_events ORDER BY ordinal"  # quoted: `at` is a keyword


def read_round_events(con: duckdb.DuckDBPyConnection) -> RoundEvents | None:
    """The round's events from the working database; None when it has none."""
    rows = sql.fetchall(con, "round_audit_events", sql.with_idents(_EVENTS, columns=EVENT_COLUMNS))
    if not rows:
        return None
    events = [dict(zip(EVENT_COLUMNS, r)) for r in rows]
    for e in events:  # the stage writes UTC times without a zone
        e["at"] = e["at"].replace(tzinfo=UTC) if e["at"].tzinfo is None else e["at"]
    round_id = events[0]["subject"].split("/", 1)[0].removeprefix("round:")
    return RoundEvents(events, _digest(events), f"round:{round_id}")


def appended(store: GraphStore, events: RoundEvents) -> bool:
    """True when the store's trail already closes these very events."""
    return any(e.action == ROUND_CLOSED and e.after.get("digest") == events.digest
               for e in store.audit_trail(events.marker))


def chain_round_events(events: RoundEvents, head: AuditEntry | None,
                       key: bytes = DEVELOPMENT_KEY) -> list[AuditEntry]:
    """The entries for `events` after `head`, closed by a ``round_audited`` entry, keyed with the store's
    `key`; pure (reads no store), so the publish computes them while the store writes the round."""
    entries = _chain(head, events.events, key)
    entries.append(chain_entry(entries[-1], key=key, actor=ROUND_ACTOR, action=ROUND_CLOSED, at=events.events[-1]["at"],
                               person_id=events.marker, subject=events.marker, sources=(),
                               before={}, after={"events": len(events.events), "digest": events.digest}))
    return entries


def _chain(head: AuditEntry | None, events: list[dict[str, Any]], key: bytes) -> list[AuditEntry]:
    entries: list[AuditEntry] = []
    for e in events:
        head = chain_entry(head, key=key, actor=e["actor"], action=e["action"], at=e["at"], person_id=e["person_id"],
                           subject=e["subject"], sources=tuple(e["sources"] or ()),
                           before=json.loads(e["before"]), after=json.loads(e["after"]))
        entries.append(head)
    return entries


def _digest(events: list[dict[str, Any]]) -> str:
    text = json.dumps([[e[c] for c in EVENT_COLUMNS] for e in events], ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def verify_store(store: GraphStore) -> tuple[int, ChainBreak | None]:
    """(entries read, the first break or None) of the store's whole audit trail, under the store's key."""
    trail = store.audit_trail()
    return len(trail), verify(trail, key=store.audit_key)
