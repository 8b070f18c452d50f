"""Retention in the embedded store: what a publish drops once it is older than the certification window.

The rule (docs/graph.md, "Retention") is the same in both stores (the Neo4j twin: graph/queries/retention_*.cypher):

- an Event dated before ``$since`` is dropped unless a flag cites it or it is its person's latest record of its
  source (the evidence a period or an explanation may still rest on); records nobody resolves to go;
- death records are kept whatever their age (they are what makes a pensioner deceased, and few);
- an identifier nobody holds and no remaining record carries goes with its last record;
- a verdict that repeats the person's verdict of the round before (same status, period state and period end) is
  dropped once two later rounds are published: the first verdict of every run stays (held_periods dates a
  suspension from it), the latest stays (periods carries it), and the two latest rounds stay whole (a rerun of
  the latest round reads the one before it);
- a verdict of a round dated before ``$since`` is dropped unless it is the person's latest such verdict or the
  first verdict of the held run (period state in ``$held``) that latest one ends: what held_periods dates a
  suspension, and so its arrears, from. So the verdict history is bounded by the window, not by the rounds.

Flags, decisions and the audit chain are never touched: an audit entry names its records by key and carries their
content in its hash, so it stays verifiable after the record itself is dropped.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import duckdb

from silentcert.graph import sql

# Only the groups (person, source) of records old enough to go are aggregated for their latest record: a round's
# old records are few, and finding the latest of every group of a 1M province's ~10M records took 3.2 s (0.6 s
# this way). tests/unit/graph/test_embedded_retention.py holds the rule as first written; these must match it.
RETENTION_EVENTS = """
DELETE FROM event USING (
    WITH old AS (
        SELECT key, person_id, source FROM event
        WHERE label = 'Event' AND occurred_at < $since AND key NOT IN (SELECT event_key FROM flag_citation)),
    latest AS (
        SELECT arg_max(e.key, (e.occurred_at, e.key)) AS key FROM event e
        SEMI JOIN old o ON o.person_id = e.person_id AND o.source = e.source
        WHERE e.label = 'Event' GROUP BY e.person_id, e.source)
    SELECT key FROM old WHERE person_id IS NULL OR key NOT IN (SELECT key FROM latest)
) gone
WHERE event.key = gone.key
"""

# The identifiers nobody holds are looked for among the records' values, rather than every record's three values
# set against every identifier: at 1M, 2.0 s that way, 1.3 s this way.
RETENTION_IDENTIFIERS = """
DELETE FROM identifier USING (
    WITH unheld AS (SELECT kind, value FROM identifier EXCEPT SELECT kind, value FROM holds)
    SELECT kind, value FROM unheld
    EXCEPT SELECT 'id_number', e.id_number FROM event e
           SEMI JOIN (SELECT value FROM unheld WHERE kind = 'id_number') u ON u.value = e.id_number
    EXCEPT SELECT 'phone', e.phone FROM event e
           SEMI JOIN (SELECT value FROM unheld WHERE kind = 'phone') u ON u.value = e.phone
    EXCEPT SELECT 'card', e.card_no FROM event e
           SEMI JOIN (SELECT value FROM unheld WHERE kind = 'card') u ON u.value = e.card_no
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

RETENTION_OLD_VERDICTS = """
DELETE FROM verdict USING (
    SELECT person_id, round_id FROM (
        SELECT v.person_id, v.round_id,
               row_number() OVER newest = 1 AS latest,
               coalesce(list_contains($held, v.period_state), false) AS held,
               lag(coalesce(list_contains($held, v.period_state), false)) OVER oldest AS held_before,
               bool_or(NOT coalesce(list_contains($held, v.period_state), false)) OVER later AS paid_later
        FROM verdict v JOIN round r USING (round_id)
        WHERE r.as_of < $since
        WINDOW newest AS (PARTITION BY v.person_id ORDER BY r.as_of DESC, v.round_id DESC),
               oldest AS (PARTITION BY v.person_id ORDER BY r.as_of, v.round_id),
               later AS (PARTITION BY v.person_id ORDER BY r.as_of, v.round_id
                         ROWS BETWEEN 1 FOLLOWING AND UNBOUNDED FOLLOWING))
    WHERE NOT latest AND NOT (held AND NOT coalesce(held_before, false) AND NOT coalesce(paid_later, false))
) gone
WHERE verdict.person_id = gone.person_id AND verdict.round_id = gone.round_id
"""

STEPS = (("events", RETENTION_EVENTS), ("identifiers", RETENTION_IDENTIFIERS), ("verdicts", RETENTION_VERDICTS),
         ("old_verdicts", RETENTION_OLD_VERDICTS))


def prune(cur: duckdb.DuckDBPyConnection, since: date, held: Sequence[str]) -> dict[str, int]:
    """Apply the rule inside the caller's transaction; returns the rows dropped per table."""
    params = {"since": since, "held": list(held)}
    return {name: int(sql.scalar(cur, f"retention_{name}", statement, params)) for name, statement in STEPS}
