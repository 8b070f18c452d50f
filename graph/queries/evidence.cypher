// Records resolved to one person, newest first; $since (a LocalDateTime) or null for all. Links of a publish in
// progress as liveness_by_ids.cypher.
MATCH (e)-[t:RESOLVED_TO]->(p:Pensioner {person_id: $person_id})
WHERE ($since IS NULL OR e.occurred_at >= $since) AND coalesce(t.gen, 0) <= coalesce(p.gen, 0)
  AND (t.gone IS NULL OR t.gone > coalesce(p.gen, 0))
RETURN {
  source: e.source, kind: e.kind, record_id: e.record_id, occurred_at: e.occurred_at,
  link_probability: t.probability, method: t.method, round_id: t.round_id, passed: e.passed
} AS row
ORDER BY e.occurred_at DESC, e.key
