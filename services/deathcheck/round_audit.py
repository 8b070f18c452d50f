"""The round's automatic results as ``audit_events`` rows (unchained; audit.append_round_events chains them).

One event per status change (before/after state of the verdict, the flag behind it, the records it rests on),
one per flag raised, one per reviewer decision applied. Only what changed: a person the store already holds in the
same status, put there by the same flag, a flag an earlier round raised and a decision an earlier round applied
are not audited again, so the trail grows with what happens, not with the number of rounds. "Earlier" is read
from the store's own trail (``audited_before``: its status, flag and decision events dated before this round's
as_of) and its verdicts (``previous_periods``); times are the round's as_of (midnight UTC), so a rerun of the
same round writes the same events.
"""

from __future__ import annotations

from datetime import date

import duckdb

from silentcert.graph import sql
from silentcert.graph.store import AUDITED_SCHEMA

_FLAG_SOURCES = """
        CREATE OR REPLACE TEMP TABLE flag_sources AS
        SELECT c.flag_id, list(DISTINCT r.source || '/' || r.record_id ORDER BY r.source || '/' || r.record_id)
                 AS sources
        FROM cited c JOIN records r USING (rid) GROUP BY c.flag_id"""

#: The store's earlier audit entries the round compares with (GraphStore.audited).
AUDITED_ACTIONS = ("status_deceased", "status_review", "flag_raised", "decision_applied")
_NONE_AUDITED_BEFORE = "CREATE TABLE audited_before AS SELECT * FROM _none_audited"
_HELD_STATUS = "CREATE OR REPLACE TEMP TABLE audit_held_status AS SELECT person_id, status FROM previous_periods"
_NO_HELD_STATUS = "CREATE OR REPLACE TEMP TABLE audit_held_status (person_id VARCHAR, status VARCHAR)"
_EARLIER = """
        CREATE OR REPLACE TEMP TABLE audit_earlier AS
        SELECT seq, action, person_id, json_extract_string(after, '$.flag_id') AS flag_id,
               json_extract_string(after, '$.status') AS status,
               json_extract_string(after, '$.decided_at') AS decided_at
        FROM audited_before"""
_LAST_CHANGE = """
        CREATE OR REPLACE TEMP TABLE audit_last_change AS
        SELECT person_id, arg_max(status, seq) AS status, arg_max(flag_id, seq) AS flag_id
        FROM audit_earlier WHERE action IN ('status_deceased', 'status_review') GROUP BY person_id"""

_AUDIT_EVENTS = """
        CREATE OR REPLACE TABLE audit_events AS
        WITH changed AS (
            SELECT o.person_id, o.flag_id, o.outcome, o.by_decision, f.overpayment, v.*
            FROM outcomes o JOIN verdicts v USING (person_id) LEFT JOIN raised f USING (flag_id)
            LEFT JOIN audit_held_status h USING (person_id) LEFT JOIN audit_last_change l USING (person_id)
            WHERE o.outcome IN ('deceased', 'review')
              AND NOT coalesce(h.status = o.outcome AND l.status = o.outcome AND l.flag_id = o.flag_id, false)),
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
            WHERE f.flag_id NOT IN (SELECT flag_id FROM audit_earlier WHERE action = 'flag_raised'
                                    AND flag_id IS NOT NULL)
            UNION ALL
            SELECT 3, d.person_id, 'round:' || $round_id || '/flag:' || d.flag_id, 'decision_applied', s.sources,
                   to_json(struct_pack(status := 'open')),
                   to_json(struct_pack(flag_id := d.flag_id, status := d.status, decided_by := d.decided_by,
                       decided_at := d.decided_at, effect := d.effect))
            FROM decided d LEFT JOIN flag_sources s USING (flag_id)
            WHERE NOT EXISTS (SELECT 1 FROM audit_earlier e WHERE e.action = 'decision_applied'
                              AND e.flag_id = d.flag_id AND e.decided_at = d.decided_at))
        SELECT row_number() OVER (ORDER BY person_id, rank, subject) AS ordinal, CAST($as_of AS TIMESTAMP) AS at,
               'deathcheck' AS actor, action, person_id, subject, coalesce(sources, []::VARCHAR[]) AS sources,
               CAST(before AS VARCHAR) AS before, CAST(after AS VARCHAR) AS after
        FROM events ORDER BY ordinal
"""

_COUNT = "SELECT count(*) FROM audit_events"


def write_audit_events(con: duckdb.DuckDBPyConnection, as_of: date, round_id: str) -> int:
    """Write ``audit_events``; call before the verdicts are amended (their state is the `before`).

    Compares with ``audited_before`` and ``previous_periods`` when the round loaded them (a first round, or a
    round without a store, has neither: everything it finds is new)."""
    if not sql.has_table(con, "audited_before", temporary=False):  # what the store returns, empty
        con.register("_none_audited", AUDITED_SCHEMA.empty_table())
        sql.run(con, "audited_before", _NONE_AUDITED_BEFORE)
        con.unregister("_none_audited")
    held = sql.has_table(con, "previous_periods", temporary=False)
    sql.run(con, "audit_held_status", _HELD_STATUS if held else _NO_HELD_STATUS)
    sql.run(con, "audit_earlier", _EARLIER)
    sql.run(con, "audit_last_change", _LAST_CHANGE)
    sql.run(con, "audit_flag_sources", _FLAG_SOURCES)
    sql.run(con, "audit_events", _AUDIT_EVENTS, {"as_of": as_of, "round_id": round_id})
    return sql.scalar(con, "audit_events_count", _COUNT)
