MATCH (p:Pensioner {person_id: $person_id})
RETURN p {.*} AS row
