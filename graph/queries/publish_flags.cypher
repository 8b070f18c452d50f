// One batch of flags. A new flag starts open; a flag a reviewer decided keeps its status and decision.
UNWIND $rows AS r
MERGE (f:Flag {flag_id: r.flag_id})
ON CREATE SET f.status = 'open'
SET f.person_id = r.person_id, f.kind = r.kind, f.severity = r.severity, f.detail = r.detail,
    f.overpayment = r.overpayment, f.ring_id = r.ring_id, f.county_code = r.county_code, f.round_id = $round_id
WITH f, r
MATCH (p:Pensioner {person_id: r.person_id})
MERGE (f)-[:CONCERNS]->(p)
