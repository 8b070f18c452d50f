// Retention (docs/graph.md): up to $batch IdNumber, Phone and Card nodes that no pensioner holds and no record
// (Event or DeathRecord) is OBSERVED_ON any more. Returns how many went.
MATCH (i:IdNumber|Phone|Card)
WHERE NOT EXISTS { (i)<-[:HAS_ID|HAS_PHONE|HAS_CARD]-() } AND NOT EXISTS { (i)<-[:OBSERVED_ON]-() }
WITH i LIMIT $batch
DELETE i
RETURN count(*) AS dropped
