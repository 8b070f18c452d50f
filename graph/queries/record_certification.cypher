// A face or in-person check reported between rounds: an Event resolved to the person, keyed on channel/record_id.
// A key already resolved to another pensioner is left alone and reported (`taken`): a record_id is bound to its person.
MATCH (p:Pensioner {person_id: $person_id})
OPTIONAL MATCH (:Event {key: $key})-[:RESOLVED_TO]->(other:Pensioner)
WHERE other.person_id <> $person_id
WITH p, count(other) AS taken
FOREACH (_ IN CASE WHEN taken = 0 THEN [1] ELSE [] END |
  MERGE (e:Event {key: $key})
  SET e.source = $channel, e.kind = $channel, e.record_id = $record_id, e.occurred_at = $occurred_at,
      e.passed = $passed, e.operator = $operator
  MERGE (e)-[t:RESOLVED_TO]->(p)
  SET t.probability = 1.0, t.method = 'direct', t.round_id = $round_id
)
RETURN p.person_id AS person_id, taken
