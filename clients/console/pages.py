"""What the console's pages show, built from the services' answers (plain data for the templates; no Flask here).

    queue_row(flag)                          one line of the queue
    case(detail, flags, liveness, trail)     the person, their flags, the cited records with their fields,
                                             the evidence timeline and the audit trail of one flag's case
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from silentcert.clients.console import policy
from silentcert.deathcheck.v1 import deathcheck_pb2 as pb
from silentcert.liveness.v1 import liveness_pb2 as lpb
from silentcert.services.deathcheck.effects import EFFECTS
from silentcert.services.rounds.county_names import county_name

STATUSES = ("open", "escalated", "confirmed", "dismissed", "any")
SEVERITIES = ("critical", "high", "medium", "low")
DECIDABLE = ("open", "escalated")

# The decisions as the console names them → the rpc's action; "clear" is DISMISS (the flag is wrong).
ACTIONS = {"confirm": pb.DECISION_ACTION_CONFIRM, "clear": pb.DECISION_ACTION_DISMISS,
           "escalate": pb.DECISION_ACTION_ESCALATE}
_RPC_ACTION = {"confirm": "confirm", "clear": "dismiss", "escalate": "escalate"}
EFFECT_SENTENCES = {
    "deceased": "the pensioner becomes deceased, the period ends, the overpayment is final",
    "restore": "the evidence is accepted and the pensioner's earlier state restored, with arrears",
    "hold": "payments are held (status review) while someone investigates",
    "none": "nothing changes for the pensioner",
}


def label(enum_name: str, prefix: str) -> str:
    return enum_name.removeprefix(prefix).lower()


def severity(f: pb.Flag) -> str:
    return label(pb.FlagSeverity.Name(f.severity), "FLAG_SEVERITY_")


def status(f: pb.Flag) -> str:
    return label(pb.FlagStatus.Name(f.status), "FLAG_STATUS_")


def county(code: str) -> str:
    """'360729 全南县', or the code alone when no name is known."""
    name = county_name(code) if code else None
    return f"{code} {name}" if name and name != code else code


def queue_row(f: pb.Flag) -> dict[str, Any]:
    return {"flag_id": f.flag_id, "person_id": f.person_id, "kind": f.kind, "severity": severity(f),
            "status": status(f), "county": county(f.county_code), "overpayment": f.overpayment,
            "detail": policy.queue_text(f.detail), "decided_by": f.decided_by, "ring_id": f.ring_id}


def decisions(kind: str) -> list[dict[str, str]]:
    """The three decisions on a flag of this kind, each with what it does to the pensioner."""
    effects = EFFECTS.get(kind, {})
    names = {"confirm": "Confirm death" if effects.get("confirm") == "deceased" else "Confirm",
             "clear": "Clear (dismiss)", "escalate": "Escalate"}
    return [{"value": action, "name": names[action],
             "effect": EFFECT_SENTENCES.get(effects.get(_RPC_ACTION[action], ""), "")} for action in ACTIONS]


@dataclass
class Case:
    flag: dict[str, Any]
    person: dict[str, Any] | None
    flags: list[dict[str, Any]]
    records: list[dict[str, Any]]
    timeline: list[dict[str, Any]]
    trail: list[dict[str, Any]]
    decidable: bool
    decisions: list[dict[str, str]] = field(default_factory=list)


def case(detail: pb.GetFlagResponse, flags: list[pb.Flag], liveness: lpb.Liveness | None,
         trail: list[pb.AuditEntry]) -> Case:
    f = detail.flag
    the_flag = {**queue_row(f), "detail": f.detail, "round_id": f.round_id, "note": f.note,
                "decided_at": f.decided_at.ToJsonString() if f.HasField("decided_at") else ""}
    records = cited_records(detail)
    return Case(flag=the_flag, person=_person(detail.person) if detail.HasField("person") else None,
                flags=[queue_row(other) for other in flags], records=records,
                timeline=timeline(liveness, records), trail=audit_rows(trail, f.flag_id),
                decidable=status(f) in DECIDABLE, decisions=decisions(f.kind))


def _person(p: pb.PersonSummary) -> dict[str, Any]:
    return {"person_id": p.person_id, "name": p.name, "id_number": p.id_number, "county": county(p.county_code),
            "status": p.status, "certified_until": p.certified_until, "monthly_pension": p.monthly_pension}


def cited_records(detail: pb.GetFlagResponse) -> list[dict[str, Any]]:
    """The records the flag cites, oldest first: their fields as the source sent them, and whom each resolved to
    with what probability."""
    flag_node = f"Flag:{detail.flag.flag_id}"
    cited = {e.target for e in detail.edges if e.type == "CITES" and e.source == flag_node}
    links = {e.source: e for e in detail.edges if e.type == "RESOLVED_TO"}
    nodes = {n.id: n for n in detail.nodes}
    rows = []
    for node_id in cited:
        props, link = dict(nodes[node_id].properties), links.get(node_id)
        rows.append({"label": nodes[node_id].label, "fields": props,
                     "resolved_to": link.target.removeprefix("Pensioner:") if link else "",
                     "probability": link.properties.get("probability", "") if link else "",
                     "method": link.properties.get("method", "") if link else ""})
    return sorted(rows, key=lambda r: (r["fields"].get("occurred_at", ""), r["fields"].get("record_id", "")))


def timeline(liveness: lpb.Liveness | None, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every record resolved to the person, oldest first; the ones the flag cites marked."""
    if liveness is None:
        return []
    cited = {(r["fields"].get("source"), r["fields"].get("record_id")) for r in records}
    rows = [{"at": e.occurred_at.ToJsonString()[:19].replace("T", " "), "source": e.source,
             "kind": label(lpb.EvidenceKind.Name(e.kind), "EVIDENCE_KIND_"), "record_id": e.record_id,
             "probability": e.link_probability, "passed": ("yes" if e.passed else "no") if e.HasField("passed")
             else "", "cited": (e.source, e.record_id) in cited} for e in liveness.evidence]
    return sorted(rows, key=lambda r: (r["at"], r["record_id"]))


def audit_rows(trail: list[pb.AuditEntry], flag_id: str) -> list[dict[str, Any]]:
    """The person's audit entries in chain order; those about this flag marked."""
    return [{"seq": e.seq, "at": e.at.ToJsonString(), "actor": e.actor, "action": e.action, "subject": e.subject,
             "sources": ", ".join(e.sources), "before": policy.audit_state(e.before_json),
             "after": policy.audit_state(e.after_json), "this_flag": _about(e.subject, flag_id),
             "hash": e.hash[:16]} for e in trail]


def _about(subject: str, flag_id: str) -> bool:
    """Whether an audit entry is about the flag: its decisions ("flag:ID") and the round that raised it
    ("round:R/flag:ID")."""
    return subject == f"flag:{flag_id}" or subject.endswith(f"/flag:{flag_id}")
