// GetLiveness by ID number for a batch of concurrent callers: as liveness_by_ids.cypher (dates and times as ISO
// text); of several registry rows carrying one ID number the lowest account number answers (as
// person_by_id_number.cypher). No row for an unknown ID number. `generation` as in liveness_by_ids.cypher.
OPTIONAL MATCH (g:Generation {name: 'answers'})
WITH [g.epoch, coalesce(g.count, 0)] AS generation
UNWIND $keys AS key
CALL {
  WITH key
  MATCH (p:Pensioner {id_number: key})
  RETURN p
  ORDER BY p.person_id
  LIMIT 1
}
RETURN key, generation, p {.*, birth_date: toString(p.birth_date), evidence_at: toString(p.evidence_at),
          certified_until: toString(p.certified_until)} AS row, COLLECT {
  MATCH (e)-[t:RESOLVED_TO]->(p)
  WHERE $since IS NULL OR e.occurred_at >= $since
  WITH e, t
  ORDER BY e.occurred_at DESC, e.key
  LIMIT $limit
  RETURN {
    source: e.source, kind: e.kind, record_id: e.record_id, occurred_at: toString(e.occurred_at),
    link_probability: t.probability, method: t.method, round_id: t.round_id, passed: e.passed
  }
} AS evidence
