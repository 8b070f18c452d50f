// One batch of (flag, record) citations; the record is an Event or a DeathRecord.
UNWIND $rows AS r
MATCH (f:Flag {flag_id: r.flag_id})
OPTIONAL MATCH (ev:Event {key: r.event_key})
OPTIONAL MATCH (dr:DeathRecord {key: r.event_key})
WITH f, coalesce(ev, dr) AS e
WHERE e IS NOT NULL
MERGE (f)-[:CITES]->(e)
