// A reviewer's decision; the caller has checked the flag is still undecided in the same transaction.
MATCH (f:Flag {flag_id: $flag_id})
SET f.status = $status, f.decided_by = $decided_by, f.decided_at = $decided_at, f.note = $note
RETURN f {.*} AS row
