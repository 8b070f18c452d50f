// Saved queries for investigators in Neo4j Browser. FOR HUMANS ONLY: no code loads this file (the project's
// Cypher lives in graph/queries/*.cypher, one statement a file, loaded by graph/catalog.py). Paste a query into
// the Browser editor (or star it as a favourite); set its parameters first with :param, e.g.
//   :param id_number => '110101194501011234'
// Every lookup below uses an indexed property (graph/schema.cypher), so it answers instantly.

// 1. A pensioner by ID number, phone or name (as written or as pinyin), with their identifiers and flags.
//    :param who => '110101194501011234'
MATCH (p:Pensioner)
WHERE p.id_number = $who OR p.phone = $who OR p.name = $who OR p.name_pinyin = $who OR p.person_id = $who
OPTIONAL MATCH (p)-[h:HAS_ID|HAS_PHONE|HAS_CARD]->(i)
OPTIONAL MATCH (f:Flag)-[c:CONCERNS]->(p)
RETURN p, h, i, f, c;

// 2. The review queue: open flags of one county, most severe first.
//    :param county => '110101'
MATCH (f:Flag {status: 'open', county_code: $county})-[:CONCERNS]->(p:Pensioner)
RETURN f.flag_id, f.kind, f.severity, p.name, p.person_id, f.overpayment, f.detail
ORDER BY CASE f.severity WHEN 'critical' THEN 0 WHEN 'high' THEN 1 WHEN 'medium' THEN 2 ELSE 3 END,
         f.overpayment DESC
LIMIT 200;

// 3. One flag as a picture: the flag, its person and every record it cites (double-click a node to expand).
//    :param flag_id => 'activity_after_death:P000123:2021-03-04'
MATCH (f:Flag {flag_id: $flag_id})-[c:CONCERNS]->(p:Pensioner)
OPTIONAL MATCH (f)-[ci:CITES]->(e)
OPTIONAL MATCH (e)-[r:RESOLVED_TO]->(q:Pensioner)
RETURN f, c, p, ci, e, r, q;

// 4. Post-death activity: evidence resolved to a person after the date of a death record resolved to them.
MATCH (d:DeathRecord)-[:RESOLVED_TO]->(p:Pensioner)<-[r:RESOLVED_TO]-(e:Event)
WHERE e.occurred_at > d.occurred_at
RETURN p.person_id, p.name, p.status, d.source AS death_source, d.occurred_at AS died,
       e.source, e.kind, e.occurred_at, r.probability
ORDER BY p.person_id, e.occurred_at
LIMIT 500;

// 5. Shared phones: numbers held by three or more pensioners, the dead ones counted.
MATCH (ph:Phone)<-[:HAS_PHONE]-(p:Pensioner)
WITH ph, collect(p) AS holders
WHERE size(holders) >= 3
RETURN ph.value AS phone, size(holders) AS holders,
       size([x IN holders WHERE x.status = 'deceased']) AS deceased,
       [x IN holders | x.name + ' (' + x.person_id + ', ' + coalesce(x.status, '?') + ')'] AS who
ORDER BY deceased DESC, holders DESC
LIMIT 200;

// 6. A whole ring: every flagged member and the phones, cards and ID numbers that join them.
//    :param ring_id => 'ring-0123456789ab'
MATCH (f:Flag {ring_id: $ring_id})-[c:CONCERNS]->(p:Pensioner)
OPTIONAL MATCH (p)-[h:HAS_PHONE|HAS_CARD|HAS_ID]->(i)<-[h2:HAS_PHONE|HAS_CARD|HAS_ID]-(other:Pensioner)
RETURN f, c, p, h, i, h2, other;

// 7. A person's full evidence timeline, newest first (death records included).
//    :param person_id => 'P000123'
MATCH (e)-[r:RESOLVED_TO]->(p:Pensioner {person_id: $person_id})
RETURN labels(e)[0] AS node, e.source, e.kind, e.occurred_at, e.passed, r.probability, r.method, r.round_id
ORDER BY e.occurred_at DESC;

// 8. A person's audit trail in chain order: who did what, when, before and after.
//    :param person_id => 'P000123'
MATCH (a:AuditEntry {person_id: $person_id})
RETURN a.seq, a.at, a.actor, a.action, a.subject, a.before, a.after, a.sources
ORDER BY a.seq;

// 9. A duplicate pair: one person's two accounts (duplicate_account flags), the identifiers they share and the flags.
//    :param account => 'JX100000006'
MATCH (f:Flag {kind: 'duplicate_account'})-[c:CONCERNS]->(p:Pensioner {person_id: $account})
OPTIONAL MATCH (q:Pensioner {person_id: split(f.flag_id, ':')[2]})
OPTIONAL MATCH (g:Flag {flag_id: 'duplicate_account:' + q.person_id + ':' + p.person_id})-[d:CONCERNS]->(q)
OPTIONAL MATCH (p)-[h:HAS_ID|HAS_PHONE]->(i)<-[h2:HAS_ID|HAS_PHONE]-(q)
RETURN f, c, p, q, g, d, h, i, h2;
