// Replace the verdict fields of one pensioner.
MATCH (p:Pensioner {person_id: $person_id})
SET p.status = $status, p.method = $method, p.source = $source, p.evidence_at = $evidence_at,
    p.probability = $probability, p.certified_until = $certified_until, p.period_state = $period_state,
    p.explanation = $explanation
RETURN p.person_id AS person_id
