"""SQL over the round working database producing the tables of a RoundExport (graph.store.EXPORT_COLUMNS).

No store depends on row order, so the queries have no ORDER BY: sorting the ~10M evidence rows held gigabytes of
the round's memory before a store saw the first row (docs/benchmarks.md, "Embedded publish")."""

EXPORT_QUERIES: dict[str, str] = {
    "pensioners": """
        SELECT r.person_id, r.id_number, r.name, r.name_pinyin, r.sex, r.birth_date, r.phone, r.card_no,
               r.county_code, r.unit_id, r.monthly_pension, v.status, v.method, v.source,
               CAST(v.evidence_at AS DATE) AS evidence_at, v.probability, v.certified_until, v.period_state,
               v.explanation
        FROM registry r LEFT JOIN verdicts v USING (person_id)""",
    "identifiers": """
        SELECT person_id, kind, value, shared, origin FROM identifiers""",
    "events": """
        SELECT c.source || '/' || c.record_id AS key, c.source, c.kind, c.record_id, c.occurred_at,
               l.person_id, l.match_probability, l.method, c.id_number, c.phone, c.card_no, c.passed
        FROM records c JOIN links l USING (rid)""",
    "flags": """
        SELECT f.flag_id, f.person_id, f.kind, f.severity, f.detail, f.overpayment, f.ring_id, r.county_code
        FROM flags f LEFT JOIN registry r USING (person_id)""",
    "flag_citations": """
        SELECT DISTINCT fc.flag_id, c.source || '/' || c.record_id AS event_key
        FROM flag_citations fc JOIN records c USING (rid)""",
}
