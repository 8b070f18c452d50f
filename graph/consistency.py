"""The checks both stores make inside a write so the graph's history stays honest.

A confirmed or dismissed flag is final; an audit entry, once written, never changes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from silentcert.graph.errors import Conflict, InvalidInput, NotFound
from silentcert.graph.model import AuditEntry, Decision

STATUS_OF_ACTION = {"confirm": "confirmed", "dismiss": "dismissed", "escalate": "escalated"}
FINAL_STATUSES = ("confirmed", "dismissed")


def decided_status(current: str | None, decision: Decision) -> str:
    """The flag's status after `decision`, given its `current` status (None when there is no such flag)."""
    if decision.action not in STATUS_OF_ACTION:
        raise InvalidInput(f"unknown action {decision.action!r}; expected one of {', '.join(STATUS_OF_ACTION)}",
                           field="action")
    if current is None:
        raise NotFound(f"no flag {decision.flag_id!r}")
    if current in FINAL_STATUSES:
        raise Conflict(f"flag {decision.flag_id!r} is already {current}; it cannot be {decision.action}ed again")
    return STATUS_OF_ACTION[decision.action]


def check_appended(entries: Sequence[AuditEntry], stored: Iterable[tuple[int, str]]) -> None:
    """Raise Conflict when an entry's seq was already taken by an entry with another hash.

    Appending the very same entry twice (a retried write) is fine."""
    wanted = {e.seq: e.hash for e in entries}
    clashes = sorted(seq for seq, h in stored if seq in wanted and wanted[seq] != h)
    if clashes:
        raise Conflict(f"audit entries {clashes[:5]} already exist with a different hash; the chain is append-only")
