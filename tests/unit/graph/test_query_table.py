"""A RoundExport table read from a DuckDB query in record batches: checked in SQL, streamed, never held whole."""

from __future__ import annotations

from datetime import datetime

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from silentcert.graph import exports
from silentcert.graph.errors import InvalidInput
from silentcert.graph.query_table import QueryTable

EVENTS = """SELECT 'bus/' || i AS key, 'bus' AS source, CASE WHEN i % 4 = 0 THEN 'death' ELSE 'weak' END AS kind,
                   i::VARCHAR AS record_id, TIMESTAMP '2021-05-01 08:00' + INTERVAL (i) MINUTE AS occurred_at,
                   'P' || (i % 7) AS person_id, 0.9 AS match_probability, 'splink' AS method,
                   NULL AS id_number, NULL AS phone, NULL AS card_no, NULL AS passed
            FROM range(10) t(i)"""


@pytest.fixture
def con():
    connection = duckdb.connect()
    yield connection
    connection.close()


def test_rows_columns_and_batches(con):
    table = QueryTable(con, EVENTS)
    assert table.num_rows == 10
    assert table.column_names[:3] == ["key", "source", "kind"]
    sizes = [b.num_rows for b in table.to_batches(max_chunksize=4)]
    assert sum(sizes) == 10 and max(sizes) <= 4
    assert table.scalar("count(DISTINCT person_id)") == 7


def test_a_table_can_be_read_again_while_another_scan_is_open(con):
    table = QueryTable(con, EVENTS)
    first = iter(table.to_batches(max_chunksize=3))
    head = next(first)
    again = pa.Table.from_batches(list(table.to_batches()))
    rest = [head, *first]
    assert sum(b.num_rows for b in rest) == again.num_rows == 10


def test_conformed_batches_have_the_export_types(con):
    batches = list(exports.batches("events", QueryTable(con, EVENTS), 4))
    assert all(b.schema == exports.schema("events") for b in batches)
    assert batches[0].column("occurred_at")[0].as_py() == datetime(2021, 5, 1, 8)
    assert exports.conform("events", QueryTable(con, EVENTS)).num_rows == 10


def test_repeated_missing_keys_and_columns_are_refused_in_sql(con):
    exports.check("events", QueryTable(con, EVENTS))
    with pytest.raises(InvalidInput, match="1 row\\(s\\) repeat a key"):
        exports.check("events", QueryTable(con, f"{EVENTS} UNION ALL ({EVENTS} LIMIT 1)"))
    with pytest.raises(InvalidInput, match="events.key: 10 row\\(s\\) without a value"):
        exports.check("events", QueryTable(con, f"SELECT * REPLACE (NULL AS key) FROM ({EVENTS})"))
    with pytest.raises(InvalidInput, match="missing column\\(s\\) passed"):
        exports.check("events", QueryTable(con, f"SELECT * EXCLUDE (passed) FROM ({EVENTS})"))


def test_unknown_identifier_kinds_are_refused_in_sql(con):
    query = "SELECT 'P1' AS person_id, 'email' AS kind, 'a@b' AS value, false AS shared, 'registry' AS origin"
    with pytest.raises(InvalidInput, match="unknown kind"):
        exports.check("identifiers", QueryTable(con, query))


def test_rebatch_gives_full_batches_of_the_kept_rows(con):
    source = exports.batches("events", QueryTable(con, EVENTS), 3)
    chunks = list(exports.rebatch(source, 2, keep=lambda b: pc.invert(exports.is_death(b))))
    assert [c.num_rows for c in chunks] == [2, 2, 2, 1]
    assert all(k != "death" for c in chunks for k in c.column("kind").to_pylist())
