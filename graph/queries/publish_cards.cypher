// One batch of Card identifiers held by pensioners; `shared` when the resolver found several holders.
UNWIND $rows AS r
MATCH (p:Pensioner {person_id: r.person_id})
MERGE (i:Card {value: r.value})
SET i.shared = r.shared
MERGE (p)-[h:HAS_CARD]->(i)
SET h.origin = r.origin
