// One batch of (flag, record) citations; the record is an Event or a DeathRecord.
UNWIND range(0, $count - 1) AS row
MATCH (f:Flag {flag_id: $rows.flag_id[row]})
OPTIONAL MATCH (ev:Event {key: $rows.event_key[row]})
OPTIONAL MATCH (dr:DeathRecord {key: $rows.event_key[row]})
WITH f, coalesce(ev, dr) AS e
WHERE e IS NOT NULL
MERGE (f)-[:CITES]->(e)
