// Retention (docs/graph.md): the VERDICT edges on Rounds dated before $since that are neither the
// person's latest such verdict nor the first verdict of the held run (period state in $held) that latest one ends:
// held_periods dates a suspension, and so its arrears, from it. Bounds the verdict history by the window.
// One auto-commit statement, deleting in transactions of $batch rows (each person's verdicts are collected first).
MATCH (p:Pensioner)-[v:VERDICT]->(rd:Round)
WHERE rd.as_of < date($since)
WITH p, v, rd ORDER BY rd.as_of, rd.round_id
WITH p, collect({verdict: v, held: coalesce(v.period_state IN $held, false)}) AS old
WHERE size(old) > 1
WITH old, [i IN range(0, size(old) - 1) WHERE NOT old[i].held] AS paid
WITH old, CASE WHEN NOT old[-1].held THEN -1 WHEN size(paid) = 0 THEN 0 ELSE paid[-1] + 1 END AS run_start
UNWIND range(0, size(old) - 2) AS i
WITH old[i].verdict AS v, i, run_start
WHERE i <> run_start
CALL (v) {
  DELETE v
} IN TRANSACTIONS OF $batch ROWS
RETURN count(*) AS dropped
