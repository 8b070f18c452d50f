// Before a batch of DeathRecord nodes is merged (publish_death_records, same transaction): remove a RESOLVED_TO edge to anyone
// but the person the record is now linked to (to anyone when it is linked to nobody): at most one person per record.
UNWIND $rows AS r
MATCH (e:DeathRecord {key: r.key})-[old:RESOLVED_TO]->(q:Pensioner)
WHERE r.person_id IS NULL OR q.person_id <> r.person_id
DELETE old
