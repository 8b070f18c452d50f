// One batch of IdNumber identifiers held by pensioners; `shared` when the resolver found several holders.
UNWIND range(0, $count - 1) AS row
MATCH (p:Pensioner {person_id: $rows.person_id[row]})
MERGE (i:IdNumber {value: $rows.value[row]})
SET i.shared = $rows.shared[row]
MERGE (p)-[h:HAS_ID]->(i)
SET h.origin = $rows.origin[row]
