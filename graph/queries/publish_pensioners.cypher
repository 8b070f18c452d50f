// One batch of pensioners: the node carries the latest verdict, the VERDICT edge keeps it per round.
UNWIND $rows AS r
MERGE (p:Pensioner {person_id: r.person_id})
SET p += r, p.round_id = $round_id
WITH p, r
MATCH (rd:Round {round_id: $round_id})
MERGE (p)-[v:VERDICT]->(rd)
SET v.status = r.status, v.method = r.method, v.source = r.source, v.evidence_at = r.evidence_at,
    v.probability = r.probability, v.certified_until = r.certified_until, v.period_state = r.period_state
