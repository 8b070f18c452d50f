"""What a reviewer's decision on a flag does to the pensioner, by flag kind and action.

One table, used by the live review (review.py) and by a rerun of the round that finds earlier decisions
(stage.py), so both apply the same effect:

    deceased  status deceased, period ended, the overpayment on the flag is final
    restore   the state before the death check changed it (evidence accepted); arrears for the months held
    hold      status review, period suspended (payments held while someone investigates)
    none      the pensioner is left as they are

``restore`` only undoes a change the flag itself caused (its primary death flag); dismissing a secondary flag
beside a confirmed death changes nothing.
"""

from __future__ import annotations

STATUS_ACTIONS = {"confirmed": "confirm", "dismissed": "dismiss", "escalated": "escalate"}

_DEATH = {"confirm": "deceased", "dismiss": "restore", "escalate": "hold"}

EFFECTS: dict[str, dict[str, str]] = {
    "confirmed_death": _DEATH,
    "activity_after_death": _DEATH,
    "register_disagreement": _DEATH,
    "unconfirmed_death": _DEATH,
    "uncertain_death_link": _DEATH,
    "possible_death_record": _DEATH,
    "weak_activity_after_death": {"confirm": "deceased", "dismiss": "none", "escalate": "hold"},
    "shared_identifier_ring": {"confirm": "hold", "dismiss": "none", "escalate": "hold"},
    "home_visit": {"confirm": "hold", "dismiss": "none", "escalate": "none"},
    # confirmed on the account that is the duplicate (same person): its payments held; dismissed: two people
    "duplicate_account": {"confirm": "hold", "dismiss": "none", "escalate": "hold"},
}


def effect(kind: str, action: str) -> str:
    """The effect of `action` on a flag of `kind` ('none' for kinds this table does not know)."""
    return EFFECTS.get(kind, {}).get(action, "none")


def effect_rows() -> list[tuple[str, str, str]]:
    """(kind, flag status after the decision, effect) rows for SQL joins."""
    return [(kind, status, effect(kind, action))
            for kind in EFFECTS for status, action in STATUS_ACTIONS.items()]
