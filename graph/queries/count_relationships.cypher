// Relationships per type of the graph model (graph.store.RELATIONSHIP_TYPES), answered from the count store
// without a scan: one row per type, 0 for a type with no relationship yet.
MATCH ()-[r:HAS_ID]->() RETURN 'HAS_ID' AS type, count(r) AS n
UNION ALL MATCH ()-[r:HAS_PHONE]->() RETURN 'HAS_PHONE' AS type, count(r) AS n
UNION ALL MATCH ()-[r:HAS_CARD]->() RETURN 'HAS_CARD' AS type, count(r) AS n
UNION ALL MATCH ()-[r:OBSERVED_ON]->() RETURN 'OBSERVED_ON' AS type, count(r) AS n
UNION ALL MATCH ()-[r:RESOLVED_TO]->() RETURN 'RESOLVED_TO' AS type, count(r) AS n
UNION ALL MATCH ()-[r:CONCERNS]->() RETURN 'CONCERNS' AS type, count(r) AS n
UNION ALL MATCH ()-[r:CITES]->() RETURN 'CITES' AS type, count(r) AS n
UNION ALL MATCH ()-[r:VERDICT]->() RETURN 'VERDICT' AS type, count(r) AS n
UNION ALL MATCH ()-[r:ABOUT]->() RETURN 'ABOUT' AS type, count(r) AS n
