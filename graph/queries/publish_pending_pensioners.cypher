// Pensioners new to the graph, created before their records so the records can point to them: `pending` until
// publish_pensioner_verdicts gives them their verdict and generation; readers skip a pending pensioner.
UNWIND $rows AS r
CREATE (:Pensioner {person_id: r.person_id, pending: true})
