MATCH (p:Pensioner)
RETURN p.person_id AS person_id, p.status AS status, p.certified_until AS certified_until
ORDER BY p.person_id
