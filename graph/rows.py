"""Rows (plain dicts from SQL or Cypher) → the domain records of graph.model.

Both stores return dicts with the same keys and hand them here, so a person, a flag or an audit entry reads the same
whichever store holds it. Values from the Neo4j driver (its Date and DateTime types) become Python ones here.
"""

from __future__ import annotations

import json
from dataclasses import fields
from datetime import date, datetime
from typing import Any, overload

from silentcert.graph.model import AuditEntry, EvidenceEdge, Flag, FlagDetail, GraphEdge, GraphNode, Identifier, Person

_PERSON_FIELDS = tuple(f.name for f in fields(Person))
_FLAG_FIELDS = tuple(f.name for f in fields(Flag))
VERDICT_FIELDS = ("status", "method", "source", "evidence_at", "probability", "certified_until", "period_state",
                  "explanation")


def native(value: Any) -> Any:
    """A driver temporal value as its Python equivalent; anything else unchanged."""
    to_native = getattr(value, "to_native", None)
    return to_native() if callable(to_native) else value


def plain(value: Any) -> Any:
    """A value fit for a GraphNode/GraphEdge property: dates and times as ISO text."""
    value = native(value)
    return value.isoformat() if isinstance(value, (date, datetime)) else value


@overload
def person(row: dict[str, Any]) -> Person: ...
@overload
def person(row: dict[str, Any] | None) -> Person | None: ...
def person(row: dict[str, Any] | None) -> Person | None:
    """The Person of a query's row; None for no row."""
    if not row:
        return None
    return Person(**{k: native(row.get(k)) for k in _PERSON_FIELDS})


def identifier(row: dict[str, Any]) -> Identifier:
    return Identifier(kind=row["kind"], value=row["value"], shared=bool(row["shared"]),
                      origin=row["origin"] or "registry", holders=int(row["holders"]))


def evidence(row: dict[str, Any]) -> EvidenceEdge:
    return EvidenceEdge(
        source=row["source"], kind=row["kind"], record_id=row["record_id"], occurred_at=native(row["occurred_at"]),
        link_probability=row["link_probability"], method=row["method"], round_id=row["round_id"],
        passed=row.get("passed"),
    )


def flag(row: dict[str, Any]) -> Flag:
    values = {k: native(row.get(k)) for k in _FLAG_FIELDS}
    values["decided_at"] = _from_iso(values["decided_at"])
    values["overpayment"] = values["overpayment"] or 0.0
    return Flag(**values)


# A cited record's fields as its source sent them (the identifiers are the ones it was observed on).
RECORD_FIELDS = ("source", "kind", "record_id", "occurred_at", "passed", "id_number", "phone", "card_no")


def flag_detail(flag_row: dict[str, Any], person_row: dict[str, Any] | None, cited: list[dict[str, Any]]) -> FlagDetail:
    """The flag, its person and the cited records as a small subgraph (node ids are `Label:key`)."""
    the_flag, the_person = flag(flag_row), person(person_row)
    flag_id = f"Flag:{the_flag.flag_id}"
    nodes = {flag_id: GraphNode(flag_id, "Flag", {"kind": the_flag.kind, "severity": the_flag.severity,
                                                  "status": the_flag.status, "detail": the_flag.detail})}
    edges: list[GraphEdge] = []
    if the_person:
        pid = _add_pensioner(nodes, the_person.person_id, the_person.name, the_person.status)
        edges.append(GraphEdge(flag_id, pid, "CONCERNS"))
    for rec in sorted(cited, key=lambda r: r["key"]):
        rid = f"{rec['label']}:{rec['key']}"
        nodes[rid] = GraphNode(rid, rec["label"], {k: plain(rec.get(k)) for k in RECORD_FIELDS})
        edges.append(GraphEdge(flag_id, rid, "CITES"))
        if rec.get("person_id"):
            pid = _add_pensioner(nodes, rec["person_id"], rec["person_name"], rec["person_status"])
            edges.append(GraphEdge(rid, pid, "RESOLVED_TO", {k: rec[k] for k in ("probability", "method", "round_id")}))
    return FlagDetail(the_flag, the_person, tuple(nodes.values()), tuple(edges))


def _add_pensioner(nodes: dict[str, GraphNode], person_id: str, name: str | None, status: str | None) -> str:
    node_id = f"Pensioner:{person_id}"
    nodes.setdefault(node_id, GraphNode(node_id, "Pensioner", {"person_id": person_id, "name": name,
                                                                "status": status}))
    return node_id


def audit_row(entry: AuditEntry) -> dict[str, Any]:
    """An audit entry as stored: time as ISO text and before/after as canonical JSON, so hashes re-verify."""
    return {
        "seq": entry.seq, "at": entry.at.isoformat(), "actor": entry.actor, "action": entry.action,
        "person_id": entry.person_id, "subject": entry.subject, "sources": list(entry.sources),
        "before": json.dumps(entry.before, sort_keys=True, ensure_ascii=False),
        "after": json.dumps(entry.after, sort_keys=True, ensure_ascii=False),
        "prev_hash": entry.prev_hash, "hash": entry.hash,
    }


@overload
def audit_entry(row: dict[str, Any]) -> AuditEntry: ...
@overload
def audit_entry(row: dict[str, Any] | None) -> AuditEntry | None: ...
def audit_entry(row: dict[str, Any] | None) -> AuditEntry | None:
    """The AuditEntry of a query's row; None for no row."""
    if not row:
        return None
    return AuditEntry(
        seq=int(row["seq"]), at=datetime.fromisoformat(row["at"]), actor=row["actor"], action=row["action"],
        person_id=row["person_id"], subject=row["subject"], sources=tuple(row["sources"] or ()),
        before=json.loads(row["before"]), after=json.loads(row["after"]), prev_hash=row["prev_hash"],
        hash=row["hash"],
    )


def _from_iso(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) else value
