// GetLiveness for a batch of concurrent callers in one round trip (graph/coalesce.py): per person_id of $keys
// found, the pensioner and their newest resolved records (as evidence.cypher, newest first, at most $limit),
// $since (a LocalDateTime) or null for all. No row for an unknown person_id.
// Dates and times come back as ISO text: Python's fromisoformat reads them several times faster than the
// driver builds its own temporal objects, the largest cost of this call in the driver.
// `generation` is the store's (generation.cypher), read before any pensioner: the answers were read under it.
// A publish in progress is read as a whole per person (graph/neo4j_publish.py): the pensioner's properties are
// read once (row) and a record linked by the publish (RESOLVED_TO gen) shows only once row.gen reaches it, a link
// it retired (gone) until then; a pensioner new to the graph is unknown while pending.
OPTIONAL MATCH (g:Generation {name: 'answers'})
WITH [g.epoch, coalesce(g.count, 0)] AS generation
UNWIND $keys AS key
MATCH (p:Pensioner {person_id: key})
WHERE p.pending IS NULL
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
