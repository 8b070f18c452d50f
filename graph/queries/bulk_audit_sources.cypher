// After a bulk import: the import tool writes no property for an empty list, where append_audit.cypher stores
// an entry without sources as []. Gives those entries the same empty list.
MATCH (a:AuditEntry) WHERE a.sources IS NULL
SET a.sources = []
