MATCH (f:Flag)
WHERE f.status <> 'open'
RETURN f {.*} AS row
ORDER BY f.flag_id
