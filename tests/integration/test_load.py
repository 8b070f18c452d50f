"""A bounded load test: 50 concurrent GetLiveness callers for about 5 seconds over TLS with bearer tokens, against
the embedded store and against the local Neo4j. Zero errors are asserted; throughput and latency percentiles are
printed (`pytest -s`), not asserted: timing targets belong in benchmarks/, not in tests."""

from __future__ import annotations

import random
import threading
import time
from datetime import date, datetime
from pathlib import Path

import pyarrow as pa
import pytest

from silentcert.clients.grpc_client import ClientTls, SilentcertClient
from silentcert.graph.embedded import EmbeddedStore
from silentcert.graph.exports import schema
from silentcert.graph.store import RoundExport
from silentcert.services import serving
from silentcert.services.resolver.id_numbers import check_digit
from silentcert.services.security.rate_limit import RateLimit
from silentcert.services.security.settings import SecuritySettings
from silentcert.services.security.tls import TlsFiles, make_dev_ca
from silentcert.services.security.tokens import issue_token

CALLERS = 50
SECONDS = 5.0
PEOPLE = 300


def _table(name: str, rows: list[dict]) -> pa.Table:
    return pa.Table.from_pylist([{c: r.get(c) for c in schema(name).names} for r in rows], schema=schema(name))


def _id(n: int) -> str:
    first17 = f"360102194{n % 10}{(n % 12) + 1:02d}{(n % 28) + 1:02d}{n % 1000:03d}"
    return first17 + check_digit(first17)


def many_people() -> RoundExport:
    """PEOPLE pensioners with two strong records each."""
    people = [dict(person_id=f"P{n}", id_number=_id(n), name=f"名{n}", status="certified", method="strong",
                   certified_until=date(2022, 9, 1), period_state="valid", probability=0.99) for n in range(PEOPLE)]
    events = [dict(key=f"bus/B{n}-{k}", source="bus", kind="strong", record_id=f"B{n}-{k}",
                   occurred_at=datetime(2021, 8, 1 + k), person_id=f"P{n}", match_probability=0.99,
                   method="deterministic") for n in range(PEOPLE) for k in range(2)]
    identifiers = [dict(person_id=p["person_id"], kind="id_number", value=p["id_number"], shared=False)
                   for p in people]
    return RoundExport("2021-10", date(2021, 10, 31), _table("pensioners", people), _table("identifiers", identifiers),
                       _table("events", events), _table("flags", []), _table("flag_citations", []))


@pytest.fixture(params=["embedded", pytest.param("neo4j", marks=pytest.mark.neo4j)])
def store(request, tmp_path):
    if request.param == "embedded":
        the_store = EmbeddedStore(tmp_path / "graph.duckdb")
    else:
        from silentcert.graph.neo4j_store import Neo4jStore
        the_store = Neo4jStore(request.getfixturevalue("neo4j_driver"), retry_seconds=5)
        the_store.clear()  # the test server's database is this test's alone
    the_store.apply_schema()
    the_store.publish_round(many_people())
    yield the_store
    the_store.close()


def _caller(target: str, tls: ClientTls, token: str, stop: threading.Event, latencies: list[float],
            errors: list[str], seed: int) -> None:
    rng = random.Random(seed)
    with SilentcertClient(target, timeout=10, token=token, tls=tls) as client:
        while not stop.is_set():
            n = rng.randrange(PEOPLE)
            started = time.perf_counter()
            try:
                reply = client.get_liveness(person_id=f"P{n}") if n % 2 else client.get_liveness(id_number=_id(n))
                assert reply.person_id == f"P{n}" and len(reply.evidence) == 2
            except Exception as error:  # noqa: BLE001 — every failure is counted and reported
                errors.append(f"{type(error).__name__}: {error}")
            latencies.append(time.perf_counter() - started)


def test_fifty_concurrent_liveness_callers_get_no_errors(store, tmp_path):
    make_dev_ca(tmp_path / "pki")
    pki, tokens = tmp_path / "pki", tmp_path / "tokens.json"
    caller_tokens = [issue_token(tokens, role="reader", name=f"desk-{i}") for i in range(CALLERS)]
    security = SecuritySettings(tls=TlsFiles(pki / "server.pem", pki / "server-key.pem"), tokens=tokens,
                                access_log=tmp_path / "access.jsonl",
                                id_lookups=RateLimit(1e9, 1e9))  # each desk here looks up far beyond a person's pace
    running = serving.start(serving.ServeSettings(address="127.0.0.1:0", grace_seconds=0, security=security),
                            [store])
    stop, latencies, errors = threading.Event(), [], []
    threads = [threading.Thread(target=_caller, args=(f"127.0.0.1:{running.port}", ClientTls(pki / "ca.pem"),
                                                      caller_tokens[i], stop, latencies, errors, i))
               for i in range(CALLERS)]
    try:
        for thread in threads:
            thread.start()
        time.sleep(SECONDS)
        stop.set()
        for thread in threads:
            thread.join(30)
    finally:
        running.server.stop(0).wait()
        running.security.close()
    _report(type(store).__name__, latencies, errors)
    assert not errors, errors[:5]
    assert len(latencies) >= CALLERS
    lines = Path(tmp_path / "access.jsonl").read_text().splitlines()
    reads = [line for line in lines if '"lookup"' not in line]
    assert len(reads) == len(latencies)  # every read is in the access log
    assert 0 < len(lines) - len(reads) <= len(latencies)  # and every lookup by ID number, found or not


def _report(store_name: str, latencies: list[float], errors: list[str]) -> None:
    ordered = sorted(latencies)
    pick = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000  # noqa: E731
    print(f"\nload {store_name}: {CALLERS} callers x {SECONDS:.0f}s over TLS: {len(ordered)} calls "
          f"({len(ordered) / SECONDS:.0f}/s), errors {len(errors)}, "
          f"p50 {pick(0.50):.1f} ms, p95 {pick(0.95):.1f} ms, p99 {pick(0.99):.1f} ms, max {ordered[-1] * 1000:.1f} ms")
