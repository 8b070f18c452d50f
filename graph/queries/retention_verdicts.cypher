// Retention (docs/graph.md): up to $batch VERDICT edges to Rounds dated before $since (ISO date) that repeat the
// status and period state of the person's verdict of the round before and are followed by a later verdict. The
// first verdict of every run of states stays (held_periods dates a suspension from it), so does the latest.
MATCH (p:Pensioner)-[v:VERDICT]->(rd:Round)
WHERE rd.as_of < date($since)
  AND EXISTS {
    MATCH (p)-[:VERDICT]->(next:Round)
    WHERE next.as_of > rd.as_of OR (next.as_of = rd.as_of AND next.round_id > rd.round_id) }
CALL (p, rd) {
  MATCH (p)-[prev:VERDICT]->(pr:Round)
  WHERE pr.as_of < rd.as_of OR (pr.as_of = rd.as_of AND pr.round_id < rd.round_id)
  WITH prev, pr ORDER BY pr.as_of DESC, pr.round_id DESC LIMIT 1
  RETURN prev
}
WITH v, prev
WHERE prev.status = v.status AND coalesce(prev.period_state, '') = coalesce(v.period_state, '')
WITH v LIMIT $batch
DELETE v
RETURN count(*) AS dropped
