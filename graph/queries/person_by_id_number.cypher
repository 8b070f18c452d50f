// A pensioner new to the graph is unknown while its publish is still running (pending).
// Several registry rows may carry one ID number; the lowest account number answers.
MATCH (p:Pensioner {id_number: $id_number})
WHERE p.pending IS NULL
RETURN p {.*} AS row
ORDER BY p.person_id
LIMIT 1
