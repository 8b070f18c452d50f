// Every node of the identity graph with its labels and properties: comparing two small graphs in tests (never on a
// province). The store's Generation counter is bookkeeping, not graph.
MATCH (n)
WHERE NOT n:Generation
RETURN labels(n) AS labels, properties(n) AS properties
