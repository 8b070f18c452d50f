// The chain in order, all of it or the entries about one person ($person_id null = all).
MATCH (a:AuditEntry)
WHERE $person_id IS NULL OR a.person_id = $person_id
RETURN a {.*} AS row
ORDER BY a.seq
