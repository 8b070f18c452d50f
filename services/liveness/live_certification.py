"""A face or in-person check reported between rounds by another system.

A passed check certifies the pensioner on its date: the period end moves to check date + N months, never
backward. A failed check is stored but certifies nothing. A deceased pensioner, or one in review, is never
certified here: the check is stored as evidence and the next round's death check weighs it.

A check is a record someone answers for, so it is refused (INVALID_ARGUMENT on ``occurred_at``) when it lies in the
future or before the evidence window of the pensioner's round (its as-of date minus ``window_months``; the server's
today minus that for a pensioner no round has scored). Its ``record_id`` stays bound to the first pensioner it was
recorded for (Conflict otherwise). The check, the period change and an audit entry ``record_certification`` commit
in one transaction.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta

from silentcert.graph.errors import InvalidInput, NotFound
from silentcert.graph.model import AuditEntry, ChannelCertification, Person
from silentcert.graph.store import AuditedChange, GraphStore
from silentcert.services.deathcheck.audit import chain_entry, person_state
from silentcert.services.liveness.periods import add_months

LIVE_ROUND = "live"  # round_id of checks recorded between rounds
CLOCK_SKEW = timedelta(minutes=5)  # a kiosk's clock a little ahead of the server's is not a future check
_NOT_CERTIFIABLE = ("deceased", "review")


def record_channel_check(store: GraphStore, cert: ChannelCertification, period_months: int = 12, *,
                         now: datetime | None = None, window_months: int = 12) -> tuple[Person, bool]:
    """Store the check and apply it; returns the pensioner afterwards and whether the period moved forward.
    `now` is the server's time (default: the clock); times without a zone are UTC."""
    now = _utc(now or datetime.now(UTC))
    cert = dataclasses.replace(cert, occurred_at=_utc(cert.occurred_at))
    person = store.person(person_id=cert.person_id)
    if person is None:
        raise NotFound(f"no pensioner with person_id {cert.person_id}")
    _check_date(cert.occurred_at, earliest_check(store, person, now, window_months), now)
    updated = _certified(person, cert, period_months)
    store.commit_audited(
        AuditedChange(certification=cert, certification_round=person.round_id or LIVE_ROUND, person=updated),
        lambda head, _flag: _entry(head, store.audit_key, cert, person, updated, now))
    return (updated or person), updated is not None


def earliest_check(store: GraphStore, person: Person, now: datetime, window_months: int) -> date:
    """The first day of the evidence window of the pensioner's round (of today when no round scored them)."""
    as_of = store.round_as_of(person.round_id) if person.round_id else None
    return add_months(as_of or now.date(), -window_months)


def _check_date(occurred_at: datetime, earliest: date, now: datetime) -> None:
    if occurred_at > now + CLOCK_SKEW:
        raise InvalidInput(f"occurred_at {occurred_at.isoformat()} is in the future (server time "
                           f"{now.isoformat(timespec='seconds')})", field="occurred_at")
    if occurred_at.date() < earliest:
        raise InvalidInput(f"occurred_at {occurred_at.date()} is before the evidence window, which starts "
                           f"{earliest}", field="occurred_at")


def _utc(when: datetime) -> datetime:
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when


def _certified(person: Person, cert: ChannelCertification, period_months: int) -> Person | None:
    """The pensioner certified by the check; None when it changes nothing."""
    if not cert.passed or person.status in _NOT_CERTIFIABLE:
        return None
    checked_on = cert.occurred_at.date()
    until = add_months(checked_on, period_months)
    if person.certified_until is not None and person.certified_until >= until:
        return None
    return dataclasses.replace(
        person, status="certified", method=cert.channel, source=cert.channel, evidence_at=checked_on,
        probability=1.0, certified_until=until, period_state="valid",
        explanation=f"{cert.channel}: check {cert.record_id} passed on {checked_on}, recorded after the round; "
                    f"certified until {until}",
    )


def _entry(head: AuditEntry | None, key: bytes, cert: ChannelCertification, before: Person, after: Person | None,
           now: datetime) -> AuditEntry:
    event_key = f"{cert.channel}/{cert.record_id}"
    check = {"channel": cert.channel, "record_id": cert.record_id, "occurred_at": cert.occurred_at.isoformat(),
             "passed": cert.passed, "operator": cert.operator}
    return chain_entry(head, key=key, actor=cert.operator, action="record_certification", at=now,
                       person_id=cert.person_id, subject=f"certification:{event_key}", sources=(event_key,),
                       before={"person": person_state(before)},
                       after={"person": person_state(after or before), "check": check,
                              "period_extended": after is not None})


