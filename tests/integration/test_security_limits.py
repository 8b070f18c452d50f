"""No caller can stall the server: idle health watches and liveness streams, unbounded lookups per stream and
concurrent rounds, tried on real ports — the stall from outside the process, against `silentcert serve`."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from silentcert.clients.grpc_client import ClientTls, SilentcertClient, open_channel
from silentcert.graph.embedded import EmbeddedStore
from silentcert.graph.errors import InvalidInput
from silentcert.liveness.v1 import liveness_pb2 as lv
from silentcert.resolver.v1 import resolver_pb2 as rs
from silentcert.services import serving
from silentcert.services.proto_values import timestamp
from silentcert.services.resolver.batch import RoundEvent, RoundOutcome
from silentcert.services.resolver.one_record import exact_id_resolver
from silentcert.services.security.limits import StreamLimits
from silentcert.services.security.rate_limit import RateLimit
from silentcert.services.security.round_paths import RoundRoots
from silentcert.services.security.settings import SecuritySettings
from silentcert.services.security.tls import TlsFiles
from tests.integration.test_security import ROUND_OUT, code_of, one_person_export, pki, tokens  # noqa: F401

REPO = Path(__file__).resolve().parents[2]
OK = grpc.StatusCode.OK
EXHAUSTED = grpc.StatusCode.RESOURCE_EXHAUSTED


def _tls(pki: Path) -> ClientTls:
    return ClientTls(ca=pki / "ca.pem")


@pytest.fixture
def served_process(pki, tokens, tmp_path):
    """`silentcert serve` in its own process, TLS and tokens, default workers and limits; yields its port."""
    graph_file = tmp_path / "graph.duckdb"
    with EmbeddedStore(graph_file) as s:
        s.publish_round(one_person_export())
    proc = subprocess.Popen(
        [sys.executable, "-m", "silentcert.clients.cli", "serve", "--store", str(graph_file), "--address", "127.0.0.1:0",
         "--tls-cert", str(pki / "server.pem"), "--tls-key", str(pki / "server-key.pem"),
         "--tokens", str(pki / "tokens.json"), "--access-log", str(tmp_path / "access.jsonl"), "--grace", "0"],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)})
    try:
        line = proc.stdout.readline()
        assert line.startswith("silentcert serving"), (line, proc.stderr.read() if proc.poll() is not None else "")
        yield int(line.rsplit(" ", 1)[1])
    finally:
        proc.terminate()
        try:
            proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()


def test_idle_health_watches_without_credentials_do_not_stall_the_server(served_process, pki, tokens):
    port = served_process
    anonymous = open_channel(f"127.0.0.1:{port}", tls=_tls(pki))
    watches = [health_pb2_grpc.HealthStub(anonymous).Watch(health_pb2.HealthCheckRequest(service=""), timeout=60)
               for _ in range(20)]  # more than the server's 16 workers; the client then sits idle on each
    try:
        time.sleep(1)
        with SilentcertClient(f"127.0.0.1:{port}", timeout=5, token=tokens["reader"], tls=_tls(pki)) as reader:
            started = time.monotonic()
            assert code_of(lambda: reader.get_liveness(person_id="P1")) is OK
            assert time.monotonic() - started < 5
        for watch in watches:
            assert next(watch).status == health_pb2.HealthCheckResponse.SERVING
    finally:
        for watch in watches:
            watch.cancel()
        anonymous.close()


def test_health_watches_beyond_the_bound_are_refused_not_queued(served_process, pki):
    anonymous = open_channel(f"127.0.0.1:{served_process}", tls=_tls(pki))
    stub = health_pb2_grpc.HealthStub(anonymous)
    watches = [stub.Watch(health_pb2.HealthCheckRequest(service=""), timeout=60) for _ in range(32)]
    try:
        for watch in watches:
            next(watch)
        with pytest.raises(grpc.RpcError) as caught:
            next(stub.Watch(health_pb2.HealthCheckRequest(service=""), timeout=5))
        assert caught.value.code() is EXHAUSTED
        watches.pop().cancel()
        time.sleep(0.5)
        assert next(stub.Watch(health_pb2.HealthCheckRequest(service=""), timeout=5)).status \
            == health_pb2.HealthCheckResponse.SERVING
    finally:
        for watch in watches:
            watch.cancel()
        anonymous.close()


def test_a_certifier_cannot_certify_into_the_future_from_outside(served_process, pki, tokens):
    with SilentcertClient(f"127.0.0.1:{served_process}", timeout=5, token=tokens["certifier"], tls=_tls(pki)) as c:
        request = lv.RecordCertificationRequest(person_id="P1", channel=lv.CERTIFICATION_CHANNEL_FACE, passed=True,
                                                record_id="K-2199", operator="certifier-1",
                                                occurred_at=timestamp(datetime(2199, 12, 31, tzinfo=UTC)))
        with pytest.raises(grpc.RpcError) as refused:
            c.liveness.RecordCertification(request, timeout=5)
        assert refused.value.code() is grpc.StatusCode.INVALID_ARGUMENT
        assert refused.value.details().startswith("occurred_at")
        assert c.get_liveness(person_id="P1").certified_until == "2022-09-01"


# --- in-process servers with small limits ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def store(tmp_path_factory):
    with EmbeddedStore(tmp_path_factory.mktemp("graph") / "graph.duckdb") as s:
        s.publish_round(one_person_export())
        yield s


def _start(store, pki, *, streams: StreamLimits = StreamLimits(), rate: RateLimit = RateLimit(10_000, 10_000),
           run_round=None, max_workers: int = 16) -> serving.Running:
    security = SecuritySettings(tls=TlsFiles(pki / "server.pem", pki / "server-key.pem"),
                                tokens=pki / "tokens.json", rate=rate, streams=streams)
    engines = serving.Engines(resolve_one=exact_id_resolver(store), run_round=run_round)
    return serving.start(serving.ServeSettings(address="127.0.0.1:0", grace_seconds=0, security=security,
                                               max_workers=max_workers, rounds=RoundRoots.of(ROUND_OUT)),
                         [store], engines)


def _client(running, pki, token) -> SilentcertClient:
    return SilentcertClient(f"127.0.0.1:{running.port}", timeout=10, token=token, tls=_tls(pki))


class IdleLookups:
    """A request iterator that sends `first` lookups, then waits (an idle stream) until released."""

    def __init__(self, first: int = 1):
        self.first = first
        self.release = threading.Event()

    def __iter__(self):
        for i in range(self.first):
            yield lv.StreamLivenessRequest(person_id="P1", tag=str(i))
        self.release.wait(30)


def _first(responses) -> str | grpc.StatusCode:
    """The tag of a stream's first answer, or the status code that ended it."""
    try:
        return next(responses).tag
    except grpc.RpcError as error:
        return error.code()


def _stream_code(responses) -> grpc.StatusCode:
    return code_of(lambda: list(responses))


def test_idle_liveness_streams_leave_threads_for_unary_calls(store, pki, tokens):
    running = _start(store, pki, streams=StreamLimits(max_streams=3, max_streams_per_caller=2), max_workers=4)
    idle = IdleLookups()
    opened = []
    try:
        callers = [tokens[r] for r in ("reader", "certifier", "reviewer", "batch", "admin")]
        clients = [_client(running, pki, t) for t in callers]
        for c in clients:
            opened.append(c.liveness.StreamLiveness(iter(idle), timeout=30))
        firsts = [_first(s) for s in opened]  # the server admits whichever three arrive first; they stay idle
        assert sorted(firsts, key=str) == sorted(["0", "0", "0", EXHAUSTED, EXHAUSTED], key=str)
        started = time.monotonic()
        assert clients[0].get_liveness(person_id="P1").person_id == "P1"
        assert time.monotonic() - started < 5
    finally:
        idle.release.set()
        for s in opened:
            s.cancel()
        running.server.stop(0).wait()


def test_one_caller_holds_at_most_its_share_of_streams(store, pki, tokens):
    running = _start(store, pki, streams=StreamLimits(max_streams=4, max_streams_per_caller=1), max_workers=8)
    idle = IdleLookups()
    try:
        with _client(running, pki, tokens["reader"]) as reader:
            first = reader.liveness.StreamLiveness(iter(idle), timeout=30)
            assert next(first).tag == "0"
            assert _stream_code(reader.liveness.StreamLiveness(iter(idle), timeout=30)) is EXHAUSTED
            idle.release.set()
            first.cancel()
    finally:
        idle.release.set()
        running.server.stop(0).wait()


def test_a_stream_ends_after_its_lookup_cap_and_its_lifetime(store, pki, tokens):
    running = _start(store, pki, streams=StreamLimits(max_lookups=5, max_seconds=1.0))
    try:
        with _client(running, pki, tokens["reader"]) as reader:
            many = (lv.StreamLivenessRequest(person_id="P1", tag=str(i)) for i in range(6))
            responses = reader.liveness.StreamLiveness(many, timeout=10)
            tags = []
            with pytest.raises(grpc.RpcError) as caught:
                for response in responses:
                    tags.append(response.tag)
            assert caught.value.code() is EXHAUSTED and tags == ["0", "1", "2", "3", "4"]
            assert "5 lookups" in caught.value.details()
            idle = IdleLookups()
            started = time.monotonic()
            assert _stream_code(reader.liveness.StreamLiveness(iter(idle), timeout=20)) is EXHAUSTED
            assert time.monotonic() - started < 5
            idle.release.set()
    finally:
        running.server.stop(0).wait()


def test_every_lookup_of_a_stream_counts_against_the_rate_limit(store, pki, tokens):
    running = _start(store, pki, rate=RateLimit(rate=0.1, burst=4))
    try:
        with _client(running, pki, tokens["reader"]) as reader:
            many = (lv.StreamLivenessRequest(person_id="P1", tag=str(i)) for i in range(10))
            tags = []
            with pytest.raises(grpc.RpcError) as caught:
                for response in reader.liveness.StreamLiveness(many, timeout=10):
                    tags.append(response.tag)
            assert caught.value.code() is EXHAUSTED and "rate limit" in caught.value.details()
            assert tags == ["0", "1", "2"]  # the stream itself took the first token of four
    finally:
        running.server.stop(0).wait()


def test_a_second_round_while_one_runs_is_refused(store, pki, tokens):
    running_round, release = threading.Event(), threading.Event()

    def slow_round(round_file, out_dir, emit):
        running_round.set()
        release.wait(30)
        emit(RoundEvent("ingest", 1, 1, "read"))
        return RoundOutcome("r-slow", out_dir, {})

    running = _start(store, pki, run_round=slow_round)
    try:
        with _client(running, pki, tokens["batch"]) as batch:
            request = rs.SubmitRoundRequest(round_file="r.toml", out_dir="out")
            first = batch.resolver.SubmitRound(request, timeout=30)
            results: list = []
            reader = threading.Thread(target=lambda: results.append(code_of(lambda: list(first))))
            reader.start()
            assert running_round.wait(10)
            second = code_of(lambda: list(batch.resolver.SubmitRound(request, timeout=10)))
            release.set()
            reader.join(30)
            assert second is EXHAUSTED and results == [OK]
            assert code_of(lambda: list(batch.resolver.SubmitRound(request, timeout=10))) is OK
    finally:
        release.set()
        running.server.stop(0).wait()


def test_stream_limits_must_leave_workers_for_unary_calls(store, pki):
    with pytest.raises(InvalidInput, match="max streams"):
        _start(store, pki, streams=StreamLimits(max_streams=16), max_workers=16)
