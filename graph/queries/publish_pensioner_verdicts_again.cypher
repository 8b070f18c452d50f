// publish_pensioner_verdicts for a round published before (a rerun): its VERDICT edge is merged, not created.
MATCH (rd:Round {round_id: $round_id})
UNWIND range(0, $count - 1) AS row
MATCH (p:Pensioner {person_id: $rows.person_id[row]})
SET p.id_number = $rows.id_number[row], p.name = $rows.name[row], p.name_pinyin = $rows.name_pinyin[row], p.sex = $rows.sex[row],
    p.birth_date = date($rows.birth_date[row]), p.phone = $rows.phone[row], p.card_no = $rows.card_no[row], p.county_code = $rows.county_code[row],
    p.unit_id = $rows.unit_id[row], p.monthly_pension = $rows.monthly_pension[row], p.status = $rows.status[row], p.method = $rows.method[row],
    p.source = $rows.source[row], p.evidence_at = date($rows.evidence_at[row]), p.probability = $rows.probability[row],
    p.certified_until = date($rows.certified_until[row]), p.period_state = $rows.period_state[row], p.round_id = $round_id,
    p.explanation = $rows.explanation[row], p.h = $rows.h[row], p.hi = $rows.hi[row], p.gen = $gen
REMOVE p.pending
MERGE (p)-[v:VERDICT]->(rd)
SET v.status = $rows.status[row], v.method = $rows.method[row], v.source = $rows.source[row], v.evidence_at = date($rows.evidence_at[row]),
    v.probability = $rows.probability[row], v.certified_until = date($rows.certified_until[row]), v.period_state = $rows.period_state[row]
