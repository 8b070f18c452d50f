// Every node with its labels and properties: comparing two small graphs in tests (never on a province).
MATCH (n)
RETURN labels(n) AS labels, properties(n) AS properties
