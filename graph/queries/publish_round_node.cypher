// The Round node every VERDICT of this publish points to.
MERGE (rd:Round {round_id: $round_id})
ON CREATE SET rd.published_at = datetime()
SET rd.as_of = $as_of
