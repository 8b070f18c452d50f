// What the diff publish compares a round's records with: per Event the hash of its content (h) and of its link to a
// person (l) as last published; -1 when written without them. Paged as publish_state_pensioners.cypher.
MATCH (e:Event)
WHERE e.key >= $after
WITH e
ORDER BY e.key
LIMIT $chunk
RETURN collect(e.key) AS keys, collect(coalesce(e.h, -1)) AS h, collect(coalesce(e.l, -1)) AS l
