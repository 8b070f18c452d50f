"""Domain records exchanged between the graph stores and the services.

Plain frozen dataclasses: no driver, no protobuf. The servicers convert them to and from protobuf; the stores
build them from rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any


@dataclass(frozen=True)
class Person:
    """A pensioner as the graph knows them after the latest round."""

    person_id: str
    id_number: str | None = None
    name: str | None = None
    sex: str | None = None
    birth_date: date | None = None
    phone: str | None = None
    card_no: str | None = None
    county_code: str | None = None
    unit_id: str | None = None
    monthly_pension: float | None = None
    status: str | None = None  # certified | uncertified | deceased | review
    method: str | None = None  # strong | weak | face | in_person | carried | none
    source: str | None = None
    evidence_at: date | None = None
    probability: float | None = None  # P(alive)
    certified_until: date | None = None
    period_state: str | None = None  # valid | expiring | overdue | suspended | ended
    round_id: str | None = None
    explanation: str | None = None  # why the verdict: the round's sentence, or the check that replaced it


@dataclass(frozen=True)
class Identifier:
    """An ID number, phone or card a person holds; `shared` when several people hold it."""

    kind: str  # id_number | phone | card
    value: str
    shared: bool = False
    origin: str = "registry"  # registry | link
    holders: int = 1


@dataclass(frozen=True)
class EvidenceEdge:
    """One source record resolved to a person."""

    source: str
    kind: str  # strong | weak | death | face | in_person
    record_id: str
    occurred_at: datetime
    link_probability: float
    method: str  # direct | deterministic | splink | identifier
    round_id: str
    contribution: float | None = None  # weak: log-odds added; None for records that certify on their own
    passed: bool | None = None
    shared: bool = False  # linked through an identifier several people hold (weighed down, never certifies)


@dataclass(frozen=True)
class ChannelCertification:
    """A face or in-person check reported by another system."""

    person_id: str
    channel: str  # face | in_person
    occurred_at: datetime
    passed: bool
    record_id: str
    operator: str


@dataclass(frozen=True)
class Flag:
    """A conflict routed to a human reviewer."""

    flag_id: str
    person_id: str
    kind: str
    severity: str  # low | medium | high | critical
    detail: str
    status: str = "open"  # open | confirmed | dismissed | escalated
    overpayment: float = 0.0
    round_id: str | None = None
    county_code: str | None = None
    ring_id: str | None = None
    decided_by: str | None = None
    decided_at: datetime | None = None
    note: str | None = None


@dataclass(frozen=True)
class FlagFilter:
    kind: str | None = None
    severity: str | None = None
    county_code: str | None = None
    status: str | None = None
    limit: int = 100
    offset: int = 0
    person_id: str | None = None


@dataclass(frozen=True)
class GraphNode:
    id: str
    label: str
    properties: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class GraphEdge:
    source: str
    target: str
    type: str
    properties: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class FlagDetail:
    """A flag with the evidence subgraph a reviewer needs to decide it."""

    flag: Flag
    person: Person | None
    nodes: tuple[GraphNode, ...] = ()
    edges: tuple[GraphEdge, ...] = ()


@dataclass(frozen=True)
class Decision:
    """A reviewer's decision on a flag."""

    flag_id: str
    action: str  # confirm | dismiss | escalate
    reviewer: str
    note: str
    decided_at: datetime


@dataclass(frozen=True)
class AuditEntry:
    """One append-only audit record, chained to the previous one by hash."""

    seq: int
    at: datetime
    actor: str
    action: str
    person_id: str | None
    subject: str
    sources: tuple[str, ...]
    before: dict[str, Any]
    after: dict[str, Any]
    prev_hash: str
    hash: str
