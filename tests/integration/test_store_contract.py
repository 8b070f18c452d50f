"""One contract suite, run against both graph stores: the embedded DuckDB file and the local Neo4j server.

Every test publishes the same small hand-built round and asks the store questions through GraphStore only, so the
two implementations must answer alike.
"""

from __future__ import annotations

import json
import os
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime

import duckdb
import pyarrow as pa
import pytest

from silentcert.graph.embedded import EmbeddedStore
from silentcert.graph.errors import Conflict, InvalidInput, NotFound
from silentcert.graph.model import AuditEntry, ChannelCertification, Decision, FlagFilter, Identifier, Person
from silentcert.graph.neo4j_store import Neo4jStore
from silentcert.graph.query_table import QueryTable
from silentcert.graph.store import AuditedChange, GraphStore, RoundExport

ROUND = "2021-10"
AS_OF = date(2021, 10, 31)


EXPLAINED = {  # as the round writes them (services/liveness/score_stage.py), with what the death check adds
    "P1": "strong: vaccination on 2021-03-01 linked 1.000; certified until 2022-02-28",
    "P2": "none: only sources that relatives of deceased pensioners were seen using this round (bus, telecom): "
          "best log-odds 3.211 < 6.904; P(alive)=0.6000; period 2021-09-30 Death check: flag F2 (shared_phone).",
    "P3": None,
}


def _pensioners() -> pa.Table:
    rows = [
        ("P1", "110101194001010012", "张三", "zhang san", "M", date(1940, 1, 1), "13800000001", "C1", "110101",
         "U1", 2100.0, "certified", "strong", "vaccination", date(2021, 3, 1), 0.99, date(2022, 2, 28), "valid",
         EXPLAINED["P1"]),
        ("P2", "110101194502020024", "李四", "li si", "F", date(1945, 2, 2), "13800000002", None, "110102",
         "U1", 1800.5, "review", "weak", "telecom", date(2021, 8, 1), 0.6, date(2021, 9, 30), "overdue",
         EXPLAINED["P2"]),
        ("P3", "110101193803030036", "王五", "wang wu", "M", date(1938, 3, 3), "13800000002", "C3", "110102",
         "U2", 2500.0, "deceased", "none", "police", None, 0.01, None, "ended", EXPLAINED["P3"]),
    ]
    columns = list(zip(*rows))
    names = ("person_id", "id_number", "name", "name_pinyin", "sex", "birth_date", "phone", "card_no", "county_code",
             "unit_id", "monthly_pension", "status", "method", "source", "evidence_at", "probability",
             "certified_until", "period_state", "explanation")
    return pa.table(dict(zip(names, (list(c) for c in columns))))


def _identifiers() -> pa.Table:
    return pa.table({
        "person_id": ["P1", "P1", "P1", "P2", "P2", "P3", "P3", "P3"],
        "kind": ["id_number", "phone", "card", "id_number", "phone", "id_number", "phone", "card"],
        "value": ["110101194001010012", "13800000001", "C1", "110101194502020024", "13800000002",
                  "110101193803030036", "13800000002", "C3"],
        "shared": [False, False, False, False, True, False, True, False],
        "origin": ["registry"] * 7 + ["link"],
    })


def _events(telecom_person: str | None = "P2") -> pa.Table:
    rows = [
        ("vaccination/v1", "vaccination", "strong", "v1", datetime(2021, 3, 1, 9, 30), "P1", 1.0, "deterministic",
         "110101194001010012", None, None, None),
        ("bus/b1", "bus", "weak", "b1", datetime(2021, 9, 15, 7, 5), "P1", 0.97, "identifier", None, None, "C1", None),
        ("telecom/t1", "telecom", "weak", "t1", datetime(2021, 8, 1), telecom_person, 0.45, "identifier", None,
         "13800000002", None, None),
        ("police/d1", "police", "death", "d1", datetime(2021, 5, 5), "P3", 0.999, "deterministic",
         "110101193803030036", None, None, None),
        ("bus/b2", "bus", "weak", "b2", datetime(2021, 7, 1, 18, 0), "P3", 0.95, "identifier", None, None, "C3", None),
        ("telecom/u1", "telecom", "weak", "u1", datetime(2021, 6, 1), None, 0.1, "splink", None, "13900000009",
         None, None),
        ("face/f1", "face", "face", "f1", datetime(2021, 4, 2, 10, 0), "P1", 1.0, "direct", None, None, None, True),
    ]
    names = ("key", "source", "kind", "record_id", "occurred_at", "person_id", "match_probability", "method",
             "id_number", "phone", "card_no", "passed")
    return pa.table(dict(zip(names, (list(c) for c in zip(*rows)))))


def _flags() -> pa.Table:
    return pa.table({
        "flag_id": ["F1", "F2", "F3"],
        "person_id": ["P3", "P2", "P1"],
        "kind": ["card_after_death", "shared_phone", "source_disagreement"],
        "severity": ["high", "low", "medium"],
        "detail": ["card used 57 days after the police death record", "phone held by 2 pensioners",
                   "vaccination after a village death report"],
        "overpayment": [5000.0, 0.0, 0.0],
        "ring_id": [None, "R1", None],
        "county_code": ["110102", "110102", "110101"],
    })


def _citations() -> pa.Table:
    return pa.table({"flag_id": ["F1", "F1", "F2"], "event_key": ["police/d1", "bus/b2", "telecom/t1"]})


def small_round(telecom_person: str | None = "P2") -> RoundExport:
    return RoundExport(ROUND, AS_OF, _pensioners(), _identifiers(), _events(telecom_person), _flags(), _citations())


# Nodes and relationships the small round makes, the same in both stores.
EXPECTED_COUNTS = {
    "Pensioner": 3, "IdNumber": 3, "Phone": 3, "Card": 2, "Event": 6, "DeathRecord": 1, "Flag": 3, "Round": 1,
    "AuditEntry": 0, "HAS_ID": 3, "HAS_PHONE": 3, "HAS_CARD": 2, "OBSERVED_ON": 6, "RESOLVED_TO": 6,
    "CONCERNS": 3, "CITES": 3, "VERDICT": 3, "ABOUT": 0,
}


def _neo4j_driver(request: pytest.FixtureRequest):
    """The session driver of tests/integration/conftest.py; else NEO4J_URI/USER/PASSWORD; else the local server."""
    try:
        return request.getfixturevalue("neo4j_driver")
    except pytest.FixtureLookupError:
        pass
    import neo4j

    from silentcert.graph.neo4j_local import LocalNeo4jSettings, bolt_settings, status

    if os.environ.get("NEO4J_URI"):
        uri, user, password = (os.environ["NEO4J_URI"], os.environ.get("NEO4J_USER", "neo4j"),
                               os.environ.get("NEO4J_PASSWORD", ""))
    else:
        local = LocalNeo4jSettings.from_env()
        if not status(local).running:
            pytest.skip("no Neo4j: run `silentcert neo4j start` (or set NEO4J_URI)")
        uri, user, password = bolt_settings(local)
    driver = neo4j.GraphDatabase.driver(uri, auth=(user, password))
    request.addfinalizer(driver.close)
    return driver


@pytest.fixture(params=["embedded", pytest.param("neo4j", marks=pytest.mark.neo4j)])
def store(request: pytest.FixtureRequest, tmp_path) -> GraphStore:
    if request.param == "embedded":
        the_store: GraphStore = EmbeddedStore(tmp_path / "graph.duckdb")
    else:
        the_store = Neo4jStore(_neo4j_driver(request), batch_size=2, retry_seconds=5)
        the_store.clear()  # the test server's database is this test's alone
    the_store.apply_schema()
    yield the_store
    the_store.close()


@pytest.fixture
def published(store: GraphStore) -> GraphStore:
    written = store.publish_round(small_round())
    assert written == {"pensioners": 3, "identifiers": 8, "events": 7, "flags": 3, "flag_citations": 3}
    return store


def test_schema_applies_twice(store: GraphStore):
    store.apply_schema()
    store.apply_schema()
    assert store.counts()["Pensioner"] == 0


def test_publish_makes_the_expected_graph(published: GraphStore):
    assert published.counts() == EXPECTED_COUNTS


def test_republishing_creates_nothing(published: GraphStore):
    before = published.counts()
    published.publish_round(small_round())
    assert published.counts() == before


def test_an_export_of_queries_publishes_the_same_graph(store: GraphStore):
    """A round read from a DuckDB database in record batches (as the round pipeline exports it) makes the same
    graph as one given as arrow tables, and republishing either changes nothing."""
    tables = small_round()
    con = duckdb.connect()
    for name in ("pensioners", "identifiers", "events", "flags", "flag_citations"):
        con.register(f"round_{name}", getattr(tables, name))
        con.execute(f"CREATE TABLE {name} AS SELECT * FROM round_{name}")
    queried = RoundExport(ROUND, AS_OF, *(QueryTable(con, f"SELECT * FROM {name}")
                                          for name in ("pensioners", "identifiers", "events", "flags",
                                                       "flag_citations")))
    assert store.publish_round(queried) == {"pensioners": 3, "identifiers": 8, "events": 7, "flags": 3,
                                            "flag_citations": 3}
    assert store.counts() == EXPECTED_COUNTS
    assert [e.record_id for e in store.evidence("P1")] == ["b1", "f1", "v1"]
    store.publish_round(tables)
    store.publish_round(queried)
    assert store.counts() == EXPECTED_COUNTS
    con.close()


def test_a_store_says_once_when_it_reads_the_export_no_more(store: GraphStore):
    """on_staged: after it the round's working database may give its memory away; here it is closed, so a store
    that read a table again would fail."""
    tables = small_round()
    con = duckdb.connect()
    names = ("pensioners", "identifiers", "events", "flags", "flag_citations")
    for name in names:
        con.register(f"round_{name}", getattr(tables, name))
        con.execute(f"CREATE TABLE {name} AS SELECT * FROM round_{name}")
    calls = []
    queried = RoundExport(ROUND, AS_OF, *(QueryTable(con, f"SELECT * FROM {name}") for name in names),
                          on_staged=lambda: (calls.append(True), con.close()))
    assert store.publish_round(queried) == {"pensioners": 3, "identifiers": 8, "events": 7, "flags": 3,
                                            "flag_citations": 3}
    assert calls == [True] and store.counts() == EXPECTED_COUNTS


def test_progress_reports_every_table(store: GraphStore):
    seen: dict[str, int] = {}
    store.publish_round(small_round(), progress=lambda table, done: seen.__setitem__(table, done))
    assert seen == {"pensioners": 3, "identifiers": 8, "events": 7, "flags": 3, "flag_citations": 3}


def test_person_by_account_and_by_id_number(published: GraphStore):
    p1 = published.person(person_id="P1")
    assert p1 == Person(
        person_id="P1", id_number="110101194001010012", name="张三", sex="M", birth_date=date(1940, 1, 1),
        phone="13800000001", card_no="C1", county_code="110101", unit_id="U1", monthly_pension=2100.0,
        status="certified", method="strong", source="vaccination", evidence_at=date(2021, 3, 1), probability=0.99,
        certified_until=date(2022, 2, 28), period_state="valid", round_id=ROUND, explanation=EXPLAINED["P1"],
    )
    assert published.person(id_number="110101193803030036").person_id == "P3"
    assert published.person(person_id="nobody") is None
    assert published.person(id_number="000000000000000000") is None


def test_identifiers_mark_the_shared_phone(published: GraphStore):
    assert published.identifiers("P2") == [
        Identifier("id_number", "110101194502020024", shared=False, origin="registry", holders=1),
        Identifier("phone", "13800000002", shared=True, origin="registry", holders=2),
    ]
    assert [i.kind for i in published.identifiers("P3")] == ["card", "id_number", "phone"]
    assert published.identifiers("P3")[0].origin == "link"
    assert published.identifiers("nobody") == []


def test_evidence_newest_first_and_since(published: GraphStore):
    evidence = published.evidence("P1")
    assert [e.record_id for e in evidence] == ["b1", "f1", "v1"]
    assert evidence[0].occurred_at == datetime(2021, 9, 15, 7, 5)
    assert (evidence[0].link_probability, evidence[0].method, evidence[0].round_id) == (0.97, "identifier", ROUND)
    assert evidence[1].passed is True
    assert [e.record_id for e in published.evidence("P1", since=date(2021, 4, 2))] == ["b1", "f1"]
    assert [e.kind for e in published.evidence("P3")] == ["weak", "death"]


def test_person_evidence_is_person_and_evidence_in_one_call(published: GraphStore):
    for lookup in ({"person_id": "P1"}, {"id_number": "110101194001010012"}):
        person, evidence = published.person_evidence(**lookup)
        assert person == published.person(person_id="P1") and evidence == published.evidence("P1")
    _, newest = published.person_evidence(person_id="P1", since=date(2021, 4, 2), limit=1)
    assert [e.record_id for e in newest] == ["b1"]
    assert published.person_evidence(person_id="P3", limit=0)[1] == []
    assert published.person_evidence(person_id="nobody") is None
    assert published.person_evidence(id_number="110101190001010011") is None


def test_concurrent_person_evidence_answers_each_caller_alike(published: GraphStore):
    """Many threads at once (the Neo4j store then answers them in shared queries): each gets its own answer."""
    lookups = [{"person_id": "P1"}, {"id_number": "110101194502020024"}, {"person_id": "P3", "limit": 1},
               {"person_id": "P1", "since": date(2021, 4, 2)}, {"person_id": "nobody"},
               {"id_number": "110101190001010011"}, {"id_number": "110101193803030036"}] * 12
    alone = [published.person_evidence(**lookup) for lookup in lookups]
    with ThreadPoolExecutor(24) as pool:
        together = list(pool.map(lambda lookup: published.person_evidence(**lookup), lookups))
    assert together == alone
    assert [found is None for found in alone[:7]] == [False, False, False, False, True, True, False]


def test_relinking_a_record_moves_its_evidence(published: GraphStore):
    published.publish_round(small_round(telecom_person="P3"))
    assert [e.record_id for e in published.evidence("P2")] == []
    assert "t1" in [e.record_id for e in published.evidence("P3")]
    published.publish_round(small_round(telecom_person=None))
    assert "t1" not in [e.record_id for e in published.evidence("P3")]
    assert published.counts()["RESOLVED_TO"] == EXPECTED_COUNTS["RESOLVED_TO"] - 1


def test_flags_filtered_most_severe_first(published: GraphStore):
    assert [f.flag_id for f in published.flags(FlagFilter())] == ["F1", "F3", "F2"]
    assert [f.flag_id for f in published.flags(FlagFilter(kind="shared_phone"))] == ["F2"]
    assert [f.flag_id for f in published.flags(FlagFilter(severity="medium"))] == ["F3"]
    assert [f.flag_id for f in published.flags(FlagFilter(county_code="110102"))] == ["F1", "F2"]
    assert [f.flag_id for f in published.flags(FlagFilter(status="open"))] == ["F1", "F3", "F2"]
    assert published.flags(FlagFilter(status="confirmed")) == []
    assert [f.flag_id for f in published.flags(FlagFilter(limit=1, offset=1))] == ["F3"]
    assert [f.flag_id for f in published.flags(FlagFilter(person_id="P2"))] == ["F2"]
    assert published.flags(FlagFilter(person_id="P404")) == []
    f1 = published.flags(FlagFilter(limit=1))[0]
    assert (f1.person_id, f1.overpayment, f1.status, f1.round_id, f1.ring_id) == ("P3", 5000.0, "open", ROUND, None)


def test_flag_detail_holds_the_cited_records(published: GraphStore):
    detail = published.flag("F1")
    assert detail.flag.kind == "card_after_death"
    assert detail.person.person_id == "P3"
    assert {n.id for n in detail.nodes} == {"Flag:F1", "Pensioner:P3", "DeathRecord:police/d1", "Event:bus/b2"}
    assert {(e.source, e.target, e.type) for e in detail.edges} == {
        ("Flag:F1", "Pensioner:P3", "CONCERNS"),
        ("Flag:F1", "DeathRecord:police/d1", "CITES"),
        ("Flag:F1", "Event:bus/b2", "CITES"),
        ("DeathRecord:police/d1", "Pensioner:P3", "RESOLVED_TO"),
        ("Event:bus/b2", "Pensioner:P3", "RESOLVED_TO"),
    }
    death = next(n for n in detail.nodes if n.label == "DeathRecord")
    assert death.properties["occurred_at"] == "2021-05-05T00:00:00"
    # each cited record as its source sent it, with the identifiers it was observed on
    assert {k: v for k, v in death.properties.items() if v is not None} == {
        "source": "police", "kind": "death", "record_id": "d1", "occurred_at": "2021-05-05T00:00:00",
        "id_number": "110101193803030036"}
    bus = next(n for n in detail.nodes if n.id == "Event:bus/b2")
    assert (bus.properties["card_no"], bus.properties["phone"]) == ("C3", None)
    with pytest.raises(NotFound):
        published.flag("F404")


def test_decision_saved_and_kept_after_republishing(published: GraphStore):
    at = datetime(2021, 11, 2, 15, 30)
    saved = published.save_decision(Decision("F1", "confirm", "reviewer-7", "death confirmed by family", at))
    assert (saved.status, saved.decided_by, saved.decided_at, saved.note) == (
        "confirmed", "reviewer-7", at, "death confirmed by family")
    published.publish_round(small_round())
    kept = published.flags(FlagFilter(status="confirmed"))
    assert [(f.flag_id, f.decided_by, f.decided_at) for f in kept] == [("F1", "reviewer-7", at)]
    assert [f.flag_id for f in published.decided_flags()] == ["F1"]
    with pytest.raises(Conflict):
        published.save_decision(Decision("F1", "dismiss", "reviewer-8", "", at))
    with pytest.raises(NotFound):
        published.save_decision(Decision("F404", "confirm", "reviewer-7", "", at))
    with pytest.raises(InvalidInput):
        published.save_decision(Decision("F2", "approve", "reviewer-7", "", at))


def test_escalated_flag_can_still_be_decided(published: GraphStore):
    at = datetime(2021, 11, 2, 15, 30)
    assert published.save_decision(Decision("F2", "escalate", "r1", "ask the county", at)).status == "escalated"
    assert published.save_decision(Decision("F2", "dismiss", "r2", "couple share a phone", at)).status == "dismissed"


def _audit(seq: int, person_id: str | None, prev: str) -> AuditEntry:
    return AuditEntry(
        seq=seq, at=datetime.fromisoformat(f"2021-11-0{seq}T08:00:00+08:00"), actor="round", action="verdict",
        person_id=person_id, subject=f"person/{person_id}", sources=("vaccination", "bus"),
        before={"status": "review"}, after={"status": "certified", "until": "2022-10-31"},
        prev_hash=prev, hash=f"h{seq}",
    )


def test_audit_append_last_and_trail(published: GraphStore):
    assert published.last_audit() is None
    entries = [_audit(1, "P1", "genesis"), _audit(2, "P2", "h1"), _audit(3, "P1", "h2")]
    published.append_audit(entries[:2])
    published.append_audit(entries[2:])
    published.append_audit(entries[2:])  # a retried append changes nothing
    assert published.last_audit() == entries[2]
    assert published.audit_trail() == entries
    assert published.audit_trail("P1") == [entries[0], entries[2]]
    assert published.counts()["ABOUT"] == 3
    forged = AuditEntry(**{**entries[1].__dict__, "hash": "forged"})
    with pytest.raises(Conflict):
        published.append_audit([forged])
    assert published.audit_trail()[1].hash == "h2"


def test_audited_reads_the_chosen_actions_before_a_time(published: GraphStore):
    entries = [_audit(1, "P1", "genesis"), _audit(2, "P2", "h1"), _audit(3, "P1", "h2")]
    entries[1] = AuditEntry(**{**entries[1].__dict__, "action": "flag_raised"})
    published.append_audit(entries)
    # entry 2 is 2021-11-02 08:00 at +08:00, i.e. 00:00 UTC: before 00:30 UTC, not before 23:30 UTC the day before
    found = published.audited(["verdict", "flag_raised"], datetime(2021, 11, 2, 0, 30, tzinfo=UTC))
    assert found.column_names == ["seq", "action", "person_id", "subject", "after"]
    assert found.column("seq").to_pylist() == [1, 2]
    assert json.loads(found.column("after")[1].as_py()) == entries[1].after
    assert published.audited(["flag_raised"], datetime(2021, 11, 1, 23, 30, tzinfo=UTC)).num_rows == 0
    assert published.audited(["decision_applied"], datetime(2030, 1, 1, tzinfo=UTC)).num_rows == 0


def test_periods(published: GraphStore):
    periods = published.periods()
    assert periods.column_names == ["person_id", "status", "certified_until"]
    assert periods.to_pylist() == [
        {"person_id": "P1", "status": "certified", "certified_until": date(2022, 2, 28)},
        {"person_id": "P2", "status": "review", "certified_until": date(2021, 9, 30)},
        {"person_id": "P3", "status": "deceased", "certified_until": None},
    ]


def test_periods_before_a_round_are_the_previous_rounds(published: GraphStore):
    """A round run again after a fix must build on the round before it, not on its own earlier result."""
    first = published.periods().to_pylist()
    assert published.periods(before_round=ROUND).num_rows == 0  # nothing was published before it
    pensioners = _pensioners()
    until = pensioners.column("certified_until").to_pylist()
    next_round = RoundExport("2021-11", date(2021, 11, 30),
                             pensioners.set_column(16, "certified_until", pa.array([date(2022, 10, 31), *until[1:]])),
                             _identifiers(), _events(), _flags(), _citations())
    published.publish_round(next_round)
    assert published.periods().to_pylist()[0]["certified_until"] == date(2022, 10, 31)
    assert published.periods(before_round="2021-11").to_pylist() == first
    assert published.periods(before_round=ROUND) == published.periods()


def test_periods_before_a_round_keep_a_check_recorded_after_it(published: GraphStore):
    """A face check recorded live after the round was published is not undone when the round runs again."""
    p1 = published.person(person_id="P1")
    published.update_person(Person(**{**p1.__dict__, "method": "face", "certified_until": date(2022, 11, 5)}))
    assert published.periods(before_round=ROUND).to_pylist() == [
        {"person_id": "P1", "status": "certified", "certified_until": date(2022, 11, 5)}]
    published.publish_round(RoundExport("2021-11", date(2021, 11, 30), _pensioners(), _identifiers(), _events(),
                                        _flags(), _citations()))
    p2 = published.person(person_id="P2")
    published.update_person(Person(**{**p2.__dict__, "status": "certified", "method": "face",
                                      "certified_until": date(2022, 11, 20), "period_state": "valid"}))
    assert published.periods(before_round="2021-11").to_pylist() == [
        {"person_id": "P1", "status": "certified", "certified_until": date(2022, 2, 28)},  # the first round's
        {"person_id": "P2", "status": "certified", "certified_until": date(2022, 11, 20)},  # the live check's
        {"person_id": "P3", "status": "deceased", "certified_until": None},
    ]


def _round_with_states(round_id: str, as_of: date, states: list[str]) -> RoundExport:
    people = _pensioners()
    people = people.set_column(people.column_names.index("period_state"), "period_state", pa.array(states))
    return RoundExport(round_id, as_of, people, _identifiers(), _events(), _flags(), _citations())


HELD = ("suspended", "ended")


def test_held_periods_are_the_previous_rounds_with_where_each_run_began(published: GraphStore):
    """Payments held (suspended or ended) in the round before, and since which round: a run broken by a round in
    another state starts again; the round asked about and reviewers' later changes are not history."""
    assert published.held_periods(ROUND, AS_OF, HELD).num_rows == 0  # nothing before the first round
    published.publish_round(_round_with_states("2021-11", date(2021, 11, 30), ["suspended", "suspended", "ended"]))
    published.publish_round(_round_with_states("2021-12", date(2021, 12, 31), ["suspended", "valid", "ended"]))
    published.publish_round(_round_with_states("2022-01", date(2022, 1, 31), ["suspended", "suspended", "ended"]))
    p1 = published.person(person_id="P1")
    published.update_person(Person(**{**p1.__dict__, "period_state": "valid"}))  # not a round's verdict

    def held(round_id: str, as_of: date) -> list[tuple]:
        table = published.held_periods(round_id, as_of, HELD)
        assert table.column_names == ["person_id", "status", "period_state", "since"]
        return [tuple(row.values()) for row in table.to_pylist()]

    assert held("2022-02", date(2022, 2, 28)) == [
        ("P1", "certified", "suspended", date(2021, 11, 30)),
        ("P2", "review", "suspended", date(2022, 1, 31)),  # valid in 2021-12: a new run
        ("P3", "deceased", "ended", AS_OF),
    ]
    assert held("2022-01", date(2022, 1, 31)) == [  # run again: its own verdicts are not the previous round's
        ("P1", "certified", "suspended", date(2021, 11, 30)), ("P3", "deceased", "ended", AS_OF)]
    assert held("2021-11", date(2021, 11, 30)) == [("P3", "deceased", "ended", AS_OF)]  # P2 was overdue
    assert held("2021-12", date(2021, 12, 1)) == held("2021-12", date(2021, 12, 31))
    assert published.held_periods("2022-02", date(2022, 2, 28), ("ended",)).to_pylist() == [
        {"person_id": "P3", "status": "deceased", "period_state": "ended", "since": AS_OF}]


def test_the_explanation_is_read_back_with_the_verdict(published: GraphStore):
    for pid, explained in EXPLAINED.items():
        assert published.person(person_id=pid).explanation == explained
        assert published.person_evidence(person_id=pid)[0].explanation == explained
    assert published.person_evidence(id_number="110101194502020024")[0].explanation == EXPLAINED["P2"]
    # the next round's sentence replaces it; a round without one leaves none behind
    export = small_round()
    column = export.pensioners.column_names.index("explanation")
    later = pa.array(["carried: earlier period valid until 2022-02-28; P(alive)=0.9900", None, "ended"])
    published.publish_round(RoundExport("2021-11", date(2021, 11, 30), export.pensioners.set_column(
        column, "explanation", later), export.identifiers, export.events, export.flags, export.flag_citations))
    assert [published.person(person_id=pid).explanation for pid in ("P1", "P2", "P3")] == later.to_pylist()
    assert published.person_evidence(person_id="P1", limit=0)[0].explanation == later[0].as_py()


def test_update_person_replaces_the_verdict(published: GraphStore):
    p2 = published.person(person_id="P2")
    published.update_person(Person(**{**p2.__dict__, "status": "certified", "method": "face",
                                      "certified_until": date(2022, 10, 31), "period_state": "valid",
                                      "explanation": "face: check F-1 passed on 2021-10-31"}))
    again = published.person(person_id="P2")
    assert (again.status, again.method, again.certified_until, again.name, again.explanation) == (
        "certified", "face", date(2022, 10, 31), "李四", "face: check F-1 passed on 2021-10-31")
    with pytest.raises(NotFound):
        published.update_person(Person(person_id="nobody"))


def test_record_certification_is_idempotent(published: GraphStore):
    cert = ChannelCertification("P2", "face", datetime(2021, 11, 5, 9, 0), True, "F-77", "alipay")
    published.record_certification(cert, "2021-11")
    before = published.counts()
    published.record_certification(cert, "2021-11")
    assert published.counts() == before
    newest = published.evidence("P2")[0]
    assert (newest.source, newest.kind, newest.record_id, newest.occurred_at, newest.passed, newest.round_id,
            newest.method) == ("face", "face", "F-77", datetime(2021, 11, 5, 9, 0), True, "2021-11", "direct")
    with pytest.raises(NotFound):
        published.record_certification(ChannelCertification("nobody", "face", datetime(2021, 11, 5), True,
                                                             "F-78", "alipay"), "2021-11")


def test_a_broken_export_is_refused_and_writes_nothing(store: GraphStore):
    broken = small_round()
    broken = RoundExport(ROUND, AS_OF, broken.pensioners.drop_columns(["status"]), broken.identifiers,
                         broken.events, broken.flags, broken.flag_citations)
    with pytest.raises(InvalidInput, match="pensioners: missing column"):
        store.publish_round(broken)
    assert store.counts()["Pensioner"] == 0


def test_a_corrected_id_number_is_found_under_the_new_value(published: GraphStore):
    export = small_round()
    fixed = export.pensioners.set_column(1, "id_number", pa.array(["110101194001010099", None, "110101193803030036"]))
    published.publish_round(RoundExport(ROUND, AS_OF, fixed, export.identifiers, export.events, export.flags,
                                        export.flag_citations))
    assert published.person(id_number="110101194001010099").person_id == "P1"
    assert published.person(id_number="110101194001010012") is None
    assert published.person(person_id="P2").id_number is None


def test_a_second_round_updates_people_and_keeps_each_rounds_verdict(published: GraphStore):
    export = small_round()
    status = pa.array(["certified", "certified", "deceased"])
    people = export.pensioners.set_column(export.pensioners.column_names.index("status"), "status", status)
    published.publish_round(RoundExport("2021-11", date(2021, 11, 30), people, export.identifiers, export.events,
                                        export.flags, export.flag_citations))
    assert (published.person(person_id="P2").status, published.person(person_id="P2").round_id) == (
        "certified", "2021-11")
    counts = published.counts()
    assert (counts["Round"], counts["VERDICT"], counts["Pensioner"]) == (2, 6, 3)
    assert published.flags(FlagFilter(kind="shared_phone"))[0].round_id == "2021-11"


def test_a_record_id_stays_bound_to_its_pensioner(published: GraphStore):
    published.record_certification(ChannelCertification("P2", "face", datetime(2021, 11, 5, 9), True, "F-90",
                                                        "alipay"), "2021-11")
    before = published.counts()
    with pytest.raises(Conflict, match="F-90"):
        published.record_certification(ChannelCertification("P1", "face", datetime(2021, 11, 6, 9), True, "F-90",
                                                            "alipay"), "2021-11")
    assert published.counts() == before
    assert "F-90" not in [e.record_id for e in published.evidence("P1")]
    assert [e.occurred_at for e in published.evidence("P2") if e.record_id == "F-90"] == [datetime(2021, 11, 5, 9)]


def test_commit_audited_commits_the_change_with_its_entry_or_nothing(published: GraphStore):
    at = datetime(2021, 11, 2, 10, 0)
    published.append_audit([_audit(1, "P1", "genesis")])

    def clashing(head, flag):  # as if a concurrent append had taken seq 1 first: a different entry at seq 1
        return AuditEntry(**{**_audit(1, "P1", "genesis").__dict__, "hash": "another"})

    with pytest.raises(Conflict):
        published.commit_audited(AuditedChange(decision=Decision("F1", "escalate", "reviewer-7", "", at),
                                                person=Person(person_id="P1", status="review")), clashing)
    assert published.flag("F1").flag.status == "open"
    assert published.person(person_id="P1").status != "review"

    flag, entry = published.commit_audited(
        AuditedChange(decision=Decision("F1", "escalate", "reviewer-7", "", at)),
        lambda head, decided: _audit(head.seq + 1, "P1", head.hash))
    assert flag.status == "escalated" and published.flag("F1").flag.status == "escalated"
    assert published.last_audit() == entry and entry.seq == 2


def test_round_as_of(published: GraphStore):
    assert published.round_as_of(small_round().round_id) == small_round().as_of
    assert published.round_as_of("no-such-round") is None


def test_every_write_that_can_change_an_answer_moves_the_generation(published: GraphStore):
    """GraphStore.generation: the liveness answer cache (services/liveness/answers.py) is exact only if every
    write path that can change a person's answer moves it, and reads never do."""
    at = datetime(2021, 11, 2, 15, 30)
    seen = [published.generation()]
    assert seen[0] is not None
    published.person_evidence(person_id="P1")
    published.flags(FlagFilter())
    assert published.generation() == seen[0]
    writes = [
        lambda: published.record_certification(
            ChannelCertification("P2", "face", datetime(2021, 11, 5, 9, 0), True, "F-77", "alipay"), "2021-11"),
        lambda: published.update_person(Person(**{**published.person(person_id="P2").__dict__, "status": "certified"})),
        lambda: published.save_decision(Decision("F2", "escalate", "r1", "ask the county", at)),
        lambda: published.commit_audited(AuditedChange(decision=Decision("F2", "dismiss", "r2", "a couple", at)),
                                         lambda head, flag: _audit(1, "P1", "genesis")),
        lambda: published.publish_round(small_round()),
    ]
    for write in writes:
        write()
        seen.append(published.generation())
    assert len(set(seen)) == len(seen), seen


def _answers(store: GraphStore) -> dict[str, object]:
    """Every pensioner's GetLiveness read, by person_id and by ID number."""
    found: dict[str, object] = {}
    for person_id, id_number in (("P1", "110101194001010012"), ("P2", "110101194502020024"),
                                 ("P3", "110101193803030036")):
        found[person_id] = store.person_evidence(person_id=person_id, limit=200)
        found[id_number] = store.person_evidence(id_number=id_number, limit=200)
    return found


def test_changed_people_names_everyone_whose_answer_a_write_changed(published: GraphStore):
    """GraphStore.changed_people: an answer kept across a write is exact only if the write's pensioners are named
    (or the store says it cannot name them); the embedded store names just those a write touched."""
    at = datetime(2021, 11, 2, 15, 30)
    writes = {
        "certification": lambda: published.record_certification(
            ChannelCertification("P2", "face", datetime(2021, 11, 5, 9, 0), True, "F-77", "alipay"), "2021-11"),
        "verdict": lambda: published.update_person(
            Person(**{**published.person(person_id="P1").__dict__, "status": "review"})),
        "decision": lambda: published.save_decision(Decision("F2", "escalate", "r1", "ask the county", at)),
        "audited certification": lambda: published.commit_audited(
            AuditedChange(certification=ChannelCertification("P3", "in_person", datetime(2021, 11, 6), True, "I-1",
                                                             "county-7"), certification_round="2021-11"),
            lambda head, flag: _audit(1, "P3", "genesis")),
        "publish": lambda: published.publish_round(small_round(telecom_person="P3")),
    }
    named = {}
    start = published.generation()
    for name, write in writes.items():
        before, answers = published.generation(), _answers(published)
        write()
        after = published.generation()
        changed = published.changed_people(before, after)
        assert changed == published.changed_people(after, before)
        moved = {key for key, answer in _answers(published).items() if answer != answers[key]}
        if changed is not None:
            holders = {published.person(id_number=k).person_id if k.startswith("1") else k for k in moved}
            assert holders <= changed, name
        named[name] = changed
    if isinstance(published, EmbeddedStore):
        assert named == {"certification": {"P2"}, "verdict": {"P1"}, "decision": frozenset(),
                         "audited certification": {"P3"}, "publish": None}
        assert published.changed_people(start, start) == frozenset()
        assert published.changed_people(start, published.generation()) is None  # a publish among them


def test_changed_people_cannot_name_writes_it_no_longer_logs(tmp_path, monkeypatch: pytest.MonkeyPatch):
    from silentcert.graph import embedded

    monkeypatch.setattr(embedded, "CHANGES_KEPT", 3)
    store = EmbeddedStore(tmp_path / "graph.duckdb")
    store.publish_round(small_round())
    first = store.generation()
    for n in range(4):
        store.record_certification(ChannelCertification("P2", "face", datetime(2021, 11, 5), True, f"F-{n}", "a"),
                                   "2021-11")
    assert store.changed_people(first + 1, store.generation()) == {"P2"}  # the last three writes
    assert store.changed_people(first, store.generation()) is None  # the first certification's entry went
    assert store.changed_people("not", "ints") is None


def test_liveness_pages_list_every_pensioner_as_person_evidence_does(published: GraphStore):
    """GraphStore.liveness_pages, which warms the GetLiveness answers: the embedded store lists every pensioner
    in person_id order, each with what person_evidence answers and the ID number that answers with them; the
    Neo4j store lists none (its answers are read one by one)."""
    pages = list(published.liveness_pages(limit=2, page_size=2))
    if isinstance(published, Neo4jStore):
        assert pages == [] and not published.lists_liveness_pages
        return
    assert published.lists_liveness_pages
    assert [len(page) for _, page in pages] == [2, 1]
    assert all(generation == published.generation() for generation, _ in pages)
    entries = [entry for _, page in pages for entry in page]
    assert [e.person.person_id for e in entries] == ["P1", "P2", "P3"]
    for entry in entries:
        assert (entry.person, entry.evidence) == published.person_evidence(person_id=entry.person.person_id,
                                                                           limit=2)
        held = entry.person.id_number
        if entry.id_number is not None:
            assert entry.id_number == held
            assert published.person_evidence(id_number=held, limit=2)[0].person_id == entry.person.person_id
        else:
            assert held is None or published.person(id_number=held).person_id != entry.person.person_id


@pytest.mark.neo4j
def test_neo4j_generation_is_shared_by_drivers_and_never_repeats_after_a_clear(request: pytest.FixtureRequest):
    import neo4j

    from silentcert.graph.neo4j_local import LocalNeo4jSettings, bolt_settings

    first = Neo4jStore(_neo4j_driver(request), batch_size=2, retry_seconds=5)
    first.clear()
    first.apply_schema()
    first.publish_round(small_round())
    uri, user, password = ((os.environ["NEO4J_URI"], os.environ.get("NEO4J_USER", "neo4j"),
                            os.environ.get("NEO4J_PASSWORD", "")) if os.environ.get("NEO4J_URI")
                           else bolt_settings(LocalNeo4jSettings.from_env()))
    with neo4j.GraphDatabase.driver(uri, auth=(user, password)) as other_driver:  # as another process would
        other = Neo4jStore(other_driver, retry_seconds=5)
        before = first.generation()
        assert other.generation() == before
        other.record_certification(ChannelCertification("P1", "face", datetime(2021, 11, 5), True, "F-9", "a"),
                                   "2021-11")
        assert first.generation() != before
    published_once = first.generation()
    first.clear()
    first.publish_round(small_round())
    assert first.generation() != published_once  # the same count again, under a new epoch


def test_embedded_batched_lookups_answer_as_lone_ones(tmp_path):
    """The embedded store's shared query for concurrent GetLiveness calls (several keys) against its lone path."""
    store = EmbeddedStore(tmp_path / "graph.duckdb")
    store.publish_round(small_round())
    for kind, keys in (("person_id", ["P1", "P2", "P3", "nobody"]),
                       ("id_number", ["110101194001010012", "110101194502020024", "110101190001010011"])):
        for since, limit in ((None, None), (date(2021, 4, 2), 1), (None, 0)):
            batch = store._liveness_batch((kind, since, limit), keys)
            alone = {k: store.person_evidence(since=since, limit=limit, **{kind: k}) for k in keys}
            assert batch == {k: v for k, v in alone.items() if v is not None}
            assert len(batch) >= 2
    store.close()
