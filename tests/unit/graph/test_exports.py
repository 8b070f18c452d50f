"""Conforming a RoundExport table: columns, types and keys checked before anything is written."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pyarrow as pa
import pytest

from silentcert.graph import exports
from silentcert.graph.errors import InvalidInput


def _events(**overrides) -> pa.Table:
    columns = {
        "key": ["bus/1", "police/2"], "source": ["bus", "police"], "kind": ["weak", "death"],
        "record_id": ["1", "2"], "occurred_at": [datetime(2021, 5, 1, 8), datetime(2021, 6, 1)],
        "person_id": ["P1", None], "match_probability": [0.9, None], "method": ["splink", None],
        "id_number": [None, None], "phone": ["13800000001", None], "card_no": [None, None], "passed": [None, None],
        "extra": ["kept out", "kept out"],
    }
    columns.update(overrides)
    return pa.table(columns)


def test_conform_orders_columns_and_casts_types():
    table = exports.conform("events", _events())
    assert table.schema == exports.schema("events")
    assert table.column("passed").type == pa.bool_()
    assert "extra" not in table.column_names


def test_zoned_timestamps_keep_their_wall_clock():
    beijing = timezone(timedelta(hours=8))
    table = exports.conform("events", _events(occurred_at=pa.array(
        [datetime(2021, 5, 1, 8, tzinfo=beijing), datetime(2021, 6, 1, tzinfo=beijing)], pa.timestamp("us", "+08:00"))))
    assert table.column("occurred_at").to_pylist()[0] == datetime(2021, 5, 1, 8)


def test_a_missing_column_is_named():
    with pytest.raises(InvalidInput, match="events: missing column.*occurred_at") as raised:
        exports.conform("events", _events().drop_columns(["occurred_at"]))
    assert raised.value.field == "events.occurred_at"


def test_an_uncastable_column_is_named():
    with pytest.raises(InvalidInput, match="events.match_probability"):
        exports.conform("events", _events(match_probability=["high", "low"]))


def test_repeated_and_missing_keys_are_refused():
    with pytest.raises(InvalidInput, match="1 row\\(s\\) repeat a key"):
        exports.conform("events", _events(key=["bus/1", "bus/1"]))
    with pytest.raises(InvalidInput, match="events.key: 1 row"):
        exports.conform("events", _events(key=["bus/1", None]))


def test_unknown_identifier_kinds_are_refused():
    table = pa.table({"person_id": ["P1"], "kind": ["email"], "value": ["a@b"], "shared": [False],
                      "origin": ["registry"]})
    with pytest.raises(InvalidInput, match="unknown kind.*email"):
        exports.conform("identifiers", table)


def test_events_split_into_events_and_death_records():
    table = exports.conform("events", _events())
    assert exports.events_of_label(table, death=True).column("key").to_pylist() == ["police/2"]
    assert exports.events_of_label(table, death=False).column("key").to_pylist() == ["bus/1"]


def test_dates_arrive_as_dates():
    table = pa.table({c: [None] for c in exports.schema("pensioners").names}).set_column(
        0, "person_id", pa.array(["P1"]))
    table = table.set_column(table.column_names.index("birth_date"), "birth_date", pa.array(["1940-01-01"]))
    assert exports.conform("pensioners", table).column("birth_date").to_pylist() == [date(1940, 1, 1)]
