// One batch of flags. A new flag starts open; a flag a reviewer decided keeps its status and decision.
UNWIND range(0, $count - 1) AS row
MERGE (f:Flag {flag_id: $rows.flag_id[row]})
ON CREATE SET f.status = 'open'
SET f.person_id = $rows.person_id[row], f.kind = $rows.kind[row], f.severity = $rows.severity[row], f.detail = $rows.detail[row],
    f.overpayment = $rows.overpayment[row], f.ring_id = $rows.ring_id[row], f.county_code = $rows.county_code[row], f.round_id = $round_id
WITH f, row
MATCH (p:Pensioner {person_id: $rows.person_id[row]})
MERGE (f)-[:CONCERNS]->(p)
