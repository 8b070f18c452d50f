"""A reviewer's decision on a flag: saved on the flag, applied to the pensioner, recorded in the audit chain.

Only open or escalated flags can be decided (deciding a closed one is a Conflict). The effect on the pensioner
comes from effects.EFFECTS:

    confirm a death flag     status deceased, period ended, the flag's overpayment is final
    dismiss a death flag     evidence accepted: the verdict the death check replaced is restored (from the
                             audit entry of that change) and the arrears for the payment days held are recorded
    escalate / hold          status review, period suspended

Each decision appends one audit entry, chained to the head of the chain, with the flag's and the person's state
before and after and the records the flag cites. The flag's status, the person's change and the entry commit in
one transaction (``GraphStore.commit_audited``): an entry that cannot be appended leaves the flag undecided.
"""

from __future__ import annotations

import dataclasses
from datetime import date, datetime
from typing import Any

from silentcert.graph.errors import Conflict, InvalidInput
from silentcert.graph.model import AuditEntry, Decision, Flag, FlagDetail, Person
from silentcert.graph.store import AuditedChange, GraphStore
from silentcert.services.deathcheck.audit import chain_entry, person_state
from silentcert.services.deathcheck.effects import effect
from silentcert.services.deathcheck.payments import payments_between
from silentcert.services.deathcheck.settings import DeathCheckSettings

ACTIONS = ("confirm", "dismiss", "escalate")
DECIDABLE = ("open", "escalated")
STATUS_CHANGES = ("status_deceased", "status_review")


def decide(store: GraphStore, flag_id: str, action: str, reviewer: str, note: str, now: datetime,
           settings: DeathCheckSettings | None = None) -> Flag:
    """Decide one flag; returns the updated flag."""
    flag, _ = decide_flag(store, Decision(flag_id, action, reviewer, note, now), settings)
    return flag


def decide_flag(store: GraphStore, decision: Decision,
                settings: DeathCheckSettings | None = None) -> tuple[Flag, AuditEntry]:
    """Check, save and apply the decision, append its audit entry; returns the updated flag and the entry."""
    _check(decision)
    detail = store.flag(decision.flag_id)  # raises NotFound
    if detail.flag.status not in DECIDABLE:
        raise Conflict(f"flag {decision.flag_id} is already {detail.flag.status} by {detail.flag.decided_by}")
    change = _person_change(store, detail, decision, settings or DeathCheckSettings())

    def entry_of(head: AuditEntry | None, decided: Flag | None) -> AuditEntry:
        saved = decided or detail.flag  # commit_audited hands over the flag a decision saved
        return chain_entry(
            head, key=store.audit_key, actor=decision.reviewer, action=f"decide_flag:{decision.action}",
            at=decision.decided_at, person_id=saved.person_id, subject=f"flag:{saved.flag_id}",
            sources=_cited(detail),
            before={"flag": _flag_state(detail.flag), "person": person_state(detail.person)},
            after={"flag": _flag_state(saved), "person": person_state(change.after or detail.person),
                   "effect": change.effect, **change.money},
        )

    saved, entry = store.commit_audited(AuditedChange(decision=decision, person=change.after), entry_of)
    return saved or detail.flag, entry


@dataclasses.dataclass(frozen=True)
class _Change:
    effect: str
    after: Person | None = None  # None: the person is left as they are
    money: dict[str, Any] = dataclasses.field(default_factory=dict)


def _person_change(store: GraphStore, detail: FlagDetail, decision: Decision,
                   settings: DeathCheckSettings) -> _Change:
    kind, person = effect(detail.flag.kind, decision.action), detail.person
    if person is None or kind == "none":
        return _Change(kind)
    if kind == "deceased":
        after = dataclasses.replace(person, status="deceased", period_state="ended", probability=0.0)
        return _Change(kind, after, {"overpayment": detail.flag.overpayment, "overpayment_final": True})
    if kind == "hold":
        return _Change(kind, dataclasses.replace(person, status="review", period_state="suspended"))
    return _restore(store, detail, person, decision, settings)


def _restore(store: GraphStore, detail: FlagDetail, person: Person, decision: Decision,
             settings: DeathCheckSettings) -> _Change:
    """Undo the status change this flag caused, with arrears for the payment days it held back."""
    change = _status_change_by(store, person.person_id, detail.flag.flag_id)
    if change is None:  # the flag changed nothing (a secondary flag): nothing to restore
        return _Change("none")
    before = change.before
    after = dataclasses.replace(
        person, status=before.get("status"), method=before.get("method"), source=before.get("source"),
        probability=before.get("probability"), period_state=before.get("period_state"),
        certified_until=_date(before.get("certified_until")) or person.certified_until)
    held_since = _date(change.after.get("suspended_since")) or change.at.date()
    months = payments_between(held_since, decision.decided_at.date(), settings.payment_day)
    arrears = round(months * (person.monthly_pension or 0.0), 2)
    return _Change("restore", after, {"arrears_months": months, "arrears": arrears,
                                      "held_since": held_since.isoformat()})


def _status_change_by(store: GraphStore, person_id: str, flag_id: str) -> AuditEntry | None:
    """The newest automatic status change of the person that this flag caused."""
    for entry in reversed(store.audit_trail(person_id)):
        if entry.action in STATUS_CHANGES and entry.after.get("flag_id") == flag_id:
            return entry
    return None


def _check(decision: Decision) -> None:
    if decision.action not in ACTIONS:
        raise InvalidInput(f"action must be one of {', '.join(ACTIONS)}, got {decision.action!r}", field="action")
    if not decision.reviewer.strip():
        raise InvalidInput("reviewer is required", field="reviewer")
    if decision.action == "dismiss" and not decision.note.strip():
        raise InvalidInput("a dismissal needs a note saying why the evidence stands", field="note")


def _cited(detail: FlagDetail) -> tuple[str, ...]:
    keys = [n.id.split(":", 1)[1] for n in detail.nodes if n.label in ("Event", "DeathRecord")]
    return (f"flag:{detail.flag.flag_id}", *sorted(keys))


def _flag_state(flag: Flag) -> dict[str, Any]:
    return {"flag_id": flag.flag_id, "kind": flag.kind, "status": flag.status, "overpayment": flag.overpayment,
            "decided_by": flag.decided_by, "note": flag.note}


def _date(value: Any) -> date | None:
    return date.fromisoformat(value) if isinstance(value, str) else None
