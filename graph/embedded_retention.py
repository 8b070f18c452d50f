"""Retention in the embedded store: what a publish drops once it is older than the certification window.

The rule (docs/graph.md, "Retention") is the same in both stores (the Neo4j twin: graph/queries/retention_*.cypher):

- an Event dated before ``$since`` is dropped unless a flag cites it or it is its person's latest record of its
  source (the evidence a period or an explanation may still rest on); records nobody resolves to go;
- death records are kept whatever their age (they are what makes a pensioner deceased, and few);
- an identifier nobody holds and no remaining record carries goes with its last record;
- a verdict that repeats the person's verdict of the round before (same status, period state and period end) is
  dropped once two later rounds are published: the first verdict of every run stays (held_periods dates a
  suspension from it), the latest stays (periods carries it), and the two latest rounds stay whole (a rerun of
  the latest round reads the one before it).

Flags, decisions and the audit chain are never touched: an audit entry names its records by key and carries their
content in its hash, so it stays verifiable after the record itself is dropped.
"""

from __future__ import annotations

from datetime import date

import duckdb

from silentcert.graph import sql

RETENTION_EVENTS = """
DELETE FROM event USING (
    SELECT e.key FROM event e
    WHERE e.label = 'Event' AND e.occurred_at < $since
      AND e.key NOT IN (SELECT event_key FROM flag_citation)
      AND (e.person_id IS NULL OR e.key NOT IN (
          SELECT arg_max(key, (occurred_at, key)) FROM event
          WHERE person_id IS NOT NULL AND label = 'Event' GROUP BY person_id, source))
) gone
WHERE event.key = gone.key
"""

RETENTION_IDENTIFIERS = """
DELETE FROM identifier USING (
    SELECT kind, value FROM identifier
    EXCEPT SELECT kind, value FROM holds
    EXCEPT SELECT 'id_number', id_number FROM event WHERE id_number IS NOT NULL
    EXCEPT SELECT 'phone', phone FROM event WHERE phone IS NOT NULL
    EXCEPT SELECT 'card', card_no FROM event WHERE card_no IS NOT NULL
) gone
WHERE identifier.kind = gone.kind AND identifier.value = gone.value
"""

RETENTION_VERDICTS = """
DELETE FROM verdict USING (
    SELECT person_id, round_id FROM (
        SELECT v.person_id, v.round_id, v.round_id IN (
                   SELECT round_id FROM round ORDER BY as_of DESC, round_id DESC LIMIT 2) AS recent,
               lag(v.status) OVER w IS NOT DISTINCT FROM v.status
                   AND lag(v.period_state) OVER w IS NOT DISTINCT FROM v.period_state
                   AND lag(v.certified_until) OVER w IS NOT DISTINCT FROM v.certified_until
                   AND lag(v.round_id) OVER w IS NOT NULL AS repeats,
               lead(v.round_id) OVER w IS NOT NULL AS superseded
        FROM verdict v JOIN round r USING (round_id)
        WINDOW w AS (PARTITION BY v.person_id ORDER BY r.as_of, v.round_id))
    WHERE repeats AND superseded AND NOT recent
) gone
WHERE verdict.person_id = gone.person_id AND verdict.round_id = gone.round_id
"""

STEPS = (("events", RETENTION_EVENTS), ("identifiers", RETENTION_IDENTIFIERS), ("verdicts", RETENTION_VERDICTS))


def prune(cur: duckdb.DuckDBPyConnection, since: date) -> dict[str, int]:
    """Apply the rule inside the caller's transaction; returns the rows dropped per table."""
    dropped = {}
    for name, statement in STEPS:
        dropped[name] = int(sql.scalar(cur, f"retention_{name}", statement, {"since": since}))
    return dropped
