// What the diff publish (graph/neo4j_publish.py) compares a round with: per pensioner the hash of the row and
// evidence fingerprint its last publish wrote (h) and of its identifier rows (hi); null for a pensioner written
// without them (the bulk import, an older publish), which the next publish therefore rewrites.
MATCH (p:Pensioner)
RETURN p.person_id AS person_id, p.h AS h, p.hi AS hi
