"""Recording a reviewer's decision on a flag over gRPC, with its audit entry — a stopgap until the death
check's own review module (which also applies the decision's effect on the pensioner) is wired in.

Only open or escalated flags can be decided; deciding a closed flag is a Conflict. Each decision appends one
audit entry chained to the head of the audit chain by hash. What a decision does to the pensioner (ending
the period on a confirmed death, restoring it on a dismissal) belongs to the death-check rules and is applied
by them; this module records the decision.
"""

from __future__ import annotations

from typing import Any

from graph.model import AuditEntry, Decision, Flag
from graph.store import GraphStore
from services.deathcheck.audit import chain_entry
from services.errors import Conflict, InvalidInput

ACTIONS = ("confirm", "dismiss", "escalate")
DECIDABLE = ("open", "escalated")


def decide_flag(store: GraphStore, decision: Decision) -> tuple[Flag, AuditEntry]:
    """Check and save the decision, append its audit entry; returns the updated flag and the entry."""
    _check(decision)
    before = store.flag(decision.flag_id).flag  # raises NotFound
    if before.status not in DECIDABLE:
        raise Conflict(f"flag {before.flag_id} is already {before.status} by {before.decided_by}")
    after = store.save_decision(decision)
    entry = chain_entry(store.last_audit(), actor=decision.reviewer, action=f"decide_flag:{decision.action}",
                        at=decision.decided_at, person_id=after.person_id, subject=f"flag:{after.flag_id}",
                        sources=(f"flag:{after.flag_id}",), before=_state(before), after=_state(after))
    store.append_audit([entry])
    return after, entry


def _check(decision: Decision) -> None:
    if decision.action not in ACTIONS:
        raise InvalidInput(f"action must be one of {', '.join(ACTIONS)}", field="action")
    if not decision.reviewer.strip():
        raise InvalidInput("reviewer is required", field="reviewer")
    if decision.action == "dismiss" and not decision.note.strip():
        raise InvalidInput("a dismissal needs a note saying why the evidence stands", field="note")


def _state(flag: Flag) -> dict[str, Any]:
    return {"status": flag.status, "overpayment": flag.overpayment, "decided_by": flag.decided_by,
            "note": flag.note}
