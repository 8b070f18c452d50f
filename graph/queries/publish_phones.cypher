// One batch of Phone identifiers held by pensioners, whose nodes publish_phones_nodes merged first: the edge is created
// for a pensioner new to the graph (`new`) and merged for one already there.
UNWIND range(0, $count - 1) AS row
MATCH (p:Pensioner {person_id: $rows.person_id[row]})
MATCH (i:Phone {value: $rows.value[row]})
CALL (p, i, row) {
  WITH p, i, row WHERE $rows.new[row]
  CREATE (p)-[:HAS_PHONE {origin: $rows.origin[row]}]->(i)
}
CALL (p, i, row) {
  WITH p, i, row WHERE NOT $rows.new[row]
  MERGE (p)-[h:HAS_PHONE]->(i)
  SET h.origin = $rows.origin[row]
}
