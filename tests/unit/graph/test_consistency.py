"""Rules both stores apply inside a write: final flag decisions, an append-only audit chain."""

from __future__ import annotations

from datetime import datetime

import pytest

from silentcert.graph.consistency import check_appended, decided_status
from silentcert.graph.errors import Conflict, InvalidInput, NotFound
from silentcert.graph.model import AuditEntry, Decision

AT = datetime(2021, 11, 1, 9)


def _decision(action: str) -> Decision:
    return Decision("F1", action, "reviewer", "", AT)


@pytest.mark.parametrize("action,status", [("confirm", "confirmed"), ("dismiss", "dismissed"),
                                           ("escalate", "escalated")])
def test_open_and_escalated_flags_take_any_decision(action: str, status: str):
    assert decided_status("open", _decision(action)) == status
    assert decided_status("escalated", _decision(action)) == status


@pytest.mark.parametrize("final", ["confirmed", "dismissed"])
def test_a_final_decision_is_not_overturned(final: str):
    with pytest.raises(Conflict, match=f"already {final}"):
        decided_status(final, _decision("escalate"))


def test_missing_flag_and_unknown_action():
    with pytest.raises(NotFound):
        decided_status(None, _decision("confirm"))
    with pytest.raises(InvalidInput) as raised:
        decided_status("open", _decision("approve"))
    assert raised.value.field == "action"


def _entry(seq: int, digest: str) -> AuditEntry:
    return AuditEntry(seq, AT, "a", "b", None, "s", (), {}, {}, "p", digest)


def test_the_same_entry_may_be_appended_twice_but_never_changed():
    check_appended([_entry(1, "h1")], [(1, "h1")])
    check_appended([_entry(2, "h2")], [])
    with pytest.raises(Conflict, match=r"\[1\]"):
        check_appended([_entry(1, "other")], [(1, "h1")])
