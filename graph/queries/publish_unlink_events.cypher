// Before a batch of Event nodes is merged (publish_events, same transaction): remove a RESOLVED_TO edge to anyone
// but the person the record is now linked to (to anyone when it is linked to nobody): at most one person per record.
UNWIND $rows AS r
MATCH (e:Event {key: r.key})-[old:RESOLVED_TO]->(q:Pensioner)
WHERE r.person_id IS NULL OR q.person_id <> r.person_id
DELETE old
