// One batch of DeathRecord nodes whose content (h) or link (l) differs from what the graph holds. Content is set in place
// and its identifiers merged. A changed link retires the record's RESOLVED_TO edges (gone: the publish's
// generation; publish_drop_retired_links deletes them once every pensioner has switched) and links it anew under
// the generation, so a reader sees the old or the new link for a person, never both or neither; at most one
// person per record.
UNWIND $rows AS r
MATCH (e:DeathRecord {key: r.key})
SET e.source = r.source, e.kind = r.kind, e.record_id = r.record_id, e.occurred_at = localdatetime(r.occurred_at),
    e.passed = r.passed, e.h = r.h, e.l = r.l
FOREACH (v IN CASE WHEN r.id_number IS NULL THEN [] ELSE [r.id_number] END |
  MERGE (i:IdNumber {value: v}) MERGE (e)-[:OBSERVED_ON]->(i))
FOREACH (v IN CASE WHEN r.phone IS NULL THEN [] ELSE [r.phone] END |
  MERGE (i:Phone {value: v}) MERGE (e)-[:OBSERVED_ON]->(i))
FOREACH (v IN CASE WHEN r.card_no IS NULL THEN [] ELSE [r.card_no] END |
  MERGE (i:Card {value: v}) MERGE (e)-[:OBSERVED_ON]->(i))
WITH e, r
CALL (e, r) {
  WITH e, r WHERE r.relink
  MATCH (e)-[old:RESOLVED_TO]->(:Pensioner)
  WHERE old.gone IS NULL
  SET old.gone = $gen
}
CALL (e, r) {
  WITH e, r WHERE r.relink
  MATCH (p:Pensioner {person_id: r.person_id})
  CREATE (e)-[:RESOLVED_TO {probability: r.match_probability, method: r.method, round_id: $round_id, gen: $gen}]->(p)
}
