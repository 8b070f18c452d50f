"""Readers during a Neo4j publish: GetLiveness from a real gRPC server, in a loop while the next round publishes,
answers each person wholly as the previous round left them or wholly as the new round does, never a mix
(graph/neo4j_publish.py); and the publish writes only what changed."""

from __future__ import annotations

import random
import threading
from datetime import date, datetime, timedelta

import pyarrow as pa
import pytest

from silentcert.clients.grpc_client import SilentcertClient
from silentcert.graph import neo4j_publish
from silentcert.graph.errors import NotFound
from silentcert.graph.exports import schema
from silentcert.graph.neo4j_store import Neo4jStore
from silentcert.graph.store import RoundExport
from silentcert.services import serving
from silentcert.services.security.round_paths import RoundRoots
from silentcert.services.security.settings import SecuritySettings

PEOPLE = 240
NEWCOMERS = 30  # pensioners only the second round has


def _table(name: str, rows: list[dict]) -> pa.Table:
    columns = schema(name).names
    return pa.Table.from_pylist([{c: r.get(c) for c in columns} for r in rows], schema=schema(name))


def _id_number(i: int) -> str:
    return f"36010219{40 + i % 30:02d}0101{i:04d}"[:18]


def _round(second: bool) -> RoundExport:
    """PEOPLE pensioners with three records each. The second round: every verdict changes, each person gets two new
    records, every tenth person's oldest record moves to the next person, and NEWCOMERS join."""
    round_id, as_of = ("2021-11", date(2021, 11, 30)) if second else ("2021-10", date(2021, 10, 31))
    count = PEOPLE + (NEWCOMERS if second else 0)
    pensioners, identifiers, events = [], [], []
    for i in range(count):
        pid = f"P{i:04d}"
        pensioners.append(dict(
            person_id=pid, id_number=_id_number(i), name=f"甲{i}", sex="M", birth_date=date(1945, 1, 1),
            county_code="360102", monthly_pension=2000.0, status="certified", method="strong",
            source="vaccination", evidence_at=as_of, probability=0.9 + (0.05 if second else 0),
            certified_until=as_of + timedelta(days=365), period_state="valid",
            explanation=f"{round_id}: seen on {as_of}"))
        identifiers.append(dict(person_id=pid, kind="id_number", value=_id_number(i), shared=False,
                                origin="registry"))
        if i >= PEOPLE:
            continue
        for k in range(3):
            owner = f"P{i + 1:04d}" if second and k == 0 and i % 10 == 0 else pid
            events.append(_record(f"R{i:04d}-{k}", datetime(2021, 1 + k, 1 + i % 28), owner))
    if second:
        for i in range(count):
            for k in (3, 4):
                events.append(_record(f"R{i:04d}-{k}", datetime(2021, 11, 1 + k, i % 24), f"P{i:04d}"))
    return RoundExport(round_id, as_of, _table("pensioners", pensioners), _table("identifiers", identifiers),
                       _table("events", events), _table("flags", []), _table("flag_citations", []))


def _record(record_id: str, at: datetime, person_id: str) -> dict:
    return dict(key=f"bus/{record_id}", source="bus", kind="weak", record_id=record_id, occurred_at=at,
                person_id=person_id, match_probability=0.95, method="identifier")


def _states(export: RoundExport) -> dict[str, tuple[str, frozenset[str]]]:
    """Per person: (the round of the verdict, the records resolved to them) as GetLiveness should answer."""
    records: dict[str, set[str]] = {}
    for row in export.events.to_pylist():
        records.setdefault(row["person_id"], set()).add(row["record_id"])
    return {pid: (export.round_id, frozenset(records.get(pid, ())))
            for pid in export.pensioners.column("person_id").to_pylist()}


def _answer(client: SilentcertClient, person_id: str) -> tuple[str, frozenset[str]] | None:
    try:
        found = client.get_liveness(person_id=person_id)
    except NotFound:
        return None
    return found.round_id, frozenset(e.record_id for e in found.evidence)


@pytest.fixture
def store(neo4j_driver):
    the_store = Neo4jStore(neo4j_driver, batch_size=20, retry_seconds=5)
    the_store.clear()
    the_store.apply_schema()
    yield the_store
    the_store.close()


def test_get_liveness_during_a_publish_sees_each_person_wholly_old_or_wholly_new(store, tmp_path):
    first, second = _round(False), _round(True)
    store.publish_round(first)
    old, new = _states(first), _states(second)
    assert any(old[p] != new[p] and old[p][1] - new[p][1] for p in old)  # records move away, not only arrive
    settings = serving.ServeSettings(address="127.0.0.1:0", grace_seconds=2.0, rounds=RoundRoots.of(tmp_path),
                                     security=SecuritySettings(insecure_dev=True))
    running = serving.start(settings, [store], serving.Engines())
    publishing = threading.Thread(target=store.publish_round, args=(second,))
    seen: dict[str, int] = {"old": 0, "new": 0, "unknown newcomer": 0}
    mixed: list[tuple[str, object]] = []
    people = sorted(new)
    rng = random.Random(5)
    try:
        with SilentcertClient(f"127.0.0.1:{running.port}", timeout=10) as client:
            publishing.start()
            while publishing.is_alive():
                pid = rng.choice(people)
                answer = _answer(client, pid)
                if answer is None and pid not in old:
                    seen["unknown newcomer"] += 1
                elif answer == new[pid]:
                    seen["new"] += 1
                elif pid in old and answer == old[pid]:
                    seen["old"] += 1
                else:
                    mixed.append((pid, answer))
            publishing.join()
            after = {pid: _answer(client, pid) for pid in people}
    finally:
        running.server.stop(0).wait()
    assert not mixed, f"{len(mixed)} answers mixed the two rounds, e.g. {mixed[:3]}"
    assert seen["old"] and seen["new"], f"the loop did not overlap the publish: {seen}"
    assert after == new


def test_a_second_publish_sends_only_what_changed(store):
    first, second = _round(False), _round(True)
    store.publish_round(first)
    store.publish_round(first)
    assert store.last_publish.rows_sent == 0  # the same round again: nothing differs
    store.publish_round(second)
    sent = store.last_publish.sent
    moved = PEOPLE // 10
    assert sent["new_events"] == 2 * (PEOPLE + NEWCOMERS)
    assert sent["changed_events"] == moved
    assert sent["pensioners"] == PEOPLE + NEWCOMERS  # a new round: every verdict and VERDICT edge
    assert "identifiers_id_number" in sent and sent["identifiers_id_number"] == NEWCOMERS
    counts = store.counts()
    assert counts["RESOLVED_TO"] == 3 * PEOPLE + 2 * (PEOPLE + NEWCOMERS)  # the moved links' old edges are gone
    assert counts["VERDICT"] == 2 * PEOPLE + NEWCOMERS


def test_the_graph_state_is_read_back_page_by_page(store, monkeypatch):
    """Pages of 7 keys (each starting at the last key of the one before): no key lost or read twice, so publishing
    the same rounds again sends nothing."""
    monkeypatch.setattr(neo4j_publish, "_STATE_CHUNK", 7)
    first, second = _round(False), _round(True)
    store.publish_round(first)
    store.publish_round(second)
    store.publish_round(second)
    assert store.last_publish.rows_sent == 0
