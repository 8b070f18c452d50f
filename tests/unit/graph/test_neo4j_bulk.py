"""The import CSVs of a tiny round: one node per identifier value, edges only to known people, typed headers."""

from __future__ import annotations

import csv
from datetime import date, datetime, timezone
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from graph import neo4j_bulk
from graph.exports import schema
from graph.store import RoundExport


def _table(name: str, rows: list[dict]) -> pa.Table:
    return pa.Table.from_pylist(rows, schema=schema(name))


def _person(person_id: str, phone: str) -> dict:
    return {"person_id": person_id, "id_number": f"ID{person_id}", "name": "王芳", "birth_date": date(1950, 3, 1),
            "phone": phone, "monthly_pension": 3120.5, "status": "certified", "probability": 0.1 + 0.2,
            "certified_until": date(2022, 9, 30)}


def _event(key: str, kind: str, person_id: str | None, phone: str | None) -> dict:
    return {"key": key, "source": key.split("/")[0], "kind": kind, "record_id": key.split("/")[1],
            "occurred_at": datetime(2021, 5, 1, 9, 30, 15, 250000), "person_id": person_id,
            "match_probability": 0.97, "method": "splink", "phone": phone}


@pytest.fixture()
def files(tmp_path: Path) -> neo4j_bulk.ImportFiles:
    export = RoundExport(
        "2021-10", date(2021, 10, 31),
        pensioners=_table("pensioners", [_person("P1", "138"), _person("P2", "138")]),
        identifiers=_table("identifiers", [
            {"person_id": "P1", "kind": "phone", "value": "138", "shared": True, "origin": "registry"},
            {"person_id": "P2", "kind": "phone", "value": "138", "shared": True, "origin": "registry"},
            {"person_id": "P9", "kind": "card", "value": "C9", "shared": False, "origin": "registry"},
        ]),
        events=_table("events", [_event("bus/1", "weak", "P1", "138"), _event("police/2", "death", "P2", "139"),
                                 _event("bank/3", "weak", "P9", None)]),
        flags=_table("flags", [{"flag_id": "F1", "person_id": "P2", "kind": "activity_after_death"}]),
        flag_citations=_table("flag_citations", [{"flag_id": "F1", "event_key": "police/2"},
                                                 {"flag_id": "F1", "event_key": "gone/4"}]),
    )
    con = duckdb.connect()
    neo4j_bulk.register_export(con, export)
    published = datetime(2026, 11, 28, 10, 0, tzinfo=timezone.utc)
    return neo4j_bulk.write_import_files(con, export.round_id, export.as_of, tmp_path, published_at=published)


def _rows(files: neo4j_bulk.ImportFiles, name: str) -> list[dict[str, str]]:
    with open(files.folder / f"{name}.csv", encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_a_shared_phone_is_one_node_held_twice(files):
    phones = sorted(_rows(files, "Phone"), key=lambda r: r["value"])
    assert phones == [{":ID(Identifier)": "phone:138", "value": "138", "shared:boolean": "true"},
                      {":ID(Identifier)": "phone:139", "value": "139", "shared:boolean": ""}]  # seen on a record only
    assert sorted(r[":START_ID(Pensioner)"] for r in _rows(files, "HAS_PHONE")) == ["P1", "P2"]


def test_nothing_points_at_an_unknown_person_or_record(files):
    assert files.rows["Card"] == 0 and files.rows["HAS_CARD"] == 0  # P9 is not a pensioner of the round
    assert [r[":START_ID(Record)"] for r in _rows(files, "RESOLVED_TO")] == ["bus/1", "police/2"]
    assert _rows(files, "CITES") == [{":START_ID(Flag)": "F1", ":END_ID(Record)": "police/2"}]


def test_death_records_and_events_are_apart(files):
    assert [r["key:ID(Record)"] for r in _rows(files, "DeathRecord")] == ["police/2"]
    assert sorted(r["key:ID(Record)"] for r in _rows(files, "Event")) == ["bank/3", "bus/1"]


def test_values_are_typed_as_the_unwind_publish_sends_them(files):
    person = _rows(files, "Pensioner")[0]
    assert person["birth_date:date"] == "1950-03-01" and person["probability:double"] == repr(0.1 + 0.2)
    assert person["round_id"] == "2021-10" and person["card_no"] == ""
    assert _rows(files, "Event")[0]["occurred_at:localdatetime"] == "2021-05-01T09:30:15"
    assert _rows(files, "Round") == [{"round_id:ID(Round)": "2021-10", "as_of:date": "2021-10-31",
                                      "published_at:datetime": "2026-11-28T10:00:00Z"}]
    assert _rows(files, "Flag")[0]["status"] == "open"


def test_rows_per_file_are_the_expected_counts(files):
    expected = neo4j_bulk.expected_counts(files)
    assert expected["Pensioner"] == 2 and expected["VERDICT"] == 2 and expected["OBSERVED_ON"] == 2
    assert expected["AuditEntry"] == 0 and expected["Round"] == 1
