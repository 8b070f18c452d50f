// One batch of pensioners whose row (or evidence) changed: the node carries the latest verdict and its
// explanation, the VERDICT edge keeps the verdict (not the explanation) per round, created for a round published
// for the first time (publish_pensioner_verdicts_again merges it on a rerun). Setting gen is what shows the
// person's records of this publish to readers (publish_generation.cypher), in the same write as the verdict.
// Dates arrive as ISO text (the driver's own date encoding is far slower) and become Cypher dates here.
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
CREATE (p)-[:VERDICT {status: $rows.status[row], method: $rows.method[row], source: $rows.source[row], evidence_at: date($rows.evidence_at[row]),
                      probability: $rows.probability[row], certified_until: date($rows.certified_until[row]),
                      period_state: $rows.period_state[row]}]->(rd)
