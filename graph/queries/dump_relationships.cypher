// Every relationship with its type, properties and the keys of its ends: comparing two small graphs in tests.
MATCH (a)-[r]->(b)
RETURN type(r) AS type, properties(r) AS properties,
       labels(a) AS start_labels, coalesce(a.person_id, a.value, a.key, a.flag_id, a.round_id, a.seq) AS start_key,
       labels(b) AS end_labels, coalesce(b.person_id, b.value, b.key, b.flag_id, b.round_id, b.seq) AS end_key
