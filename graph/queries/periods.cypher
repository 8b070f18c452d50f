// Every pensioner's period; with $before_round, one whose latest verdict came from that round gets their VERDICT
// of the round published before it (by Round.as_of), or is left out when there is none.
CALL {
  MATCH (p:Pensioner)
  WHERE $before_round IS NULL OR p.round_id IS NULL OR p.round_id <> $before_round
  RETURN p.person_id AS person_id, p.status AS status, p.certified_until AS certified_until
  UNION ALL
  MATCH (p:Pensioner {round_id: $before_round})-[v:VERDICT]->(rd:Round)
  WHERE rd.round_id <> $before_round
  WITH p, v, rd ORDER BY rd.as_of DESC
  WITH p, collect(v)[0] AS prior
  RETURN p.person_id AS person_id, prior.status AS status, prior.certified_until AS certified_until
}
RETURN person_id, status, certified_until
ORDER BY person_id
