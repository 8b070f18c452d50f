"""The exact-ID one-record resolver against the real embedded store."""

from __future__ import annotations

from datetime import date

import pyarrow as pa
import pytest

from silentcert.graph.embedded import EmbeddedStore
from silentcert.graph.errors import InvalidInput
from silentcert.graph.exports import schema
from silentcert.graph.store import RoundExport
from silentcert.services.resolver.id_numbers import check_digit
from silentcert.services.resolver.one_record import RecordQuery, exact_id_resolver

ID = "11010119370615002" + check_digit("11010119370615002")


@pytest.fixture
def resolve():
    people = [{c: None for c in schema("pensioners").names} | dict(person_id="P", id_number=ID, name="张伟", sex="F",
                                                                 birth_date=date(1937, 6, 15))]
    empty = {n: pa.Table.from_pylist([], schema=schema(n)) for n in ("identifiers", "events", "flags", "flag_citations")}
    export = RoundExport("r", date(2021, 10, 31), pa.Table.from_pylist(people, schema=schema("pensioners")), **empty)
    with EmbeddedStore(":memory:") as store:
        store.publish_round(export)
        yield exact_id_resolver(store)


def test_valid_id_number_links_with_field_agreement(resolve):
    [candidate] = resolve(RecordQuery(id_number=ID, name="张伟", birth_date=date(1937, 6, 15), phone="13911112222"))
    assert (candidate.person_id, candidate.match_probability, candidate.method) == ("P", 1.0, "deterministic")
    assert [(f.field, f.level) for f in candidate.fields] == [
        ("id_number", "exact match"), ("name", "exact match"), ("birth_date", "exact match"), ("phone", "missing")]


def test_contradicting_sex_or_unknown_id_finds_nobody(resolve):
    assert resolve(RecordQuery(id_number=ID, sex="M")) == []
    other = "11010119370615010" + check_digit("11010119370615010")
    assert resolve(RecordQuery(id_number=other)) == []
    assert resolve(RecordQuery(name="张伟")) == []


def test_invalid_id_number_is_invalid_input_naming_the_field(resolve):
    with pytest.raises(InvalidInput) as caught:
        resolve(RecordQuery(id_number="110101193706150"[:-2]))
    assert caught.value.field == "record.id_number"
