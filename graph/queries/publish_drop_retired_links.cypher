// After every pensioner of a publish has its new generation: delete the RESOLVED_TO edges a changed link retired
// (gone at or before that generation), which no reader sees any more. Auto-commit: CALL IN TRANSACTIONS.
MATCH ()-[t:RESOLVED_TO]->()
WHERE t.gone <= $gen
CALL (t) {
  DELETE t
} IN TRANSACTIONS OF 10000 ROWS
