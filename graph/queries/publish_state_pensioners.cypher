// What the diff publish (graph/neo4j_publish.py) compares a round with: per pensioner the hash of the row and
// evidence fingerprint its last publish wrote (h) and of its identifier rows (hi); -1 for a pensioner written
// without them (the bulk import, an older publish: the hashes are never negative), which the next publish therefore
// rewrites. One page of $chunk pensioners from $after on (the caller drops the repeated $after), in key order from
// the constraint's index, as three lists: one record a page, not one a pensioner, which the driver builds far faster.
MATCH (p:Pensioner)
WHERE p.person_id >= $after
WITH p
ORDER BY p.person_id
LIMIT $chunk
RETURN collect(p.person_id) AS keys, collect(coalesce(p.h, -1)) AS h, collect(coalesce(p.hi, -1)) AS l
