// Retention (docs/graph.md): the Events dated before $since (ISO local date-time) that no Flag CITES and
// that are not their person's latest record of their source; records resolved to nobody go too. DeathRecords stay.
// Returns how many went. One auto-commit statement, deleting in transactions of $batch rows: a deletion never
// changes whether another Event qualifies (a person's latest record of a source is never one).
MATCH (e:Event)
WHERE e.occurred_at < localdatetime($since) AND NOT EXISTS { (e)<-[:CITES]-(:Flag) }
OPTIONAL MATCH (e)-[:RESOLVED_TO]->(p:Pensioner)
WITH e, p
WHERE p IS NULL OR EXISTS {
  MATCH (later:Event)-[:RESOLVED_TO]->(p)
  WHERE later.source = e.source
    AND (later.occurred_at > e.occurred_at OR (later.occurred_at = e.occurred_at AND later.key > e.key)) }
WITH DISTINCT e
CALL (e) {
  DETACH DELETE e
} IN TRANSACTIONS OF $batch ROWS
RETURN count(*) AS dropped
