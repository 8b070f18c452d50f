MATCH (a:AuditEntry)
RETURN a {.*} AS row
ORDER BY a.seq DESC
LIMIT 1
