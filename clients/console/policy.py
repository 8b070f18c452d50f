"""What the review console shows masked or in full (stated for investigators in docs/investigation.md).

    the queue                 person id, county, kind, severity, status, overpayment, who decided; no name, no
                              ID number, no phone; ID numbers and mobile numbers inside a flag's sentence masked
    a case: the person        name, ID number in full (compared with the death register by hand), county, status
    a case: cited records     each record's fields as its source sent them, its ID number, phone and card number
                              in full (whether they are the person's is the question a reviewer answers)
    a case: the audit trail   who, when, what, on which record; ID numbers and mobile numbers in the before/after
                              states masked (they repeat the person's, shown above)
    everywhere                only flag ids and person ids in URLs and page titles; pages sent with
                              Cache-Control: no-store; the console logs flag ids and reviewers, never a value

Full values reach the console only because the reviewer role sees them over gRPC (services/security/roles.py);
the console is for that role alone, and every case it opens is in the services' access log under the
investigator's name (a GetFlag, a GetLiveness and a GetAuditTrail call).
"""

from __future__ import annotations

from silentcert.services.security.masking import mask_id_number, mask_phone, mask_text

__all__ = ["queue_text", "audit_state", "mask_id_number", "mask_phone"]


def queue_text(sentence: str) -> str:
    """A flag's sentence as the queue shows it: identifiers in it masked."""
    return mask_text(sentence)


def audit_state(state_json: str) -> str:
    """An audit entry's before or after state as the case shows it: identifiers in it masked."""
    return mask_text(state_json) if state_json not in ("", "{}", "null") else ""
