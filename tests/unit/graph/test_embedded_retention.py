"""The embedded store's retention statements against the rule as first written (docs/graph.md, "Retention").

The statements in graph/embedded_retention.py only look at the records old enough to go and at the identifiers
nobody holds, which is what makes them cheap on a province's store. The reference statements below say the rule
plainly, over every record and every identifier; over any small store hypothesis makes up, both must drop the same
rows. The behaviour of the rule itself, in both stores, is tests/integration/test_retention.py.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import duckdb
from hypothesis import given, settings
from hypothesis import strategies as st

from silentcert.graph import embedded_queries as q
from silentcert.graph import embedded_retention, sql

REFERENCE_EVENTS = """
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
REFERENCE_IDENTIFIERS = """
DELETE FROM identifier USING (
    SELECT kind, value FROM identifier
    EXCEPT SELECT kind, value FROM holds
    EXCEPT SELECT 'id_number', id_number FROM event WHERE id_number IS NOT NULL
    EXCEPT SELECT 'phone', phone FROM event WHERE phone IS NOT NULL
    EXCEPT SELECT 'card', card_no FROM event WHERE card_no IS NOT NULL
) gone
WHERE identifier.kind = gone.kind AND identifier.value = gone.value
"""

SINCE = date(2021, 1, 1)
KINDS = ("id_number", "phone", "card")
EVENT = "INSERT INTO event (key, label, source, occurred_at, person_id, id_number, phone, card_no) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
IDENTIFIER = "INSERT INTO identifier VALUES (?, ?, false)"
HOLDS = "INSERT INTO holds VALUES (?, ?, ?, 'registry', false)"
CITATION = "INSERT INTO flag_citation VALUES ('F1', ?)"
EVENTS_LEFT = "SELECT key FROM event ORDER BY key"
IDENTIFIERS_LEFT = "SELECT kind, value FROM identifier ORDER BY ALL"

values = st.sampled_from(["v1", "v2", "v3", "v4"]) | st.none()
events = st.lists(st.tuples(
    st.sampled_from(["Event", "Event", "DeathRecord"]),
    st.sampled_from(["bus", "vaccination"]),
    st.integers(-40, 40).map(lambda d: datetime.combine(SINCE, datetime.min.time()) + timedelta(days=d)),
    st.sampled_from(["P1", "P2", "P3"]) | st.none(),
    values, values, values), max_size=14)
identifiers = st.lists(st.tuples(st.sampled_from(KINDS), st.sampled_from(["v1", "v2", "v3", "v4", "v5"])),
                       max_size=10, unique=True)
holds = st.lists(st.tuples(st.sampled_from(["P1", "P2"]), st.sampled_from(KINDS), st.sampled_from(["v1", "v2", "v5"])),
                 max_size=5)


def _store(event_rows, identifier_rows, holds_rows, cited) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    sql.run(con, "store_tables", q.TABLES)
    for n, (label, source, at, person, id_number, phone, card) in enumerate(event_rows):
        con.execute(EVENT, [f"{source}/r{n}", label, source, at, person, id_number, phone, card])
    for row in identifier_rows:
        con.execute(IDENTIFIER, list(row))
    for row in holds_rows:
        con.execute(HOLDS, list(row))
    for n in sorted(cited):
        if n < len(event_rows):
            con.execute(CITATION, [f"{event_rows[n][1]}/r{n}"])
    return con


def _prune(con: duckdb.DuckDBPyConnection, events_statement: str, identifiers_statement: str) -> tuple:
    dropped = (sql.scalar(con, "events", events_statement, {"since": SINCE}),
               sql.scalar(con, "identifiers", identifiers_statement))
    return dropped, sql.fetchall(con, "events_left", EVENTS_LEFT), sql.fetchall(con, "identifiers_left", IDENTIFIERS_LEFT)


@settings(max_examples=80, deadline=None)
@given(events, identifiers, holds, st.sets(st.integers(0, 13), max_size=3))
def test_the_statements_drop_what_the_rule_as_first_written_drops(event_rows, identifier_rows, holds_rows, cited):
    reference = _prune(_store(event_rows, identifier_rows, holds_rows, cited), REFERENCE_EVENTS, REFERENCE_IDENTIFIERS)
    ours = _prune(_store(event_rows, identifier_rows, holds_rows, cited), embedded_retention.RETENTION_EVENTS,
                  embedded_retention.RETENTION_IDENTIFIERS)
    assert ours == reference


def test_an_old_record_goes_unless_it_is_its_persons_latest_of_its_source_or_cited():
    rows = [("Event", "bus", datetime(2020, 11, 1), "P1", None, None, "v1"),   # r0: old, P1 has a later bus record
            ("Event", "bus", datetime(2020, 12, 1), "P1", None, None, None),   # r1: old, P1's latest bus record
            ("Event", "vaccination", datetime(2020, 10, 1), None, None, None, None),  # r2: old, nobody's
            ("Event", "vaccination", datetime(2020, 10, 2), "P2", None, None, None),  # r3: old, cited
            ("Event", "vaccination", datetime(2020, 9, 1), "P2", None, None, None),   # r4: old, P2 has a later one
            ("DeathRecord", "death", datetime(2019, 1, 1), "P3", None, None, None)]   # r5: death records stay
    con = _store(rows, [("card", "v1"), ("card", "v2")], [("P1", "card", "v2")], {3})
    dropped, left, held = _prune(con, embedded_retention.RETENTION_EVENTS, embedded_retention.RETENTION_IDENTIFIERS)
    assert dropped == (3, 1)
    assert [k for (k,) in left] == ["bus/r1", "death/r5", "vaccination/r3"]
    assert held == [("card", "v2")]  # v1 went with r0, its last record; v2 is held
