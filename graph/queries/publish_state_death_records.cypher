// publish_state_events.cypher for DeathRecords.
MATCH (e:DeathRecord)
WHERE e.key >= $after
WITH e
ORDER BY e.key
LIMIT $chunk
RETURN collect(e.key) AS keys, collect(coalesce(e.h, -1)) AS h, collect(coalesce(e.l, -1)) AS l
