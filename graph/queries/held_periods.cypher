// GraphStore.held_periods: every pensioner whose VERDICT in the previous round (the latest Round with an as_of
// before $as_of, never $round_id) has a period_state in $states, and `since`: the as_of of the first round of their
// unbroken run of such verdicts (the round after their latest verdict in another state, or their first round).
// Starts from the one previous Round node, so only its held verdicts are expanded into history.
MATCH (previous:Round)
WHERE previous.round_id <> $round_id AND previous.as_of < $as_of
WITH previous ORDER BY previous.as_of DESC, previous.round_id DESC LIMIT 1
MATCH (p:Pensioner)-[v:VERDICT]->(previous)
WHERE v.period_state IN $states
CALL (p, previous) {
  OPTIONAL MATCH (p)-[other:VERDICT]->(rd:Round)
  WHERE rd.round_id <> $round_id AND rd.as_of <= previous.as_of AND NOT other.period_state IN $states
  WITH p, previous, max(rd.as_of) AS last_other
  MATCH (p)-[held:VERDICT]->(rd:Round)
  WHERE rd.round_id <> $round_id AND rd.as_of <= previous.as_of AND held.period_state IN $states
    AND (last_other IS NULL OR rd.as_of > last_other)
  RETURN min(rd.as_of) AS since
}
RETURN p.person_id AS person_id, v.status AS status, v.period_state AS period_state, since
ORDER BY person_id
