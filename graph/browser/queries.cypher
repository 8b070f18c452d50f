// Saved queries for investigators in Neo4j Browser. FOR HUMANS ONLY: no code loads this file (the project's
// Cypher lives in graph/queries/*.cypher, one statement a file, loaded by graph/catalog.py). Paste a query into
// the Browser editor (or star it as a favourite); set its parameters first with :param. Each :param line below
// takes its value from the round in the graph (the most urgent case); put a value from the "Where to start"
// queries instead to look at another case, e.g.  :param person_id => 'JX100001322'
// Every lookup below uses an indexed property (graph/schema.cypher), so it answers instantly.

// Where to start 1: the round's most urgent undecided flags (open or escalated), with the person each concerns.
MATCH (f:Flag)-[:CONCERNS]->(p:Pensioner)
WHERE f.status IN ['open', 'escalated']
RETURN f.flag_id, f.kind, f.severity, f.status, f.overpayment, p.person_id, p.name, p.id_number, f.county_code,
       f.ring_id
ORDER BY CASE f.severity WHEN 'critical' THEN 0 WHEN 'high' THEN 1 WHEN 'medium' THEN 2 ELSE 3 END,
         f.overpayment DESC, f.flag_id
LIMIT 50;

// Where to start 2: the round's rings, largest first: members, deceased members, counties, names.
MATCH (f:Flag)-[:CONCERNS]->(p:Pensioner)
WHERE f.ring_id IS NOT NULL
WITH f.ring_id AS ring_id, collect(p) AS members, collect(DISTINCT p.county_code) AS counties,
     collect(DISTINCT f.status) AS statuses
RETURN ring_id, size(members) AS members_flagged, size([m IN members WHERE m.status = 'deceased']) AS deceased,
       counties, statuses, [m IN members | m.name + ' (' + m.person_id + ')'] AS who
ORDER BY members_flagged DESC, deceased DESC, ring_id
LIMIT 50;

// Where to start 3: the round's counties by undecided flags, with the kinds to work and the money at stake.
MATCH (f:Flag)
WHERE f.status IN ['open', 'escalated']
WITH f.county_code AS county, count(*) AS undecided, sum(coalesce(f.overpayment, 0.0)) AS overpayment,
     collect(DISTINCT f.kind) AS kinds,
     sum(CASE WHEN f.severity IN ['critical', 'high'] THEN 1 ELSE 0 END) AS critical_or_high
RETURN county, undecided, critical_or_high, round(overpayment, 2) AS overpayment, kinds
ORDER BY critical_or_high DESC, undecided DESC, county;

// 1. A pensioner by ID number, phone or name (as written or as pinyin), with their identifiers and flags.
//    :param who => COLLECT { MATCH (f:Flag {status: 'open'})-[:CONCERNS]->(p) RETURN p.id_number ORDER BY f.severity = 'critical' DESC, f.overpayment DESC LIMIT 1 }[0]
MATCH (p:Pensioner)
WHERE p.id_number = $who OR p.phone = $who OR p.name = $who OR p.name_pinyin = $who OR p.person_id = $who
OPTIONAL MATCH (p)-[h:HAS_ID|HAS_PHONE|HAS_CARD]->(i)
OPTIONAL MATCH (f:Flag)-[c:CONCERNS]->(p)
RETURN p, h, i, f, c;

// 2. The review queue: undecided (open or escalated) flags of one county, most severe first.
//    :param county => COLLECT { MATCH (f:Flag {status: 'open'}) WITH f.county_code AS c, count(*) AS n ORDER BY n DESC RETURN c LIMIT 1 }[0]
MATCH (f:Flag {county_code: $county})-[:CONCERNS]->(p:Pensioner)
WHERE f.status IN ['open', 'escalated']
RETURN f.flag_id, f.kind, f.severity, f.status, p.name, p.person_id, f.overpayment, f.detail
ORDER BY CASE f.severity WHEN 'critical' THEN 0 WHEN 'high' THEN 1 WHEN 'medium' THEN 2 ELSE 3 END,
         f.overpayment DESC
LIMIT 200;

// 3. One flag as a picture: the flag, its person and every record it cites (double-click a node to expand).
//    :param flag_id => COLLECT { MATCH (f:Flag {status: 'open'}) WHERE EXISTS { (f)-[:CITES]->() } RETURN f.flag_id ORDER BY f.severity = 'critical' DESC, f.overpayment DESC LIMIT 1 }[0]
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
//    :param ring_id => COLLECT { MATCH (f:Flag) WHERE f.ring_id IS NOT NULL WITH f.ring_id AS r, count(*) AS n ORDER BY n DESC RETURN r LIMIT 1 }[0]
MATCH (f:Flag {ring_id: $ring_id})-[c:CONCERNS]->(p:Pensioner)
OPTIONAL MATCH (p)-[h:HAS_PHONE|HAS_CARD|HAS_ID]->(i)<-[h2:HAS_PHONE|HAS_CARD|HAS_ID]-(other:Pensioner)
RETURN f, c, p, h, i, h2, other;

// 7. A person's full evidence timeline, newest first (death records included).
//    :param person_id => COLLECT { MATCH (f:Flag {status: 'open'}) RETURN f.person_id ORDER BY f.severity = 'critical' DESC, f.overpayment DESC LIMIT 1 }[0]
MATCH (e)-[r:RESOLVED_TO]->(p:Pensioner {person_id: $person_id})
RETURN labels(e)[0] AS node, e.source, e.kind, e.occurred_at, e.passed, r.probability, r.method, r.round_id
ORDER BY e.occurred_at DESC;

// 8. A person's audit trail in chain order: who did what, when, before and after.
//    :param person_id => COLLECT { MATCH (f:Flag {status: 'open'}) RETURN f.person_id ORDER BY f.severity = 'critical' DESC, f.overpayment DESC LIMIT 1 }[0]
MATCH (a:AuditEntry {person_id: $person_id})
RETURN a.seq, a.at, a.actor, a.action, a.subject, a.before, a.after, a.sources
ORDER BY a.seq;

// 9. One pensioner's whole neighbourhood: identifiers and their other holders, flags, records and evidence.
//    :param person_id => COLLECT { MATCH (f:Flag {status: 'open'}) RETURN f.person_id ORDER BY f.severity = 'critical' DESC, f.overpayment DESC LIMIT 1 }[0]
MATCH (p:Pensioner {person_id: $person_id})
CALL (p) {
  MATCH path = (p)-[:HAS_ID|HAS_PHONE|HAS_CARD]->()<-[:HAS_ID|HAS_PHONE|HAS_CARD]-(:Pensioner)
  RETURN path
  UNION
  MATCH path = (p)-[:HAS_ID|HAS_PHONE|HAS_CARD]->()
  RETURN path
  UNION
  MATCH path = (:Flag)-[:CONCERNS]->(p)
  RETURN path
  UNION
  MATCH path = (:Flag)-[:CITES]->()-[:RESOLVED_TO]->(p)
  RETURN path
  UNION
  MATCH path = ()-[:RESOLVED_TO]->(p)
  RETURN path
}
RETURN path;

// 10. A duplicate pair: one person's two accounts (duplicate_account flags), the identifiers they share and the flags.
//    :param account => COLLECT { MATCH (f:Flag {kind: 'duplicate_account'}) RETURN f.person_id ORDER BY f.severity = 'critical' DESC, f.flag_id LIMIT 1 }[0]
MATCH (f:Flag {kind: 'duplicate_account'})-[c:CONCERNS]->(p:Pensioner {person_id: $account})
OPTIONAL MATCH (q:Pensioner {person_id: split(f.flag_id, ':')[2]})
OPTIONAL MATCH (g:Flag {flag_id: 'duplicate_account:' + q.person_id + ':' + p.person_id})-[d:CONCERNS]->(q)
OPTIONAL MATCH (p)-[h:HAS_ID|HAS_PHONE]->(i)<-[h2:HAS_ID|HAS_PHONE]-(q)
RETURN f, c, p, q, g, d, h, i, h2;
