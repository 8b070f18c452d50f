"""The open-loop GetLiveness bench (benchmarks/liveness_slo_bench.py) against a real server: a few seconds at a low
rate, the report's shape, and latency counted from the scheduled send (a stalled server shows in every call
scheduled during the stall, not only in the few calls that were in flight)."""

from __future__ import annotations

import asyncio
import os
import signal
import threading
import time
from pathlib import Path

import grpc

from benchmarks import liveness_slo_bench as bench
from silentcert.liveness.v1 import liveness_pb2 as pb

SMALL = ["--pensioners", "300", "--people", "100", "--connections", "2", "--client-processes", "1",
         "--warmup", "1"]


def test_a_short_run_reports_every_rate(tmp_path):
    results = bench.main([*SMALL, "--rates", "20,40", "--seconds", "3", "--work", str(tmp_path),
                          "--json", str(tmp_path / "out.jsonl")])
    assert [r["offered_per_s"] for r in results] == [20.0, 40.0]
    for r in results:
        assert r["errors"] == {} and r["store"] == "embedded"
        assert 0.4 * r["offered_per_s"] <= r["achieved_per_s"] <= 1.8 * r["offered_per_s"], r
        assert r["calls"] == round(r["scheduled_per_s"] * r["seconds"])
        assert 0 < r["p50_ms"] <= r["p90_ms"] <= r["p99_ms"] <= r["max_ms"]
        assert r["server_cpu_ms_per_call"] > 0 and r["neo4j_cpu_s"] == 0
        assert r["server_cpu_ms_per_answer"] == r["server_cpu_ms_per_call"]  # no call refused
        assert 0 < r["client_cpu_ms_per_call"] < 1000  # the measured window's, not the client's start-up
    assert len((tmp_path / "out.jsonl").read_text().splitlines()) == 2


def test_latency_counts_from_the_scheduled_send(tmp_path):
    args = bench.parse_args([*SMALL, "--rates", "50", "--seconds", "3", "--work", str(tmp_path)])
    store_flags, people, env = bench.prepare_store(args, tmp_path)
    flags, ca, tokens = bench.credentials(tmp_path, args.connections)
    port = bench.free_port()
    server = bench.start_server(port, [*store_flags, *flags], env, tmp_path, None)
    try:
        # a call whose time came half a second ago counts that half second
        late = asyncio.run(_one_late_call(f"127.0.0.1:{port}", ca, tokens[0], people[0][0], late_s=0.5))
        assert late.latencies_ms[0] >= 500 and late.send_lag_ms[0] >= 500 and not late.errors
        # the server stopped for a second inside the measured window: every call scheduled meanwhile waits
        measured: list[dict] = []
        runner = threading.Thread(target=lambda: measured.append(bench.run_rate(
            50.0, args, f"127.0.0.1:{port}", ca, tokens, people, server.pid, None)))
        runner.start()
        _wait_for_calls(tmp_path / "access.jsonl", before=1)  # the client processes started sending
        time.sleep(args.warmup + 1.0)
        os.kill(server.pid, signal.SIGSTOP)
        time.sleep(1.0)
        os.kill(server.pid, signal.SIGCONT)
        runner.join(60)
    finally:
        server.terminate()
        server.wait(30)
    result = measured[0]
    # a third of the calls were scheduled in the stopped second, waiting up to a second: measured from their
    # send on a closed loop, only the 2 connections' calls in flight would have been slow
    assert result["p90_ms"] >= 300 and result["max_ms"] >= 800 and result["errors"] == {}, result


def _wait_for_calls(access_log: Path, before: int, timeout_s: float = 60.0) -> None:
    """Until the access log holds more than `before` lines: calls are arriving."""
    give_up = time.monotonic() + timeout_s
    while time.monotonic() < give_up:
        if access_log.exists() and len(access_log.read_text().splitlines()) > before:
            return
        time.sleep(0.05)
    raise AssertionError(f"no calls reached the server in {timeout_s:g} s")


async def _one_late_call(target: str, ca: str, token: str, person_id: str, late_s: float) -> bench.Tally:
    credentials = grpc.ssl_channel_credentials(root_certificates=Path(ca).read_bytes())
    async with grpc.aio.secure_channel(target, credentials) as channel:
        call = channel.unary_unary(bench.LIVENESS, request_serializer=pb.GetLivenessRequest.SerializeToString,
                                   response_deserializer=pb.GetLivenessResponse.FromString)
        tally = bench.Tally()
        due = time.perf_counter() - late_s
        await bench._one(call, pb.GetLivenessRequest(person_id=person_id), (("authorization", f"Bearer {token}"),),
                         person_id, due, (due - 1, due + 1), tally)
        return tally


def test_cpu_an_answer_leaves_refused_calls_out():
    """Past saturation most calls are refused cheaply: CPU a call would understate what an answer costs."""
    tally = {"latencies_ms": [1.0, 2.0, 3.0, 4.0], "send_lag_ms": [0.0] * 4, "errors": {"RESOURCE_EXHAUSTED": 2},
             "scheduled": 4, "answered_in_window": 2, "cpu_seconds": 0.002}
    result = bench.summarise(4.0, 1.0, [tally], (0.004, 0.0), (1.0, 1.0, 1.0), (1.0, 1.0, 1.0))
    assert (result["server_cpu_ms_per_call"], result["server_cpu_ms_per_answer"]) == (1.0, 2.0)
    assert result["client_cpu_ms_per_call"] == 0.5
    assert "(2.0 an answer)" in bench.report(result)
