// The review queue: flags matching the filter (null = any), most severe first.
MATCH (f:Flag)
WHERE ($kind IS NULL OR f.kind = $kind)
  AND ($severity IS NULL OR f.severity = $severity)
  AND ($county_code IS NULL OR f.county_code = $county_code)
  AND ($status IS NULL OR f.status = $status)
  AND ($person_id IS NULL OR f.person_id = $person_id)
RETURN f {.*} AS row
ORDER BY CASE f.severity WHEN 'critical' THEN 0 WHEN 'high' THEN 1 WHEN 'medium' THEN 2 WHEN 'low' THEN 3 ELSE 4 END,
         coalesce(f.overpayment, 0.0) DESC, f.flag_id
SKIP $offset
LIMIT $limit
