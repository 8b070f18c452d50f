"""DeathCheckService: protobuf in, store and review calls, protobuf out — a few lines per rpc."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from typing import Any

import grpc

from silentcert.deathcheck.v1 import deathcheck_pb2 as pb
from silentcert.deathcheck.v1 import deathcheck_pb2_grpc
from silentcert.graph.errors import InvalidInput
from silentcert.graph.model import AuditEntry, Decision, Flag, FlagFilter, GraphEdge, GraphNode, Person
from silentcert.graph.store import GraphStore
from silentcert.services import proto_values as pv
from silentcert.services import request_checks as check
from silentcert.services.deathcheck.review import decide_flag
from silentcert.services.security.auth import authenticated_caller
from silentcert.services.security.roles import REVIEWER

DEFAULT_PAGE = 100
MAX_PAGE = 200  # a reviewer reads a page; more per call only helps someone copying the flags out


class DeathCheckServicer(deathcheck_pb2_grpc.DeathCheckServiceServicer):
    def __init__(self, store: GraphStore, clock: Callable[[], datetime] = lambda: datetime.now(UTC)):
        self.store = store
        self.clock = clock

    def ListFlags(self, request: pb.ListFlagsRequest, context: grpc.ServicerContext) -> pb.ListFlagsResponse:
        size = check.bounded(request.page_size, "page_size", default=DEFAULT_PAGE, maximum=MAX_PAGE)
        offset = _offset(request.page_token)
        flt = FlagFilter(
            kind=check.optional(request.kind, "kind"),
            severity=pv.enum_domain(pb.FlagSeverity, request.severity, "severity"),
            county_code=check.optional(request.county_code, "county_code"),
            status=pv.enum_domain(pb.FlagStatus, request.status, "status"),
            person_id=check.optional(request.person_id, "person_id"),
            limit=size + 1, offset=offset,
        )
        flags = self.store.flags(flt)
        more = len(flags) > size
        return pb.ListFlagsResponse(flags=[_flag(f) for f in flags[:size]],
                                    next_page_token=str(offset + size) if more else "")

    def GetFlag(self, request: pb.GetFlagRequest, context: grpc.ServicerContext) -> pb.GetFlagResponse:
        detail = self.store.flag(check.required(request.flag_id, "flag_id"))
        response = pb.GetFlagResponse(flag=_flag(detail.flag), nodes=[_node(n) for n in detail.nodes],
                                      edges=[_edge(e) for e in detail.edges])
        if detail.person is not None:
            response.person.CopyFrom(_person(detail.person))
        return response

    def DecideFlag(self, request: pb.DecideFlagRequest, context: grpc.ServicerContext) -> pb.DecideFlagResponse:
        decision = Decision(
            flag_id=check.required(request.flag_id, "flag_id"),
            action=pv.enum_domain(pb.DecisionAction, request.action, "action", allow_unspecified=False) or "",
            reviewer=_acting_reviewer(check.required(request.reviewer, "reviewer")),
            note=check.optional(request.note, "note") or "",
            decided_at=self.clock(),
        )
        flag, entry = decide_flag(self.store, decision)
        return pb.DecideFlagResponse(flag=_flag(flag), audit_entry=_audit(entry))

    def GetAuditTrail(self, request: pb.GetAuditTrailRequest, context: grpc.ServicerContext) -> pb.GetAuditTrailResponse:
        person_id = check.required(request.person_id, "person_id")
        return pb.GetAuditTrailResponse(entries=[_audit(e) for e in self.store.audit_trail(person_id)])


def _offset(token: str) -> int:
    if not token:
        return 0
    if not (token.isascii() and token.isdigit()):  # isdigit alone passes "²", which int() refuses
        raise InvalidInput("page_token is not one this server issued", field="page_token")
    return int(token)


def _flag(f: Flag) -> pb.Flag:
    return pb.Flag(
        flag_id=f.flag_id, person_id=f.person_id, kind=f.kind, severity=pv.enum_value(pb.FlagSeverity, f.severity),
        detail=f.detail, status=pv.enum_value(pb.FlagStatus, f.status), overpayment=f.overpayment,
        round_id=f.round_id or "", county_code=f.county_code or "", ring_id=f.ring_id or "",
        decided_by=f.decided_by or "", decided_at=pv.timestamp(f.decided_at), note=f.note or "",
    )


def _person(p: Person) -> pb.PersonSummary:
    return pb.PersonSummary(person_id=p.person_id, name=p.name or "", id_number=p.id_number or "",
                            county_code=p.county_code or "", status=p.status or "",
                            certified_until=pv.iso(p.certified_until), monthly_pension=p.monthly_pension or 0.0)


def _node(n: GraphNode) -> pb.GraphNode:
    return pb.GraphNode(id=n.id, label=n.label, properties=_texts(n.properties))


def _edge(e: GraphEdge) -> pb.GraphEdge:
    return pb.GraphEdge(source=e.source, target=e.target, type=e.type, properties=_texts(e.properties))


def _texts(properties: Mapping[str, Any]) -> dict[str, str]:
    return {k: _text(v) for k, v in properties.items() if v is not None}


def _text(value: Any) -> str:
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return str(value)


def _audit(e: AuditEntry) -> pb.AuditEntry:
    return pb.AuditEntry(
        seq=e.seq, at=pv.timestamp(e.at), actor=e.actor, action=e.action, person_id=e.person_id or "",
        subject=e.subject, sources=list(e.sources), prev_hash=e.prev_hash, hash=e.hash,
        before_json=json.dumps(e.before, sort_keys=True, ensure_ascii=False, default=str),
        after_json=json.dumps(e.after, sort_keys=True, ensure_ascii=False, default=str),
    )


def _acting_reviewer(reviewer: str) -> str:
    """A caller with the reviewer role decides under their own name; an admin may record another reviewer's
    decision (e.g. one taken on paper)."""
    caller = authenticated_caller()
    if caller is not None and caller.role == REVIEWER and caller.name != reviewer:
        raise InvalidInput(f"reviewer must be the authenticated caller {caller.name!r}, got {reviewer!r}",
                           field="reviewer")
    return reviewer
