// A pensioner new to the graph is unknown while its publish is still running (pending).
MATCH (p:Pensioner {person_id: $person_id})
WHERE p.pending IS NULL
RETURN p {.*} AS row
