// One flag, its pensioner and the records it cites (with the identifiers each was observed on) and the person each
// record resolved to.
MATCH (f:Flag {flag_id: $flag_id})
OPTIONAL MATCH (f)-[:CONCERNS]->(p:Pensioner)
CALL (f) {
  OPTIONAL MATCH (f)-[:CITES]->(e)
  OPTIONAL MATCH (e)-[t:RESOLVED_TO]->(q:Pensioner)
  RETURN collect(CASE WHEN e IS NULL THEN null ELSE {
    label: labels(e)[0], key: e.key, source: e.source, kind: e.kind, record_id: e.record_id,
    occurred_at: e.occurred_at, passed: e.passed,
    id_number: head([(e)-[:OBSERVED_ON]->(i:IdNumber) | i.value]), phone: head([(e)-[:OBSERVED_ON]->(i:Phone) | i.value]),
    card_no: head([(e)-[:OBSERVED_ON]->(i:Card) | i.value]), person_id: q.person_id, person_name: q.name,
    person_status: q.status, probability: t.probability, method: t.method, round_id: t.round_id
  } END) AS cited
}
RETURN f {.*} AS flag, p {.*} AS person, cited
