// One batch of Event nodes whose content (h) or link (l) differs from what the graph holds. Content is set in place
// and its identifiers merged. A changed link retires the record's RESOLVED_TO edges (gone: the publish's
// generation; publish_drop_retired_links deletes them once every pensioner has switched) and links it anew under
// the generation, so a reader sees the old or the new link for a person, never both or neither; at most one
// person per record.
UNWIND range(0, $count - 1) AS row
MATCH (e:Event {key: $rows.key[row]})
SET e.source = $rows.source[row], e.kind = $rows.kind[row], e.record_id = $rows.record_id[row], e.occurred_at = localdatetime($rows.occurred_at[row]),
    e.passed = $rows.passed[row], e.h = $rows.h[row], e.l = $rows.l[row]
FOREACH (v IN CASE WHEN $rows.id_number[row] IS NULL THEN [] ELSE [$rows.id_number[row]] END |
  MERGE (i:IdNumber {value: v}) MERGE (e)-[:OBSERVED_ON]->(i))
FOREACH (v IN CASE WHEN $rows.phone[row] IS NULL THEN [] ELSE [$rows.phone[row]] END |
  MERGE (i:Phone {value: v}) MERGE (e)-[:OBSERVED_ON]->(i))
FOREACH (v IN CASE WHEN $rows.card_no[row] IS NULL THEN [] ELSE [$rows.card_no[row]] END |
  MERGE (i:Card {value: v}) MERGE (e)-[:OBSERVED_ON]->(i))
WITH e, row
CALL (e, row) {
  WITH e, row WHERE $rows.relink[row]
  MATCH (e)-[old:RESOLVED_TO]->(:Pensioner)
  WHERE old.gone IS NULL
  SET old.gone = $gen
}
CALL (e, row) {
  WITH e, row WHERE $rows.relink[row]
  MATCH (p:Pensioner {person_id: $rows.person_id[row]})
  CREATE (e)-[:RESOLVED_TO {probability: $rows.match_probability[row], method: $rows.method[row], round_id: $round_id, gen: $gen}]->(p)
}
