// Opens a publish: the Round node every VERDICT of the publish points to, and the publish's generation, one more
// than any round's so far. Records written by the publish carry it on their RESOLVED_TO edge (gen) and are read
// only by a pensioner whose own gen has reached it (liveness_by_*.cypher): a reader sees a person wholly as the
// previous publish left them or wholly as this one does. `existed`: the round was published before (a rerun), so
// its VERDICT edges are merged, not created.
OPTIONAL MATCH (r:Round)
WITH max(r.gen) AS last
MERGE (rd:Round {round_id: $round_id})
ON CREATE SET rd.published_at = datetime(), rd.fresh = true
WITH rd, last, rd.fresh IS NULL AS existed
SET rd.as_of = $as_of, rd.gen = coalesce(last, 0) + 1
REMOVE rd.fresh
RETURN rd.gen AS gen, existed
