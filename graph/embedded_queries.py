"""Every SQL statement of the embedded graph store (graph.embedded), by name: the twin of graph/queries/*.cypher.

Values are ``$parameters``; the one varying identifier (an index name in :data:`DROP_INDEX`) comes from
:data:`INDEXES` and is quoted by :func:`graph.sql.with_idents`.
"""

from __future__ import annotations

TABLES = """
CREATE TABLE IF NOT EXISTS pensioner (
    person_id VARCHAR PRIMARY KEY, id_number VARCHAR, name VARCHAR, name_pinyin VARCHAR, sex VARCHAR,
    birth_date DATE, phone VARCHAR, card_no VARCHAR, county_code VARCHAR, unit_id VARCHAR, monthly_pension DOUBLE,
    status VARCHAR, method VARCHAR, source VARCHAR, evidence_at DATE, probability DOUBLE, certified_until DATE,
    period_state VARCHAR, round_id VARCHAR, explanation VARCHAR);
CREATE TABLE IF NOT EXISTS identifier (kind VARCHAR, value VARCHAR, shared BOOLEAN);
CREATE TABLE IF NOT EXISTS holds (person_id VARCHAR, kind VARCHAR, value VARCHAR, origin VARCHAR, shared BOOLEAN);
CREATE TABLE IF NOT EXISTS event (
    key VARCHAR, label VARCHAR, source VARCHAR, kind VARCHAR, record_id VARCHAR, occurred_at TIMESTAMP,
    id_number VARCHAR, phone VARCHAR, card_no VARCHAR, passed BOOLEAN, operator VARCHAR,
    person_id VARCHAR, probability DOUBLE, method VARCHAR, round_id VARCHAR);
CREATE TABLE IF NOT EXISTS flag (
    flag_id VARCHAR PRIMARY KEY, person_id VARCHAR, kind VARCHAR, severity VARCHAR, detail VARCHAR,
    status VARCHAR, overpayment DOUBLE, round_id VARCHAR, county_code VARCHAR, ring_id VARCHAR,
    decided_by VARCHAR, decided_at VARCHAR, note VARCHAR);
CREATE TABLE IF NOT EXISTS flag_citation (flag_id VARCHAR, event_key VARCHAR, PRIMARY KEY (flag_id, event_key));
CREATE TABLE IF NOT EXISTS round (round_id VARCHAR PRIMARY KEY, as_of DATE, published_at TIMESTAMP);
CREATE TABLE IF NOT EXISTS verdict (
    person_id VARCHAR, round_id VARCHAR, status VARCHAR, method VARCHAR, source VARCHAR, evidence_at DATE,
    probability DOUBLE, certified_until DATE, period_state VARCHAR);
CREATE TABLE IF NOT EXISTS audit (
    seq BIGINT PRIMARY KEY, "at" VARCHAR, actor VARCHAR, action VARCHAR, person_id VARCHAR, subject VARCHAR,
    sources VARCHAR[], before VARCHAR, after VARCHAR, prev_hash VARCHAR, hash VARCHAR);
"""

# The lookup indexes, by table. A publish into an empty table drops its indexes first and builds them after the
# commit: DuckDB adds each inserted row to an index at commit, on one core, while CREATE INDEX over the committed
# table builds it in parallel (docs/benchmarks.md, "Embedded publish"). The drop has to be committed before the
# rows go in: dropped inside the publish's transaction, the commit was as slow as with the indexes kept.
INDEXES = {
    "pensioner": {"pensioner_id_number": "id_number"},
    "holds": {"holds_person": "person_id", "holds_value": "value"},
    "event": {"event_person": "person_id"},
    "audit": {"audit_person": "person_id"},
}
CREATE_INDEXES = """
CREATE INDEX IF NOT EXISTS pensioner_id_number ON pensioner (id_number);
CREATE INDEX IF NOT EXISTS holds_person ON holds (person_id);
CREATE INDEX IF NOT EXISTS holds_value ON holds (value);
CREATE INDEX IF NOT EXISTS event_person ON event (person_id);
CREATE INDEX IF NOT EXISTS audit_person ON audit (person_id);
"""
DROP_INDEX = "DROP INDEX IF EXISTS {index}"

COUNTS = """
SELECT 'Pensioner', count(*) FROM pensioner
UNION ALL SELECT CASE kind WHEN 'id_number' THEN 'IdNumber' WHEN 'phone' THEN 'Phone' ELSE 'Card' END, count(*)
    FROM identifier GROUP BY kind
UNION ALL SELECT label, count(*) FROM event GROUP BY label
UNION ALL SELECT 'Flag', count(*) FROM flag
UNION ALL SELECT 'Round', count(*) FROM round
UNION ALL SELECT 'AuditEntry', count(*) FROM audit
UNION ALL SELECT CASE kind WHEN 'id_number' THEN 'HAS_ID' WHEN 'phone' THEN 'HAS_PHONE' ELSE 'HAS_CARD' END, count(*)
    FROM holds GROUP BY kind
UNION ALL SELECT 'OBSERVED_ON', count(id_number) + count(phone) + count(card_no) FROM event
UNION ALL SELECT 'RESOLVED_TO', count(person_id) FROM event
UNION ALL SELECT 'CONCERNS', count(*) FROM flag JOIN pensioner USING (person_id)
UNION ALL SELECT 'CITES', count(*) FROM flag_citation
UNION ALL SELECT 'VERDICT', count(*) FROM verdict
UNION ALL SELECT 'ABOUT', count(*) FROM audit JOIN pensioner USING (person_id)
"""


# GraphStore.held_periods: the previous round's verdicts in $states, and where each person's run of them began.
HELD_PERIODS = """
WITH previous AS (
    SELECT round_id, as_of FROM round WHERE round_id <> $round AND as_of < $as_of
    ORDER BY as_of DESC, round_id DESC LIMIT 1),
held AS (
    SELECT v.person_id, v.status, v.period_state FROM verdict v JOIN previous USING (round_id)
    WHERE list_contains($states, v.period_state)),
history AS (
    SELECT v.person_id, r.as_of, list_contains($states, v.period_state) AS in_state
    FROM verdict v JOIN round r USING (round_id) SEMI JOIN held h USING (person_id)
    WHERE r.round_id <> $round AND r.as_of <= (SELECT as_of FROM previous)),
last_other AS (
    SELECT person_id, max(as_of) FILTER (WHERE NOT in_state) AS as_of FROM history GROUP BY person_id)
SELECT h.person_id, h.status, h.period_state, min(r.as_of) AS since
FROM held h JOIN last_other o USING (person_id) JOIN history r USING (person_id)
WHERE r.in_state AND (o.as_of IS NULL OR r.as_of > o.as_of)
GROUP BY ALL ORDER BY h.person_id
"""


SET_SPILL = "SET temp_directory = $spill"
NO_INSERTION_ORDER = "SET preserve_insertion_order = false"
NO_DICT_FSST = "SET disabled_compression_methods = 'dict_fsst'"
BEGIN = "BEGIN TRANSACTION"
COMMIT = "COMMIT"
ROLLBACK = "ROLLBACK"

PERSON = "SELECT * FROM pensioner WHERE person_id = $person_id"
PERSON_BY_ID_NUMBER = """
SELECT * FROM pensioner WHERE person_id = (SELECT min(person_id) FROM pensioner WHERE id_number = $id_number)
"""
HELD = "SELECT kind, value, origin FROM holds WHERE person_id = $person_id ORDER BY kind, value"
# one identifier at a time: an equality on value is what the holds_value index serves
HOLDERS = """
SELECT count(*) AS holders, bool_or(coalesce(shared, false)) AS shared FROM holds
WHERE value = $value AND kind = $kind
"""
# GetLiveness for a batch of concurrent callers (graph/coalesce.py): DuckDB answers a lookup by scanning the table,
# so a query for many people costs about what one costs. The person per key of $keys (an ID number held twice
# answers with its lowest person_id, as PERSON_BY_ID_NUMBER does), then the newest $limit records of each.
PEOPLE_BY_IDS = """
SELECT person_id AS key, * FROM pensioner WHERE person_id IN (SELECT unnest($keys))
"""
PEOPLE_BY_ID_NUMBERS = """
SELECT id_number AS key, * FROM pensioner
WHERE person_id IN (SELECT min(person_id) FROM pensioner WHERE id_number IN (SELECT unnest($keys)) GROUP BY id_number)
"""
# GraphStore.liveness_pages: the next $size pensioners after $after, and whether each is the one its ID number
# answers for (the lowest person_id holding it, as PERSON_BY_ID_NUMBER answers)
LIVENESS_PAGE = """
SELECT p.*, p.id_number IS NOT NULL AND p.person_id = (
    SELECT min(o.person_id) FROM pensioner o WHERE o.id_number = p.id_number) AS answers_id_number
FROM pensioner p WHERE $after::VARCHAR IS NULL OR p.person_id > $after
ORDER BY p.person_id LIMIT $size
"""
EVIDENCE_OF = """
SELECT person_id, source, kind, record_id, occurred_at, probability AS link_probability, method, round_id, passed
FROM event
WHERE person_id IN (SELECT unnest($people)) AND ($since::TIMESTAMP IS NULL OR occurred_at >= $since::TIMESTAMP)
QUALIFY row_number() OVER (PARTITION BY person_id ORDER BY occurred_at DESC, key) <= $limit
ORDER BY person_id, occurred_at DESC, key
"""
EVIDENCE = """
SELECT source, kind, record_id, occurred_at, probability AS link_probability, method, round_id, passed
FROM event
WHERE person_id = $person_id AND ($since::TIMESTAMP IS NULL OR occurred_at >= $since::TIMESTAMP)
ORDER BY occurred_at DESC, key
"""
PERIODS = """
WITH here AS (  -- the pensioners whose latest verdict came from $round, and that verdict's period
    SELECT p.person_id, p.status, p.certified_until, v.certified_until AS published_until
    FROM pensioner p LEFT JOIN verdict v ON v.person_id = p.person_id AND v.round_id = $round
    WHERE p.round_id = $round),
live AS (  -- certified by a face or in-person check recorded after $round was published
    SELECT person_id, status, certified_until FROM here
    WHERE certified_until > coalesce(published_until, DATE '0001-01-01'))
SELECT person_id, status, certified_until FROM pensioner
WHERE $round IS NULL OR round_id IS DISTINCT FROM $round
UNION ALL
SELECT * FROM live
UNION ALL
SELECT v.person_id, arg_max(v.status, r.as_of), arg_max(v.certified_until, r.as_of)
FROM verdict v JOIN round r USING (round_id) SEMI JOIN here h ON h.person_id = v.person_id
WHERE v.round_id <> $round AND v.person_id NOT IN (SELECT person_id FROM live)
GROUP BY v.person_id
ORDER BY person_id
"""
FLAGS = """
SELECT * FROM flag
WHERE ($kind::VARCHAR IS NULL OR kind = $kind) AND ($severity::VARCHAR IS NULL OR severity = $severity)
  AND ($county_code::VARCHAR IS NULL OR county_code = $county_code) AND ($status::VARCHAR IS NULL OR status = $status)
  AND ($person_id::VARCHAR IS NULL OR person_id = $person_id)
ORDER BY CASE severity WHEN 'critical' THEN 0 WHEN 'high' THEN 1 WHEN 'medium' THEN 2 WHEN 'low' THEN 3 ELSE 4 END,
         coalesce(overpayment, 0.0) DESC, flag_id
LIMIT $limit OFFSET $offset
"""
FLAG = "SELECT * FROM flag WHERE flag_id = $flag_id"
CITED = """
SELECT e.label, e.key, e.source, e.kind, e.record_id, e.occurred_at, e.passed, e.id_number, e.phone, e.card_no,
       q.person_id, q.name AS person_name, q.status AS person_status, e.probability, e.method, e.round_id
FROM flag_citation c JOIN event e ON e.key = c.event_key
LEFT JOIN pensioner q ON q.person_id = e.person_id
WHERE c.flag_id = $flag_id
"""
DECIDED_FLAGS = "SELECT * FROM flag WHERE status <> 'open' ORDER BY flag_id"
LAST_AUDIT = "SELECT * FROM audit ORDER BY seq DESC LIMIT 1"
ROUND_AS_OF = "SELECT as_of FROM round WHERE round_id = $round_id"
AUDITED = """
SELECT seq, action, person_id, subject, after FROM audit WHERE list_contains($actions, action)
AND CAST("at" AS TIMESTAMPTZ) < CAST($before AS TIMESTAMPTZ) ORDER BY seq"""
AUDIT_TRAIL = "SELECT * FROM audit WHERE $person_id::VARCHAR IS NULL OR person_id = $person_id ORDER BY seq"

PENSIONER_EXISTS = "SELECT 1 FROM pensioner WHERE person_id = $person_id"
EVENT_HOLDERS = "SELECT person_id FROM event WHERE key = $key"
MOVE_CERTIFICATION = """
UPDATE event SET occurred_at = $at, passed = $passed, operator = $operator, person_id = $person,
    round_id = $round, probability = CASE WHEN person_id IS NULL THEN 1.0 ELSE probability END,
    method = CASE WHEN person_id IS NULL THEN 'direct' ELSE method END
WHERE key = $key RETURNING key
"""
INSERT_CERTIFICATION = """
INSERT INTO event (key, label, source, kind, record_id, occurred_at, passed, operator,
                   person_id, probability, method, round_id)
VALUES ($key, 'Event', $channel, $channel, $record_id, $at, $passed, $operator, $person, 1.0, 'direct', $round)
"""
# {assignments}: "field" = $field for each of graph.rows.VERDICT_FIELDS (embedded._update_person)
UPDATE_PERSON = "UPDATE pensioner SET {assignments} WHERE person_id = $person_id RETURNING person_id"
FLAG_STATUS = "SELECT status FROM flag WHERE flag_id = $flag_id"
DECIDE_FLAG = """
UPDATE flag SET status = $status, decided_by = $decided_by, decided_at = $decided_at, note = $note
WHERE flag_id = $flag_id RETURNING *
"""
STORED_AUDIT = "SELECT seq, hash FROM audit WHERE seq IN (SELECT seq FROM new_audit)"
APPEND_AUDIT = "INSERT INTO audit BY NAME SELECT * FROM new_audit ON CONFLICT DO NOTHING"
