// One batch of IdNumber nodes the round's changed rows name, merged once before the rows that point to them are
// written; `shared` (from an identifier row; null for a value only records carry) when the resolver found several
// holders.
UNWIND range(0, $count - 1) AS row
MERGE (i:IdNumber {value: $rows.value[row]})
WITH i, row
WHERE $rows.shared[row] IS NOT NULL
SET i.shared = $rows.shared[row]
