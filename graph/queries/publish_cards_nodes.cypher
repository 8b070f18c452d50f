// One batch of Card nodes the round's changed rows name, merged once before the rows that point to them are
// written; `shared` (from an identifier row; null for a value only records carry) when the resolver found several
// holders.
UNWIND $rows AS r
MERGE (i:Card {value: r.value})
WITH i, r
WHERE r.shared IS NOT NULL
SET i.shared = r.shared
