// The identifiers one person holds, with how many pensioners hold each.
MATCH (p:Pensioner {person_id: $person_id})-[h:HAS_ID|HAS_PHONE|HAS_CARD]->(i)
RETURN {
  kind: CASE type(h) WHEN 'HAS_ID' THEN 'id_number' WHEN 'HAS_PHONE' THEN 'phone' ELSE 'card' END,
  value: i.value, shared: coalesce(i.shared, false), origin: h.origin,
  holders: COUNT { (i)<-[:HAS_ID|HAS_PHONE|HAS_CARD]-(:Pensioner) }
} AS row
ORDER BY row.kind, row.value
