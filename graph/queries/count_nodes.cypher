// Nodes per label of the graph model (graph.store.NODE_LABELS), answered from the count store without a scan:
// one row per label, 0 for a label with no node yet.
MATCH (n:Pensioner) RETURN 'Pensioner' AS label, count(n) AS n
UNION ALL MATCH (n:IdNumber) RETURN 'IdNumber' AS label, count(n) AS n
UNION ALL MATCH (n:Phone) RETURN 'Phone' AS label, count(n) AS n
UNION ALL MATCH (n:Card) RETURN 'Card' AS label, count(n) AS n
UNION ALL MATCH (n:Event) RETURN 'Event' AS label, count(n) AS n
UNION ALL MATCH (n:DeathRecord) RETURN 'DeathRecord' AS label, count(n) AS n
UNION ALL MATCH (n:Flag) RETURN 'Flag' AS label, count(n) AS n
UNION ALL MATCH (n:Round) RETURN 'Round' AS label, count(n) AS n
UNION ALL MATCH (n:AuditEntry) RETURN 'AuditEntry' AS label, count(n) AS n
