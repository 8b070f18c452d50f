// Empty the database in chunks: for the test server and for rebuilding a development graph, never production data.
// Its relationships are gone already (admin_clear_relationships); DETACH for any written in between.
MATCH (n)
CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 10000 ROWS
