// Several registry rows may carry one ID number; the lowest account number answers.
MATCH (p:Pensioner {id_number: $id_number})
RETURN p {.*} AS row
ORDER BY p.person_id
LIMIT 1
