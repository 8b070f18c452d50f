// One batch of pensioners whose row (or evidence) changed: the node carries the latest verdict and its
// explanation, the VERDICT edge keeps the verdict (not the explanation) per round, created for a round published
// for the first time (publish_pensioner_verdicts_again merges it on a rerun). Setting gen is what shows the
// person's records of this publish to readers (publish_generation.cypher), in the same write as the verdict.
// Dates arrive as ISO text (the driver's own date encoding is far slower) and become Cypher dates here.
MATCH (rd:Round {round_id: $round_id})
UNWIND $rows AS r
MATCH (p:Pensioner {person_id: r.person_id})
SET p.id_number = r.id_number, p.name = r.name, p.name_pinyin = r.name_pinyin, p.sex = r.sex,
    p.birth_date = date(r.birth_date), p.phone = r.phone, p.card_no = r.card_no, p.county_code = r.county_code,
    p.unit_id = r.unit_id, p.monthly_pension = r.monthly_pension, p.status = r.status, p.method = r.method,
    p.source = r.source, p.evidence_at = date(r.evidence_at), p.probability = r.probability,
    p.certified_until = date(r.certified_until), p.period_state = r.period_state, p.round_id = $round_id,
    p.explanation = r.explanation, p.h = r.h, p.hi = r.hi, p.gen = $gen
REMOVE p.pending
CREATE (p)-[:VERDICT {status: r.status, method: r.method, source: r.source, evidence_at: date(r.evidence_at),
                      probability: r.probability, certified_until: date(r.certified_until),
                      period_state: r.period_state}]->(rd)
