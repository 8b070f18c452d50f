"""A face or in-person check reported between rounds by another system.

A passed check certifies the pensioner on its date: the period end moves to check date + N months, never
backward. A failed check is stored but certifies nothing. A deceased pensioner, or one in review, is never
certified here: the check is stored as evidence and the next round's death check weighs it.
"""

from __future__ import annotations

import dataclasses

from graph.model import ChannelCertification, Person
from graph.store import GraphStore
from services.errors import NotFound
from services.liveness.periods import add_months

LIVE_ROUND = "live"  # round_id of checks recorded between rounds
_NOT_CERTIFIABLE = ("deceased", "review")


def record_channel_check(store: GraphStore, cert: ChannelCertification, period_months: int = 12) -> tuple[Person, bool]:
    """Store the check and apply it; returns the pensioner afterwards and whether the period moved forward."""
    person = store.person(person_id=cert.person_id)
    if person is None:
        raise NotFound(f"no pensioner with person_id {cert.person_id}")
    store.record_certification(cert, person.round_id or LIVE_ROUND)
    if not cert.passed or person.status in _NOT_CERTIFIABLE:
        return person, False
    checked_on = cert.occurred_at.date()
    until = add_months(checked_on, period_months)
    if person.certified_until is not None and person.certified_until >= until:
        return person, False
    updated = dataclasses.replace(
        person, status="certified", method=cert.channel, source=cert.channel, evidence_at=checked_on,
        probability=1.0, certified_until=until, period_state="valid",
    )
    store.update_person(updated)
    return updated, True
