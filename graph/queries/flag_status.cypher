MATCH (f:Flag {flag_id: $flag_id})
RETURN f.status AS status
