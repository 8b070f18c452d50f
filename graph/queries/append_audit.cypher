// Append audit entries; an entry already there is left as it was and returned for the caller to compare.
UNWIND $rows AS r
MERGE (a:AuditEntry {seq: r.seq})
ON CREATE SET a.at = r.at, a.actor = r.actor, a.action = r.action, a.person_id = r.person_id,
    a.subject = r.subject, a.sources = r.sources, a.before = r.before, a.after = r.after,
    a.prev_hash = r.prev_hash, a.hash = r.hash
WITH a, r
CALL (a, r) {
  MATCH (p:Pensioner {person_id: r.person_id})
  MERGE (a)-[:ABOUT]->(p)
}
RETURN a.seq AS seq, a.hash AS hash
