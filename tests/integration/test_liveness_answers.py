"""GetLiveness answers are reused (services/liveness/answers.py) and never outlive a write: after a recorded
certification, a reviewer's decision or a new round's publish, the next call answers anew, in every server
process. Real servers on real ports: one in-process over an embedded store, and `silentcert serve --processes 2`
over the local Neo4j, written to by another process."""

from __future__ import annotations

import dataclasses
import os
import socket
import subprocess
import sys
from datetime import UTC, date, datetime
from pathlib import Path

import grpc
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from silentcert.clients.grpc_client import SilentcertClient
from silentcert.deathcheck.v1 import deathcheck_pb2 as dc
from silentcert.graph.embedded import EmbeddedStore
from silentcert.graph.model import ChannelCertification
from silentcert.graph.neo4j_local import bolt_settings
from silentcert.graph.neo4j_store import Neo4jStore
from silentcert.graph.store import RoundExport
from silentcert.liveness.v1 import liveness_pb2 as lv
from silentcert.services import serving
from silentcert.services.liveness.servicer import LivenessServicer
from silentcert.services.security.settings import SecuritySettings
from tests.integration.test_servers import ID_1, ID_2, sample_export

REPO = Path(__file__).resolve().parents[2]
CHECK = dict(person_id="P1", channel=lv.CERTIFICATION_CHANNEL_FACE,
             occurred_at=datetime(2021, 11, 20, 9, 0, tzinfo=UTC), passed=True, record_id="K-77",
             operator="kiosk-12")


def first_round() -> RoundExport:
    """The sample round, where flag F2 on P1 (certified) is an activity-after-death flag: confirming it ends P1's
    period (services/deathcheck/effects.py)."""
    export = sample_export()
    flags = export.flags
    kind = pc.if_else(pc.equal(flags.column("flag_id"), "F2"), pa.scalar("activity_after_death"), flags.column("kind"))
    return dataclasses.replace(export, flags=flags.set_column(flags.schema.get_field_index("kind"), "kind", kind))


def next_round() -> RoundExport:
    """The first round published again as round 2021-11, where P1 is no longer certified."""
    export = first_round()
    people = export.pensioners
    is_p1 = pc.equal(people.column("person_id"), "P1")
    status = pc.if_else(is_p1, pa.scalar("uncertified"), people.column("status"))
    people = people.set_column(people.schema.get_field_index("status"), "status", status)
    return dataclasses.replace(export, round_id="2021-11", as_of=date(2021, 11, 30), pensioners=people)


@pytest.fixture
def served(tmp_path):
    store = EmbeddedStore(tmp_path / "graph.duckdb")
    store.publish_round(first_round())
    settings = serving.ServeSettings(address="127.0.0.1:0", grace_seconds=1.0, services=("liveness", "deathcheck"),
                                     security=SecuritySettings(insecure_dev=True))
    running = serving.start(settings, [store])
    with SilentcertClient(f"127.0.0.1:{running.port}", timeout=10) as client:
        yield store, client
    running.server.stop(0).wait()
    store.close()


def _kept(client: SilentcertClient, **lookup: str):
    """The answer, asked twice: the second comes from the cache."""
    first = client.get_liveness(**lookup)
    assert client.get_liveness(**lookup) == first
    return first


def test_a_recorded_certification_shows_in_the_next_answer(served):
    _, client = served
    before = _kept(client, person_id="P1")
    client.record_certification(**CHECK)
    after = client.get_liveness(person_id="P1")
    assert "K-77" not in [e.record_id for e in before.evidence] and before.certified_until == "2022-09-01"
    assert after.evidence[0].record_id == "K-77" and after.certified_until == "2022-11-20"


def test_a_reviewers_decision_shows_in_the_next_answer(served):
    store, client = served
    before = _kept(client, id_number=ID_1)
    client.decide_flag("F2", dc.DECISION_ACTION_CONFIRM, reviewer="rev-1", note="death confirmed")
    after = client.get_liveness(id_number=ID_1)
    assert (before.status, after.status) == (lv.LIVENESS_STATUS_CERTIFIED, lv.LIVENESS_STATUS_DECEASED)
    assert store.person(person_id="P1").status == "deceased"


def test_a_new_rounds_publish_shows_in_the_next_answer(served):
    store, client = served
    before = _kept(client, id_number=ID_1)
    assert _kept(client, person_id="P1") == before
    store.publish_round(next_round())  # as SubmitRound does, through the served store
    assert client.get_liveness(id_number=ID_1).status == lv.LIVENESS_STATUS_UNCERTIFIED
    assert client.get_liveness(person_id="P1").round_id == "2021-11" != before.round_id


def test_two_processes_over_neo4j_answer_anew_after_writes_from_anywhere(tmp_path, neo4j_driver, neo4j_settings):
    store = Neo4jStore(neo4j_driver, retry_seconds=5)
    store.clear()  # the test server's database is this test's alone
    store.apply_schema()
    store.publish_round(first_round())
    port = _free_port()
    uri, user, password = bolt_settings(neo4j_settings)
    proc = subprocess.Popen([sys.executable, "-m", "silentcert.clients.cli", "serve", "--service", "liveness", "--service",
                             "deathcheck", "--neo4j", uri, "--address", f"127.0.0.1:{port}", "--processes", "2",
                             "--grace", "1", "--insecure-dev", "--access-log", str(tmp_path / "access.jsonl")],
                            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(REPO), "NEO4J_USER": user, "NEO4J_PASSWORD": password,
                                 "SILENTCERT_AUDIT_KEY_FILE": str(tmp_path / "audit.key")})
    # a connection each (a distinct option stops grpc sharing one); the kernel spreads them over the processes
    clients = [SilentcertClient(f"127.0.0.1:{port}", timeout=10, channel=grpc.insecure_channel(
        f"127.0.0.1:{port}", options=[("silentcert.test.connection", i)])) for i in range(12)]
    try:
        line = proc.stdout.readline()
        assert line.strip().endswith("(2 processes)"), (line, proc.poll())
        assert {_kept(c, person_id="P1").certified_until for c in clients} == {"2022-09-01"}
        assert len(_serving_pids(port)) == 2  # both processes hold connections (all 12 in one: p = 2 ** -11)
        clients[0].record_certification(**CHECK)  # in one of the processes
        assert {_kept(c, person_id="P1").certified_until for c in clients} == {"2022-11-20"}
        clients[1].decide_flag("F2", dc.DECISION_ACTION_CONFIRM, reviewer="rev-1", note="death confirmed")
        assert {_kept(c, person_id="P1").status for c in clients} == {lv.LIVENESS_STATUS_DECEASED}
        store.publish_round(next_round())  # from this process, not the server's
        assert {c.get_liveness(person_id="P1").round_id for c in clients} == {"2021-11"}
    finally:
        for client in clients:
            client.close()
        proc.terminate()
        proc.communicate(timeout=60)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _serving_pids(port: int) -> set[int]:
    """Pids of the processes holding the server side of established connections on the port."""
    out = subprocess.run(["ss", "-tnpH", "state", "established", f"sport = :{port}"], capture_output=True,
                         text=True).stdout
    return {int(part.split(",")[0]) for part in out.split("pid=")[1:]}


def test_warmed_answers_are_the_stores_and_a_write_drops_only_its_pensioners(tmp_path):
    """Warming reads every pensioner's answer, by person_id and by ID number, as a call would; a certification
    then drops P1's answers alone, and a publish drops them all and warms them again."""
    store = EmbeddedStore(tmp_path / "graph.duckdb")
    store.publish_round(first_round())
    warmed = LivenessServicer(store, warm=True)
    assert warmed.warm_answers() == 2 and len(warmed.answers) == 4
    cold = LivenessServicer(store, answers_kept=0)
    lookups = [lv.GetLivenessRequest(person_id="P1"), lv.GetLivenessRequest(person_id="P2"),
               lv.GetLivenessRequest(id_number=ID_1), lv.GetLivenessRequest(id_number=ID_2)]
    assert [warmed.GetLiveness(r, None) for r in lookups] == [cold.GetLiveness(r, None) for r in lookups]
    assert (warmed.answers.hits, warmed.answers.misses) == (4, 0)

    store.record_certification(_check(), "2021-10")
    assert len(warmed.answers) == 4  # until a call reads the moved generation
    assert warmed.GetLiveness(lookups[1], None) == cold.GetLiveness(lookups[1], None)
    assert warmed.answers.hits == 5 and len(warmed.answers) == 2 and not warmed.answers.holds(("P1", None, None))
    assert warmed.GetLiveness(lookups[0], None).liveness.evidence[0].record_id == "K-77"

    store.publish_round(next_round())
    assert warmed.GetLiveness(lookups[1], None).liveness.round_id == "2021-11"  # dropped them all, and starts warming
    warmed.warmer.join(30)
    assert len(warmed.answers) == 4
    assert [warmed.GetLiveness(r, None) for r in lookups] == [cold.GetLiveness(r, None) for r in lookups]
    store.close()


def _check() -> ChannelCertification:
    return ChannelCertification(person_id="P1", channel="face", occurred_at=datetime(2021, 11, 20, 9, 0),
                                passed=True, record_id="K-77", operator="kiosk-12")


def test_a_store_that_lists_no_pages_is_not_warmed(tmp_path):
    """Where every write drops every answer (Neo4j), warming would read the province again after each one."""
    store = EmbeddedStore(tmp_path / "graph.duckdb")
    store.publish_round(first_round())
    store.lists_liveness_pages = False  # as Neo4jStore
    servicer = LivenessServicer(store, warm=True)
    servicer.start_warming()
    assert not servicer.warms and servicer.warmer is None and servicer.warm_answers() == 0
    assert len(servicer.answers) == 0
    assert not LivenessServicer(EmbeddedStore(":memory:"), warm=True, answers_kept=0).warms
    store.close()
