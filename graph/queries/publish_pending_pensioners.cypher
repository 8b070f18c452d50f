// Pensioners new to the graph, created before their records so the records can point to them: `pending` until
// publish_pensioner_verdicts gives them their verdict and generation; readers skip a pending pensioner.
UNWIND range(0, $count - 1) AS row
CREATE (:Pensioner {person_id: $rows.person_id[row], pending: true})
