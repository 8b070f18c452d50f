"""The import CSVs of a tiny round: one node per identifier value, edges only to known people, typed headers."""

from __future__ import annotations

import csv
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from silentcert.graph import neo4j_bulk
from silentcert.graph.exports import schema
from silentcert.graph.store import RoundExport
from silentcert.services.deathcheck.audit import chain_entry


def _table(name: str, rows: list[dict]) -> pa.Table:
    return pa.Table.from_pylist(rows, schema=schema(name))


EXPLAINED = 'none: 1 weak source(s) seen (telecom), needs 2; P(alive)=0.3000; period "never certified"'


def _person(person_id: str, phone: str) -> dict:
    return {"person_id": person_id, "id_number": f"ID{person_id}", "name": "王芳", "birth_date": date(1950, 3, 1),
            "phone": phone, "monthly_pension": 3120.5, "status": "certified", "probability": 0.1 + 0.2,
            "certified_until": date(2022, 9, 30), "explanation": EXPLAINED}


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
    published = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)
    return neo4j_bulk.write_import_files(con, export.round_id, export.as_of, tmp_path, published_at=published,
                                         audit=_audit(published))


def _audit(at: datetime) -> list:
    flagged = chain_entry(None, actor="deathcheck", action="flag_raised", at=at, person_id="P2", subject="F1",
                          sources=("police", "bus card"), before={}, after={"flag": "F1", "note": 'a "quoted", text'})
    closed = chain_entry(flagged, actor="round", action="round_audited", at=at, person_id="round:2021-10",
                         subject="round:2021-10", sources=(), before={}, after={"events": 1})
    return [flagged, closed]


def _rows(files: neo4j_bulk.ImportFiles, name: str) -> list[dict[str, str]]:
    with open(files.folder / f"{name}.csv", encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _keys(files: neo4j_bulk.ImportFiles, key: str, *labels: str) -> dict[str, str]:
    """Import ID -> the key property, over the node files of one ID space."""
    found = [(row[next(c for c in row if c.startswith(":ID("))], row[key]) for label in labels
             for row in _rows(files, label)]
    assert len({import_id for import_id, _ in found}) == len(found)  # unique within the space
    return dict(found)


def _ends(files: neo4j_bulk.ImportFiles, name: str, start: dict[str, str], end: dict[str, str]) -> list[tuple]:
    """A relationship file's (start key, end key) pairs, its integer IDs looked up in the node files."""
    return sorted((start[row[next(c for c in row if c.startswith(":START_ID("))]],
                   end[row[next(c for c in row if c.startswith(":END_ID("))]]) for row in _rows(files, name))


def test_import_ids_are_integers_and_not_stored(files):
    for name in (*neo4j_bulk.NODE_SQL, *neo4j_bulk.RELATIONSHIP_SQL):
        for row in _rows(files, name):
            ids = [value for column, value in row.items() if column.split("(")[0] in (":ID", ":START_ID", ":END_ID")]
            assert ids and all(value.isdigit() for value in ids), (name, row)
    assert [c for c in _rows(files, "Pensioner")[0] if "ID(" in c] == [":ID(Pensioner)"]  # person_id: a property


def test_a_shared_phone_is_one_node_held_twice(files):
    phones = sorted(({k: v for k, v in r.items() if k != ":ID(Identifier)"} for r in _rows(files, "Phone")),
                    key=lambda r: r["value"])
    assert phones == [{"value": "138", "shared:boolean": "true"},
                      {"value": "139", "shared:boolean": ""}]  # seen on a record only
    people, identifiers = _keys(files, "person_id", "Pensioner"), _keys(files, "value", "IdNumber", "Phone", "Card")
    assert _ends(files, "HAS_PHONE", people, identifiers) == [("P1", "138"), ("P2", "138")]


def test_nothing_points_at_an_unknown_person_or_record(files):
    assert files.rows["Card"] == 0 and files.rows["HAS_CARD"] == 0  # P9 is not a pensioner of the round
    people, records = _keys(files, "person_id", "Pensioner"), _keys(files, "key", "Event", "DeathRecord")
    assert _ends(files, "RESOLVED_TO", records, people) == [("bus/1", "P1"), ("police/2", "P2")]
    assert _ends(files, "CITES", _keys(files, "flag_id", "Flag"), records) == [("F1", "police/2")]
    assert _ends(files, "CONCERNS", _keys(files, "flag_id", "Flag"), people) == [("F1", "P2")]


def test_records_are_observed_on_their_identifiers(files):
    records, identifiers = _keys(files, "key", "Event", "DeathRecord"), _keys(files, "value", "Phone")
    assert _ends(files, "OBSERVED_ON", records, identifiers) == [("bus/1", "138"), ("police/2", "139")]


def test_death_records_and_events_are_apart(files):
    assert [r["key"] for r in _rows(files, "DeathRecord")] == ["police/2"]
    assert sorted(r["key"] for r in _rows(files, "Event")) == ["bank/3", "bus/1"]


def test_values_are_typed_as_the_unwind_publish_sends_them(files):
    person = _rows(files, "Pensioner")[0]
    assert person["birth_date:date"] == "1950-03-01" and person["probability:double"] == repr(0.1 + 0.2)
    assert person["round_id"] == "2021-10" and person["card_no"] == ""
    assert person["explanation"] == EXPLAINED  # a string property, commas and quotes kept
    assert _rows(files, "Event")[0]["occurred_at:localdatetime"] == "2021-05-01T09:30:15"
    assert _rows(files, "Round") == [{":ID(Round)": "0", "round_id": "2021-10", "as_of:date": "2021-10-31",
                                      "published_at:datetime": "2026-11-28T10:00:00Z", "gen:long": "1"}]
    assert _rows(files, "Flag")[0]["status"] == "open"
    # the hashes the next incremental publish compares with (graph/neo4j_publish.py), on every pensioner and record
    assert all(r["h:long"] and r["hi:long"] and r["gen:long"] == "1" for r in _rows(files, "Pensioner"))
    assert all(r["h:long"] and r["l:long"] for r in _rows(files, "Event"))


def test_rows_per_file_are_the_expected_counts(files):
    expected = neo4j_bulk.expected_counts(files)
    assert expected["Pensioner"] == 2 and expected["VERDICT"] == 2 and expected["OBSERVED_ON"] == 2
    assert expected["AuditEntry"] == 2 and expected["ABOUT"] == 1 and expected["Round"] == 1


def test_audit_entries_are_nodes_about_known_people(files):
    entries = _audit(datetime(2026, 11, 28, 10, 0, tzinfo=UTC))
    stored = sorted(_rows(files, "AuditEntry"), key=lambda r: int(r["seq:long"]))
    assert [(r["seq:long"], r["hash"], r["prev_hash"]) for r in stored] == [
        (str(e.seq), e.hash, e.prev_hash) for e in entries]
    assert stored[0]["sources:string[]"] == "police\x1fbus card" and stored[1]["sources:string[]"] == ""
    assert stored[0]["after"] == '{"flag": "F1", "note": "a \\"quoted\\", text"}'  # canonical JSON, as append_audit
    assert stored[0]["at"] == "2026-11-28T10:00:00+00:00"
    audit = {r[":ID(Audit)"]: r["seq:long"] for r in stored}
    assert _ends(files, "ABOUT", audit, _keys(files, "person_id", "Pensioner")) == [("1", "P2")]  # not the round
