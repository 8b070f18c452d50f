// GetLiveness by ID number for a batch of concurrent callers: as liveness_by_ids.cypher (dates and times as ISO
// text); of several registry rows carrying one ID number the lowest account number answers (as
// person_by_id_number.cypher). No row for an unknown ID number. `generation` as in liveness_by_ids.cypher.
// A publish in progress is read as a whole per person (graph/neo4j_publish.py): the pensioner's properties are
// read once (row) and a record linked by the publish (RESOLVED_TO gen) shows only once row.gen reaches it, a link
// it retired (gone) until then; a pensioner new to the graph is unknown while pending.
OPTIONAL MATCH (g:Generation {name: 'answers'})
WITH [g.epoch, coalesce(g.count, 0)] AS generation
UNWIND $keys AS key
CALL {
  WITH key
  MATCH (p:Pensioner {id_number: key})
  WHERE p.pending IS NULL
  RETURN p
  ORDER BY p.person_id
  LIMIT 1
}
WITH key, generation, p, p {.*, birth_date: toString(p.birth_date), evidence_at: toString(p.evidence_at),
                            certified_until: toString(p.certified_until)} AS row
RETURN key, generation, row, COLLECT {
  MATCH (e)-[t:RESOLVED_TO]->(p)
  WHERE ($since IS NULL OR e.occurred_at >= $since) AND coalesce(t.gen, 0) <= coalesce(row.gen, 0)
    AND (t.gone IS NULL OR t.gone > coalesce(row.gen, 0))
  WITH e, t
  ORDER BY e.occurred_at DESC, e.key
  LIMIT $limit
  RETURN {
    source: e.source, kind: e.kind, record_id: e.record_id, occurred_at: toString(e.occurred_at),
    link_probability: t.probability, method: t.method, round_id: t.round_id, passed: e.passed
  }
} AS evidence
