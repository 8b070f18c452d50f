// Retention (docs/graph.md): the IdNumber, Phone and Card nodes that no pensioner holds and no record
// (Event or DeathRecord) is OBSERVED_ON any more. Returns how many went.
// One auto-commit statement, deleting in transactions of $batch rows.
MATCH (i:IdNumber|Phone|Card)
WHERE NOT EXISTS { (i)<-[:HAS_ID|HAS_PHONE|HAS_CARD]-() } AND NOT EXISTS { (i)<-[:OBSERVED_ON]-() }
CALL (i) {
  DELETE i
} IN TRANSACTIONS OF $batch ROWS
RETURN count(*) AS dropped
