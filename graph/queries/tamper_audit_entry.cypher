// TESTS ONLY: rewrite who made one audit entry, as a forger would, so the tamper-evidence test can show the chain
// catches it (tests/integration/test_review_over_grpc.py). No store method runs this; there is no API to edit
// the audit trail.
MATCH (a:AuditEntry {seq: $seq})
SET a.actor = $actor
RETURN a.seq AS seq
