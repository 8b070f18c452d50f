// One batch of Event nodes new to the graph (graph/neo4j_publish.py found no node with their key): created, not
// merged, with the hashes the next publish compares against (h: content, l: link). OBSERVED_ON the identifier nodes
// publish_*_nodes merged first; RESOLVED_TO the person the record was linked to, under the publish's generation
// (read only once that person's gen reaches it: publish_generation.cypher).
// occurred_at arrives as ISO text and becomes a LocalDateTime here.
UNWIND $rows AS r
CREATE (e:Event {key: r.key, source: r.source, kind: r.kind, record_id: r.record_id,
                 occurred_at: localdatetime(r.occurred_at), passed: r.passed, h: r.h, l: r.l})
WITH e, r
CALL (e, r) {
  MATCH (i:IdNumber {value: r.id_number})
  CREATE (e)-[:OBSERVED_ON]->(i)
}
CALL (e, r) {
  MATCH (i:Phone {value: r.phone})
  CREATE (e)-[:OBSERVED_ON]->(i)
}
CALL (e, r) {
  MATCH (i:Card {value: r.card_no})
  CREATE (e)-[:OBSERVED_ON]->(i)
}
CALL (e, r) {
  MATCH (p:Pensioner {person_id: r.person_id})
  CREATE (e)-[:RESOLVED_TO {probability: r.match_probability, method: r.method, round_id: $round_id, gen: $gen}]->(p)
}
