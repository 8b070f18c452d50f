"""A face / in-person check between rounds, against the real embedded store."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pyarrow as pa
import pytest

from silentcert.graph.embedded import EmbeddedStore
from silentcert.graph.errors import Conflict, InvalidInput, NotFound
from silentcert.graph.exports import schema
from silentcert.graph.model import ChannelCertification
from silentcert.graph.store import RoundExport
from silentcert.services.liveness.live_certification import record_channel_check


def _table(name, rows):
    return pa.Table.from_pylist([{c: r.get(c) for c in schema(name).names} for r in rows], schema=schema(name))


@pytest.fixture
def store():
    people = [dict(person_id="A", status="uncertified", method="none", certified_until=date(2021, 3, 31),
                   period_state="overdue"),
              dict(person_id="D", status="deceased", method="none", certified_until=date(2021, 1, 31),
                   period_state="ended")]
    export = RoundExport("r1", date(2021, 10, 31), _table("pensioners", people), _table("identifiers", []),
                         _table("events", []), _table("flags", []), _table("flag_citations", []))
    with EmbeddedStore(":memory:") as s:
        s.publish_round(export)
        yield s


def check(person_id, day, passed=True, record_id="c1"):
    return ChannelCertification(person_id, "in_person", datetime(day.year, day.month, day.day, 10), passed,
                                record_id, "clerk")


def test_passed_check_certifies_for_the_period_and_is_stored(store):
    person, extended = record_channel_check(store, check("A", date(2021, 11, 30)), period_months=12)
    assert extended and person.certified_until == date(2022, 11, 30) and person.method == "in_person"
    assert store.person(person_id="A").status == "certified"
    assert [e.record_id for e in store.evidence("A")] == ["c1"]
    # the round's sentence no longer explains the verdict: the check's replaces it
    assert store.person(person_id="A").explanation == (
        "in_person: check c1 passed on 2021-11-30, recorded after the round; certified until 2022-11-30")


def test_period_never_moves_backward(store):
    record_channel_check(store, check("A", date(2021, 11, 30)))
    person, extended = record_channel_check(store, check("A", date(2021, 6, 1), record_id="older"))
    assert not extended and person.certified_until == date(2022, 11, 30)


def test_failed_check_and_deceased_person_are_stored_but_certify_nothing(store):
    person, extended = record_channel_check(store, check("A", date(2021, 11, 30), passed=False))
    assert not extended and person.status == "uncertified"
    dead, extended = record_channel_check(store, check("D", date(2021, 11, 30), record_id="d1"))
    assert not extended and dead.status == "deceased" and len(store.evidence("D")) == 1


def test_unknown_person_is_not_found(store):
    with pytest.raises(NotFound):
        record_channel_check(store, check("nobody", date(2021, 11, 30)))


def test_a_record_id_stays_bound_to_its_pensioner(store):
    record_channel_check(store, check("A", date(2021, 11, 30), record_id="k1"))
    with pytest.raises(Conflict, match="record_id 'k1'"):
        record_channel_check(store, check("D", date(2021, 11, 30), record_id="k1"))
    assert [e.record_id for e in store.evidence("A")] == ["k1"] and store.evidence("D") == []


@pytest.mark.parametrize("day, why", [(date(2020, 10, 30), "before the evidence window, which starts 2020-10-31"),
                                      (date(2199, 1, 1), "in the future")])
def test_a_check_outside_the_window_or_in_the_future_is_refused(store, day, why):
    with pytest.raises(InvalidInput, match=why) as refused:
        record_channel_check(store, check("A", day), now=datetime(2021, 12, 1, tzinfo=UTC))
    assert refused.value.field == "occurred_at" and store.evidence("A") == []
    assert store.person(person_id="A").certified_until == date(2021, 3, 31)


def test_the_check_and_its_audit_entry_commit_together(store):
    person, _ = record_channel_check(store, check("A", date(2021, 11, 30)), now=datetime(2021, 12, 1, 9))
    (entry,) = store.audit_trail("A")
    assert entry.action == "record_certification" and entry.actor == "clerk"
    assert entry.subject == "certification:in_person/c1" and entry.after["period_extended"] is True
    assert entry.before["person"]["certified_until"] == "2021-03-31"
    assert entry.after["person"]["certified_until"] == person.certified_until.isoformat() == "2022-11-30"
