// The audit entries with one of $actions dated before $before (entries keep their time as ISO text, with its offset).
MATCH (a:AuditEntry)
WHERE a.action IN $actions AND datetime(a.at) < datetime($before)
RETURN a.seq AS seq, a.action AS action, a.person_id AS person_id, a.subject AS subject, a.after AS after
ORDER BY a.seq
