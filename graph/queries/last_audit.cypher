// The newest audit entry. `seq IS NOT NULL` lets the planner read it off the end of the audit_entry_seq index
// (two hits) instead of scanning and sorting every entry: each audited write asks this before it chains.
MATCH (a:AuditEntry)
WHERE a.seq IS NOT NULL
RETURN a {.*} AS row
ORDER BY a.seq DESC
LIMIT 1
