// GetLiveness in one round trip: the pensioner and their newest resolved records (as evidence.cypher, newest
// first, at most $limit), $since (a LocalDateTime) or null for all. No row when the person_id is unknown.
MATCH (p:Pensioner {person_id: $person_id})
RETURN p {.*} AS row, COLLECT {
  MATCH (e)-[t:RESOLVED_TO]->(p)
  WHERE $since IS NULL OR e.occurred_at >= $since
  WITH e, t
  ORDER BY e.occurred_at DESC, e.key
  LIMIT $limit
  RETURN {
    source: e.source, kind: e.kind, record_id: e.record_id, occurred_at: e.occurred_at,
    link_probability: t.probability, method: t.method, round_id: t.round_id, passed: e.passed
  }
} AS evidence
