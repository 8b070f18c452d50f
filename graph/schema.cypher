// The identity graph schema: uniqueness constraints (each also backs an index) and lookup indexes.
// Applied at every start by GraphStore.apply_schema(); IF NOT EXISTS makes it idempotent.
// One statement per ';'. Lines starting with // are comments.

CREATE CONSTRAINT pensioner_person_id IF NOT EXISTS FOR (n:Pensioner) REQUIRE n.person_id IS UNIQUE;
CREATE CONSTRAINT id_number_value IF NOT EXISTS FOR (n:IdNumber) REQUIRE n.value IS UNIQUE;
CREATE CONSTRAINT phone_value IF NOT EXISTS FOR (n:Phone) REQUIRE n.value IS UNIQUE;
CREATE CONSTRAINT card_value IF NOT EXISTS FOR (n:Card) REQUIRE n.value IS UNIQUE;
CREATE CONSTRAINT event_key IF NOT EXISTS FOR (n:Event) REQUIRE n.key IS UNIQUE;
CREATE CONSTRAINT death_record_key IF NOT EXISTS FOR (n:DeathRecord) REQUIRE n.key IS UNIQUE;
CREATE CONSTRAINT flag_flag_id IF NOT EXISTS FOR (n:Flag) REQUIRE n.flag_id IS UNIQUE;
CREATE CONSTRAINT round_round_id IF NOT EXISTS FOR (n:Round) REQUIRE n.round_id IS UNIQUE;
CREATE CONSTRAINT audit_entry_seq IF NOT EXISTS FOR (n:AuditEntry) REQUIRE n.seq IS UNIQUE;

// Clerks look people up by ID number, phone, name (as written or as pinyin) and county.
CREATE INDEX pensioner_id_number IF NOT EXISTS FOR (n:Pensioner) ON (n.id_number);
CREATE INDEX pensioner_phone IF NOT EXISTS FOR (n:Pensioner) ON (n.phone);
CREATE INDEX pensioner_name IF NOT EXISTS FOR (n:Pensioner) ON (n.name);
CREATE INDEX pensioner_name_pinyin IF NOT EXISTS FOR (n:Pensioner) ON (n.name_pinyin);
CREATE INDEX pensioner_county_code IF NOT EXISTS FOR (n:Pensioner) ON (n.county_code);
CREATE INDEX pensioner_status IF NOT EXISTS FOR (n:Pensioner) ON (n.status);

// The review queue filters flags by kind, status, severity and county.
CREATE INDEX flag_kind IF NOT EXISTS FOR (n:Flag) ON (n.kind);
CREATE INDEX flag_status IF NOT EXISTS FOR (n:Flag) ON (n.status);
CREATE INDEX flag_severity IF NOT EXISTS FOR (n:Flag) ON (n.severity);
CREATE INDEX flag_county_code IF NOT EXISTS FOR (n:Flag) ON (n.county_code);

// Evidence is read newest first and by source.
CREATE INDEX event_occurred_at IF NOT EXISTS FOR (n:Event) ON (n.occurred_at);
CREATE INDEX event_source IF NOT EXISTS FOR (n:Event) ON (n.source);
CREATE INDEX death_record_source IF NOT EXISTS FOR (n:DeathRecord) ON (n.source);
CREATE INDEX audit_entry_person_id IF NOT EXISTS FOR (n:AuditEntry) ON (n.person_id);
CREATE INDEX audit_entry_action IF NOT EXISTS FOR (n:AuditEntry) ON (n.action);
CREATE INDEX resolved_to_round_id IF NOT EXISTS FOR ()-[r:RESOLVED_TO]-() ON (r.round_id);
// Links a publish retired (graph/neo4j_publish.py), deleted once no reader sees them.
CREATE INDEX resolved_to_gone IF NOT EXISTS FOR ()-[r:RESOLVED_TO]-() ON (r.gone);

// The store's generation (GraphStore.generation): one node, moved by every write that can change a liveness answer.
CREATE CONSTRAINT generation_name IF NOT EXISTS FOR (n:Generation) REQUIRE n.name IS UNIQUE;
