// One batch of DeathRecord nodes: OBSERVED_ON the identifiers the record carried, RESOLVED_TO the person it was
// linked to.
// A record resolves to at most one person: publish_unlink_death_records, run first in the same transaction, removes an
// earlier edge to anyone else (a DELETE here would put an Eager between every step of the plan).
// occurred_at arrives as ISO text and becomes a LocalDateTime here.
UNWIND $rows AS r
MERGE (e:DeathRecord {key: r.key})
SET e.source = r.source, e.kind = r.kind, e.record_id = r.record_id, e.occurred_at = localdatetime(r.occurred_at),
    e.passed = r.passed
FOREACH (v IN CASE WHEN r.id_number IS NULL THEN [] ELSE [r.id_number] END |
  MERGE (i:IdNumber {value: v}) MERGE (e)-[:OBSERVED_ON]->(i))
FOREACH (v IN CASE WHEN r.phone IS NULL THEN [] ELSE [r.phone] END |
  MERGE (i:Phone {value: v}) MERGE (e)-[:OBSERVED_ON]->(i))
FOREACH (v IN CASE WHEN r.card_no IS NULL THEN [] ELSE [r.card_no] END |
  MERGE (i:Card {value: v}) MERGE (e)-[:OBSERVED_ON]->(i))
WITH e, r
MATCH (p:Pensioner {person_id: r.person_id})
MERGE (e)-[t:RESOLVED_TO]->(p)
SET t.probability = r.match_probability, t.method = r.method, t.round_id = $round_id
