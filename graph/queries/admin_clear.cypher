// Empty the database in chunks: for the test server and for rebuilding a development graph, never production data.
MATCH (n)
CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 10000 ROWS
