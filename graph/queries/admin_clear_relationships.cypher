// Empty the database, first step: every relationship, in chunks (admin_clear then deletes the nodes). Deleting
// them apart keeps each transaction small: DETACH DELETE of 10,000 nodes carries all their relationships with
// them, which over a few rounds' graph (1.6M nodes and relationships) exceeded the transaction memory pool.
MATCH ()-[r]->()
CALL (r) { DELETE r } IN TRANSACTIONS OF 50000 ROWS
