// Retention (docs/graph.md): the VERDICT edges that repeat the person's verdict of the round before (same
// status, period state and period end) and are followed by a later verdict, on Rounds other than the two latest.
// The first verdict of every run stays (held_periods dates a suspension from it), so does the latest.
// One auto-commit statement, deleting in transactions of $batch rows: a repeat's deletion leaves the verdict
// before it, equal to it, as the next one's nearest earlier verdict, so it changes no other edge's outcome.
MATCH (latest:Round)
WITH latest ORDER BY latest.as_of DESC, latest.round_id DESC LIMIT 2
WITH collect(latest.round_id) AS recent
MATCH (p:Pensioner)-[v:VERDICT]->(rd:Round)
WHERE NOT rd.round_id IN recent
  AND EXISTS {
    MATCH (p)-[:VERDICT]->(after:Round)
    WHERE after.as_of > rd.as_of OR (after.as_of = rd.as_of AND after.round_id > rd.round_id) }
CALL (p, rd) {
  MATCH (p)-[prev:VERDICT]->(pr:Round)
  WHERE pr.as_of < rd.as_of OR (pr.as_of = rd.as_of AND pr.round_id < rd.round_id)
  WITH prev, pr ORDER BY pr.as_of DESC, pr.round_id DESC LIMIT 1
  RETURN prev
}
WITH v, prev
WHERE prev.status = v.status AND coalesce(prev.period_state, '') = coalesce(v.period_state, '')
  AND coalesce(prev.certified_until, date('0001-01-01')) = coalesce(v.certified_until, date('0001-01-01'))
CALL (v) {
  DELETE v
} IN TRANSACTIONS OF $batch ROWS
RETURN count(*) AS dropped
