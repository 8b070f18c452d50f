"""The floor under GetLiveness: what Python gRPC alone needs per unary call on this machine, with TLS.

    python -m benchmarks.grpc_floor_bench [--servers sync,aio,aio-pool] [--seconds 15] [--client-processes 2]

A server process answers the standard health Check (an empty handler: no store, no token check, no access log)
over TLS with a development CA, either on grpc.server and its thread pool (``sync``), on ``grpc.aio`` with the
handler a coroutine (``aio``), or on ``grpc.aio`` with a plain handler, which grpc runs in its thread pool
(``aio-pool``: each call hops from the event loop to a worker thread and back, as a plain servicer would on
grpc.aio). Client processes (spawn) keep `--in-flight` calls each outstanding on their own channels (closed loop,
as fast as the server answers), with a token in the metadata as real callers send. Per server: calls/s,
server CPU per call, the clients' own CPU per call, and the load average (the machine may be shared). On one
machine the clients' CPU is taken from the server's: the saturation a real service can reach is below what this
prints, since every answer it gives costs more than an empty one.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import os
import resource
import subprocess
import sys
import tempfile
import time
from concurrent import futures
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from benchmarks.liveness_rpc_bench import free_port, process_cpu

TOKEN = ("authorization", "Bearer floor-bench-token-0123456789abcdef")


class _Health(health_pb2_grpc.HealthServicer):
    def Check(self, request, context):  # noqa: N802 (grpc's name)
        return health_pb2.HealthCheckResponse(status=health_pb2.HealthCheckResponse.SERVING)


class _AioHealth(health_pb2_grpc.HealthServicer):
    async def Check(self, request, context):  # noqa: N802 (grpc's name)
        return health_pb2.HealthCheckResponse(status=health_pb2.HealthCheckResponse.SERVING)


def _credentials(pki: Path) -> grpc.ServerCredentials:
    return grpc.ssl_server_credentials([((pki / "server-key.pem").read_bytes(), (pki / "server.pem").read_bytes())])


def serve(mode: str, port: int, pki: Path) -> None:
    """Run one server until killed (the child process)."""
    if mode == "sync":
        server = grpc.server(futures.ThreadPoolExecutor(max_workers=16))
        health_pb2_grpc.add_HealthServicer_to_server(_Health(), server)
        server.add_secure_port(f"127.0.0.1:{port}", _credentials(pki))
        server.start()
        print("ready", flush=True)
        server.wait_for_termination()
        return

    async def run() -> None:
        pooled = mode == "aio-pool"
        server = grpc.aio.server(futures.ThreadPoolExecutor(max_workers=16) if pooled else None)
        health_pb2_grpc.add_HealthServicer_to_server(_Health() if pooled else _AioHealth(), server)
        server.add_secure_port(f"127.0.0.1:{port}", _credentials(pki))
        await server.start()
        print("ready", flush=True)
        await server.wait_for_termination()

    asyncio.run(run())


def _client(port: int, ca: bytes, in_flight: int, channels: int, warmup: float, seconds: float,
            out: mp.Queue) -> None:
    async def run() -> tuple[int, float]:
        creds = grpc.ssl_channel_credentials(root_certificates=ca)
        opened = [grpc.aio.secure_channel(f"localhost:{port}", creds) for _ in range(channels)]
        stubs = [health_pb2_grpc.HealthStub(c) for c in opened]
        start = time.monotonic()
        measure_from, stop_at = start + warmup, start + warmup + seconds
        counted = 0
        cpu_at_start = 0.0

        async def worker(i: int) -> None:
            nonlocal counted
            stub = stubs[i % len(stubs)]
            request = health_pb2.HealthCheckRequest()
            while (now := time.monotonic()) < stop_at:
                await stub.Check(request, metadata=(TOKEN,), timeout=10)
                if now >= measure_from:
                    counted += 1

        async def mark_cpu() -> None:
            nonlocal cpu_at_start
            await asyncio.sleep(warmup)
            usage = resource.getrusage(resource.RUSAGE_SELF)
            cpu_at_start = usage.ru_utime + usage.ru_stime

        await asyncio.gather(mark_cpu(), *(worker(i) for i in range(in_flight)))
        usage = resource.getrusage(resource.RUSAGE_SELF)
        for c in opened:
            await c.close()
        return counted, usage.ru_utime + usage.ru_stime - cpu_at_start

    out.put(asyncio.run(run()))


def measure(mode: str, pki: Path, args: argparse.Namespace) -> dict[str, float]:
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "benchmarks.grpc_floor_bench", "--serve", mode,
                               "--port", str(port), "--pki", str(pki)], stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        if server.stdout.readline().strip() != "ready":
            raise SystemExit(f"the {mode} server did not start")
        ctx = mp.get_context("spawn")
        out: mp.Queue = ctx.Queue()
        clients = [ctx.Process(target=_client, args=(port, (pki / "ca.pem").read_bytes(), args.in_flight,
                                                     args.channels, args.warmup, args.seconds, out))
                   for _ in range(args.client_processes)]
        for c in clients:
            c.start()
        time.sleep(args.warmup + 1.0)  # spawned clients take about a second to import before their warm-up
        server_cpu = process_cpu(server.pid)
        time.sleep(args.seconds)
        server_cpu = process_cpu(server.pid) - server_cpu
        results = [out.get(timeout=args.seconds + 60) for _ in clients]
        for c in clients:
            c.join()
    finally:
        server.kill()
        server.wait()
    calls = sum(r[0] for r in results)
    return {"calls_per_s": calls / args.seconds, "server_cpu_ms": 1000 * server_cpu / max(calls, 1),
            "client_cpu_ms": 1000 * sum(r[1] for r in results) / max(calls, 1), "load": os.getloadavg()[0]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--servers", default="sync,aio", help="sync, aio and/or aio-pool (see above)")
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--client-processes", type=int, default=2)
    parser.add_argument("--channels", type=int, default=8, help="channels per client process")
    parser.add_argument("--in-flight", type=int, default=32, help="outstanding calls per client process")
    parser.add_argument("--serve", choices=("sync", "aio", "aio-pool"), help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--pki", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.port, args.pki)
        return
    from silentcert.services.security.tls import make_dev_ca

    print(f"{'server':<8} {'calls/s':>9} {'server CPU/call':>16} {'client CPU/call':>16} {'load':>5}")
    with tempfile.TemporaryDirectory(prefix="grpc-floor-") as tmp:
        pki = Path(tmp)
        make_dev_ca(pki)
        for mode in args.servers.split(","):
            r = measure(mode, pki, args)
            print(f"{mode:<8} {r['calls_per_s']:>9,.0f} {r['server_cpu_ms']:>13.3f} ms {r['client_cpu_ms']:>13.3f} ms "
                  f"{r['load']:>5.1f}")


if __name__ == "__main__":
    main()
