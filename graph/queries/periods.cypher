// Every pensioner's period; with $before_round, one whose latest verdict came from that round gets their VERDICT
// of the round published before it (by Round.as_of), or is left out when there is none — unless a face or
// in-person check recorded after that round was published moved their period past the round's verdict: then the
// node's period stands.
CALL {
  MATCH (p:Pensioner)
  WHERE $before_round IS NULL OR p.round_id IS NULL OR p.round_id <> $before_round
  RETURN p.person_id AS person_id, p.status AS status, p.certified_until AS certified_until
  UNION ALL
  MATCH (p:Pensioner {round_id: $before_round})
  OPTIONAL MATCH (p)-[here:VERDICT]->(:Round {round_id: $before_round})
  WITH p, p.certified_until IS NOT NULL
          AND (here.certified_until IS NULL OR p.certified_until > here.certified_until) AS live
  OPTIONAL MATCH (p)-[v:VERDICT]->(rd:Round)
  WHERE NOT live AND rd.round_id <> $before_round
  WITH p, live, v, rd ORDER BY rd.as_of DESC
  WITH p, live, collect(v)[0] AS prior
  WHERE live OR prior IS NOT NULL
  RETURN p.person_id AS person_id,
         CASE WHEN live THEN p.status ELSE prior.status END AS status,
         CASE WHEN live THEN p.certified_until ELSE prior.certified_until END AS certified_until
}
RETURN person_id, status, certified_until
ORDER BY person_id
