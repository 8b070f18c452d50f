// Wait until every index and constraint is online (after a bulk import they are populated in the background).
CALL db.awaitIndexes($timeout_seconds)
