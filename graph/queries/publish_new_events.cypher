// One batch of Event nodes new to the graph (graph/neo4j_publish.py found no node with their key): created, not
// merged, with the hashes the next publish compares against (h: content, l: link). OBSERVED_ON the identifier nodes
// publish_*_nodes merged first; RESOLVED_TO the person the record was linked to, under the publish's generation
// (read only once that person's gen reaches it: publish_generation.cypher).
// occurred_at arrives as ISO text and becomes a LocalDateTime here.
UNWIND range(0, $count - 1) AS row
CREATE (e:Event {key: $rows.key[row], source: $rows.source[row], kind: $rows.kind[row], record_id: $rows.record_id[row],
                 occurred_at: localdatetime($rows.occurred_at[row]), passed: $rows.passed[row], h: $rows.h[row], l: $rows.l[row]})
WITH e, row
CALL (e, row) {
  MATCH (i:IdNumber {value: $rows.id_number[row]})
  CREATE (e)-[:OBSERVED_ON]->(i)
}
CALL (e, row) {
  MATCH (i:Phone {value: $rows.phone[row]})
  CREATE (e)-[:OBSERVED_ON]->(i)
}
CALL (e, row) {
  MATCH (i:Card {value: $rows.card_no[row]})
  CREATE (e)-[:OBSERVED_ON]->(i)
}
CALL (e, row) {
  MATCH (p:Pensioner {person_id: $rows.person_id[row]})
  CREATE (e)-[:RESOLVED_TO {probability: $rows.match_probability[row], method: $rows.method[row], round_id: $round_id, gen: $gen}]->(p)
}
