// publish_pensioner_verdicts for a round published before (a rerun): its VERDICT edge is merged, not created.
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
MERGE (p)-[v:VERDICT]->(rd)
SET v.status = r.status, v.method = r.method, v.source = r.source, v.evidence_at = date(r.evidence_at),
    v.probability = r.probability, v.certified_until = date(r.certified_until), v.period_state = r.period_state
