"""The round's automatic results as ``audit_events`` rows (unchained; audit.append_round_events chains them).

One event per status change (before/after state of the verdict, the flag behind it, the records it rests on),
one per flag raised, one per earlier reviewer decision applied again. Times are the round's as_of (midnight UTC),
so a rerun of the same round writes the same events.
"""

from __future__ import annotations

from datetime import date

import duckdb

from silentcert.graph import sql

_FLAG_SOURCES = """
        CREATE OR REPLACE TEMP TABLE flag_sources AS
        SELECT c.flag_id, list(DISTINCT r.source || '/' || r.record_id ORDER BY r.source || '/' || r.record_id)
                 AS sources
        FROM cited c JOIN records r USING (rid) GROUP BY c.flag_id"""

_AUDIT_EVENTS = """
        CREATE OR REPLACE TABLE audit_events AS
        WITH changed AS (
            SELECT o.person_id, o.flag_id, o.outcome, o.by_decision, f.overpayment, v.*
            FROM outcomes o JOIN verdicts v USING (person_id) LEFT JOIN raised f USING (flag_id)
            WHERE o.outcome IN ('deceased', 'review')),
        events AS (
            SELECT 1 AS rank, c.person_id, 'round:' || $round_id || '/person:' || c.person_id AS subject,
                   CASE c.outcome WHEN 'deceased' THEN 'status_deceased' ELSE 'status_review' END AS action,
                   s.sources,
                   to_json(struct_pack(status := c.status, method := c.method, source := c.source,
                       probability := c.probability, certified_until := c.certified_until,
                       period_state := c.period_state)) AS before,
                   to_json(struct_pack(status := c.outcome, method := c.method, source := c.source,
                       probability := CASE WHEN c.outcome = 'deceased' THEN 0.0 ELSE c.probability END,
                       certified_until := c.certified_until,
                       period_state := CASE WHEN c.outcome = 'deceased' THEN 'ended' ELSE 'suspended' END,
                       flag_id := c.flag_id, by_decision := c.by_decision, suspended_since := $as_of,
                       overpayment := coalesce(c.overpayment, 0.0))) AS after
            FROM changed c LEFT JOIN flag_sources s USING (flag_id)
            UNION ALL
            SELECT 2, f.person_id, 'round:' || $round_id || '/flag:' || f.flag_id, 'flag_raised', s.sources,
                   to_json(struct_pack(status := NULL::VARCHAR)),
                   to_json(struct_pack(flag_id := f.flag_id, kind := f.kind, severity := f.severity,
                       detail := f.detail, overpayment := f.overpayment, ring_id := f.ring_id,
                       outcome := f.outcome, status := 'open'))
            FROM raised f LEFT JOIN flag_sources s USING (flag_id)
            UNION ALL
            SELECT 3, d.person_id, 'round:' || $round_id || '/flag:' || d.flag_id, 'decision_applied', s.sources,
                   to_json(struct_pack(status := 'open')),
                   to_json(struct_pack(flag_id := d.flag_id, status := d.status, decided_by := d.decided_by,
                       decided_at := d.decided_at, effect := d.effect))
            FROM decided d LEFT JOIN flag_sources s USING (flag_id))
        SELECT row_number() OVER (ORDER BY person_id, rank, subject) AS ordinal, CAST($as_of AS TIMESTAMP) AS at,
               'deathcheck' AS actor, action, person_id, subject, coalesce(sources, []::VARCHAR[]) AS sources,
               CAST(before AS VARCHAR) AS before, CAST(after AS VARCHAR) AS after
        FROM events ORDER BY ordinal
"""

_COUNT = "SELECT count(*) FROM audit_events"


def write_audit_events(con: duckdb.DuckDBPyConnection, as_of: date, round_id: str) -> int:
    """Write ``audit_events``; call before the verdicts are amended (their state is the `before`)."""
    sql.run(con, "audit_flag_sources", _FLAG_SOURCES)
    sql.run(con, "audit_events", _AUDIT_EVENTS, {"as_of": as_of, "round_id": round_id})
    return sql.scalar(con, "audit_events_count", _COUNT)
