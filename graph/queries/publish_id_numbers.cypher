// One batch of IdNumber identifiers held by pensioners; `shared` when the resolver found several holders.
UNWIND $rows AS r
MATCH (p:Pensioner {person_id: r.person_id})
MERGE (i:IdNumber {value: r.value})
SET i.shared = r.shared
MERGE (p)-[h:HAS_ID]->(i)
SET h.origin = r.origin
