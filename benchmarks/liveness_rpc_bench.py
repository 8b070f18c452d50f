"""Single-person GetLiveness against Neo4j, measured the way a deployment sees it (issue 4: p50 ≤ 5 ms,
p99 ≤ 25 ms, ≥ 1,000 calls/s with 50 concurrent clients on this 2-core machine).

The server is `silentcert serve --service liveness --neo4j URI` in a process of its own, on a real port; the 50
callers run in other processes (grpc.aio, `--client-processes` of them, each caller with its own channel and, over
TLS, its own bearer token). Callers ask for random pensioners of a published round, half by person_id and half by
ID number, back to back for `--seconds` after `--warmup` seconds; every answer is checked (the person asked for)
and every failure is counted by status code. With `--rate R` the callers are paced to offer R calls/s
together (open loop) and a latency counts from when the call was due: the figure to read beside a throughput
target, because back to back (the default, closed loop) p50 is about callers / throughput by Little's law.
Server, client and Neo4j CPU seconds and the load average are printed beside the figures: the machine is shared.

    export NEO4J_USER=neo4j NEO4J_PASSWORD=...
    python -m benchmarks.liveness_rpc_bench --neo4j bolt://127.0.0.1:27687 --registry ROUND/registry.csv \\
        --verdicts OUT/verdicts.csv --mode insecure --mode tls

`--mode insecure` is `--insecure-dev` (plaintext, no authentication, access log still written, the one dev
caller's rate limit lifted);
`--mode tls` is TLS with one bearer token per caller, the rate limit and the access log: the production path.
`--server-arg` passes further flags to `silentcert serve` (e.g. `--server-arg=--processes=2`).
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import multiprocessing as mp
import os
import random
import resource
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

import grpc
import numpy as np

from silentcert.services.resolver.id_numbers import check_digit

LIVENESS = "/silentcert.liveness.v1.LivenessService/GetLiveness"


@dataclass(frozen=True)
class Load:
    target: str
    seconds: float
    warmup: float
    callers: int
    ca: str | None = None
    tokens: tuple[str, ...] = ()
    rate: float | None = None  # calls/s offered by all callers together (paced); None: back to back


@dataclass
class Outcome:
    latencies_ms: list[float] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)
    cpu_seconds: float = 0.0


# -- the people asked for --------------------------------------------------------------------------------------

def sample_people(registry: Path, verdicts: Path, n: int, seed: int) -> list[tuple[str, str]]:
    """(person_id, ID number) of `n` random published pensioners whose registry ID number is well formed."""
    published = {row["person_id"] for row in _rows(verdicts)}
    people = [(r["person_id"], r["id_number"]) for r in _rows(registry)
              if r["person_id"] in published and _well_formed(r["id_number"])]
    holders = Counter(i for _, i in people)  # an ID number held twice answers with its lowest person_id: skip it
    people = [(p, i) for p, i in people if holders[i] == 1]
    return random.Random(seed).sample(people, min(n, len(people)))


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _well_formed(id_number: str) -> bool:
    return len(id_number) == 18 and id_number[:17].isdigit() and check_digit(id_number[:17]) == id_number[17]


# -- the callers (in client processes) -------------------------------------------------------------------------

def client_process(load: Load, people: list[tuple[str, str]], first: int, count: int, seed: int,
                   results: mp.Queue) -> None:
    """Run `count` callers (numbered from `first`) on one event loop; put an Outcome on the queue."""
    outcome = asyncio.run(_callers(load, people, first, count, seed))
    usage = resource.getrusage(resource.RUSAGE_SELF)
    outcome.cpu_seconds = usage.ru_utime + usage.ru_stime
    results.put(asdict(outcome))


async def _callers(load: Load, people: list[tuple[str, str]], first: int, count: int, seed: int) -> Outcome:
    from silentcert.liveness.v1 import liveness_pb2 as pb

    outcome = Outcome()
    started = time.perf_counter()
    measure_from, stop_at = started + load.warmup, started + load.warmup + load.seconds
    channels = [_channel(load, first + i) for i in range(count)]
    try:
        await asyncio.gather(*(_caller(pb, load, ch, _metadata(load, first + i), people, random.Random(seed + i),
                                       measure_from, stop_at, outcome) for i, ch in enumerate(channels)))
    finally:
        await asyncio.gather(*(ch.close() for ch in channels))
    return outcome


def _channel(load: Load, number: int) -> grpc.aio.Channel:
    # A distinct argument per caller keeps grpc from sharing one connection: 50 clients, 50 connections.
    options = [("silentcert.bench.caller", number)]
    if load.ca is None:
        return grpc.aio.insecure_channel(load.target, options=options)
    credentials = grpc.ssl_channel_credentials(root_certificates=Path(load.ca).read_bytes())
    return grpc.aio.secure_channel(load.target, credentials, options=options)


def _metadata(load: Load, number: int) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {load.tokens[number]}"),) if load.tokens else ()


async def _caller(pb, load: Load, channel: grpc.aio.Channel, metadata, people, rng: random.Random, measure_from: float,
                  stop_at: float, outcome: Outcome) -> None:
    call = channel.unary_unary(LIVENESS, request_serializer=pb.GetLivenessRequest.SerializeToString,
                               response_deserializer=pb.GetLivenessResponse.FromString)
    await channel.channel_ready()
    interval = load.callers / load.rate if load.rate else 0.0
    due = time.perf_counter() + rng.random() * interval
    while (now := time.perf_counter()) < stop_at:
        if interval:  # paced: latency counts from when the call was due, so a server behind schedule shows it
            await asyncio.sleep(max(0.0, due - now))
            now, due = due, due + interval
        person_id, id_number = people[rng.randrange(len(people))]
        by_id = rng.random() < 0.5
        request = pb.GetLivenessRequest(person_id=person_id) if by_id else pb.GetLivenessRequest(id_number=id_number)
        error = await _one_call(call, request, metadata, person_id)
        if now >= measure_from:
            outcome.latencies_ms.append((time.perf_counter() - now) * 1000)
            if error:
                outcome.errors[error] = outcome.errors.get(error, 0) + 1


async def _one_call(call, request, metadata, person_id: str) -> str | None:
    """None when the answer names the person asked for; otherwise what went wrong."""
    try:
        reply = await call(request, metadata=metadata, timeout=10)
    except grpc.aio.AioRpcError as error:
        return error.code().name
    return None if reply.liveness.person_id == person_id else "WRONG_PERSON"


# -- the server ------------------------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def security_flags(mode: str, work: Path, callers: int) -> tuple[list[str], str | None, tuple[str, ...]]:
    """serve flags, the CA a client trusts and one token per caller, for `insecure` or `tls`."""
    log = ["--access-log", str(work / f"access-{mode}.jsonl")]
    if mode == "insecure":
        # Every --insecure-dev call is one caller, "insecure-dev", with one rate-limit bucket (200/s by default):
        # lift it, or the bench measures the limiter.
        return ["--insecure-dev", "--rate", "1000000", "--burst", "1000000", *log], None, ()
    from silentcert.services.security.tls import make_dev_ca
    from silentcert.services.security.tokens import issue_token

    pki, tokens_file = work / "pki", work / "tokens.json"
    if not (pki / "ca.pem").exists():
        make_dev_ca(pki)
    tokens_file.unlink(missing_ok=True)
    tokens = tuple(issue_token(tokens_file, role="reader", name=f"desk-{i}") for i in range(callers))
    flags = ["--tls-cert", str(pki / "server.pem"), "--tls-key", str(pki / "server-key.pem"),
             "--tokens", str(tokens_file), *log]
    return flags, str(pki / "ca.pem"), tokens


def start_server(neo4j: str, port: int, flags: list[str], extra: list[str], work: Path,
                 tree: Path | None) -> subprocess.Popen:
    """`silentcert serve` on `port`, from the source tree `tree` (another checkout: a before/after comparison)."""
    env = os.environ | ({"PYTHONPATH": str(tree)} if tree else {})
    command = [sys.executable, "-m", "silentcert.clients.cli", "serve", "--service", "liveness", "--neo4j", neo4j,
               "--address", f"127.0.0.1:{port}", "--grace", "1", *flags, *extra]
    log = (work / "server.log").open("a")
    server = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=log, text=True, cwd=tree, env=env)
    line = server.stdout.readline()
    if "serving" not in line:
        server.kill()
        raise SystemExit(f"server did not start: {line!r}; see {work / 'server.log'}")
    return server


def process_cpu(pid: int) -> float:
    """CPU seconds (user + system) of a process and its reaped children, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(v) for v in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def tree_cpu(pid: int) -> float:
    """CPU seconds of a process and its live children (several server processes)."""
    children = Path(f"/proc/{pid}/task/{pid}/children")
    kids = [int(c) for c in children.read_text().split()] if children.exists() else []
    return process_cpu(pid) + sum(tree_cpu(k) for k in kids)


def neo4j_pid(uri: str) -> int | None:
    """The pid of the Java process listening on the Bolt port, when it is ours to read."""
    port = uri.rsplit(":", 1)[-1]
    found = subprocess.run(["ss", "-ltnpH", f"sport = :{port}"], capture_output=True, text=True).stdout
    marker = "pid="
    return int(found.split(marker, 1)[1].split(",", 1)[0]) if marker in found else None


# -- one measurement -------------------------------------------------------------------------------------------

def run_mode(args: argparse.Namespace, mode: str, people: list[tuple[str, str]], work: Path) -> dict:
    port = free_port()
    flags, ca, tokens = security_flags(mode, work, args.callers)
    server = start_server(args.neo4j, port, flags, args.server_arg or [], work, args.server_tree)
    try:
        load = Load(f"127.0.0.1:{port}", args.seconds, args.warmup, args.callers, ca, tokens, args.rate)
        return measure(load, people, args, server.pid) | {"mode": mode, "server_args": args.server_arg or [],
                                                     "offered_rate": args.rate,
                                                     "server_tree": str(args.server_tree or "")}
    finally:
        server.terminate()
        server.wait(30)


def measure(load: Load, people: list[tuple[str, str]], args: argparse.Namespace, server_pid: int) -> dict:
    db_pid = neo4j_pid(args.neo4j)
    load_before = os.getloadavg()
    ctx = mp.get_context("spawn")
    results = ctx.Queue()
    share = np.array_split(np.arange(load.callers), args.client_processes)
    workers = [ctx.Process(target=client_process, args=(load, people, int(s[0]), len(s), args.seed + 1000 * k,
                                                        results)) for k, s in enumerate(share) if len(s)]
    for worker in workers:
        worker.start()
    time.sleep(load.warmup)
    cpu_before = (tree_cpu(server_pid), process_cpu(db_pid) if db_pid else 0.0)
    outcomes = [results.get(timeout=load.warmup + load.seconds + 120) for _ in workers]
    cpu_after = (tree_cpu(server_pid), process_cpu(db_pid) if db_pid else 0.0)
    for worker in workers:
        worker.join(30)
    return summarise(load, outcomes, cpu_before, cpu_after, load_before, os.getloadavg())


def summarise(load: Load, outcomes: list[dict], cpu_before, cpu_after, load_before, load_after) -> dict:
    latencies = np.array([x for o in outcomes for x in o["latencies_ms"]])
    errors: dict[str, int] = {}
    for o in outcomes:
        for code, n in o["errors"].items():
            errors[code] = errors.get(code, 0) + n
    pct = {f"p{q}_ms": round(float(np.percentile(latencies, q)), 2) for q in (50, 95, 99)} if len(latencies) else {}
    return {
        "callers": load.callers, "seconds": load.seconds, "calls": int(len(latencies)),
        "calls_per_s": round(len(latencies) / load.seconds, 1), **pct,
        "max_ms": round(float(latencies.max()), 2) if len(latencies) else None, "errors": errors,
        "server_cpu_s": round(cpu_after[0] - cpu_before[0], 1), "neo4j_cpu_s": round(cpu_after[1] - cpu_before[1], 1),
        "client_cpu_s_incl_warmup": round(sum(o["cpu_seconds"] for o in outcomes), 1),
        # CPU per call is less at the mercy of other engineers' load than calls/s: what an idle machine could do
        "server_cpu_ms_per_call": _per_call(cpu_after[0] - cpu_before[0], len(latencies)),
        "neo4j_cpu_ms_per_call": _per_call(cpu_after[1] - cpu_before[1], len(latencies)),
        "loadavg_before": [round(x, 2) for x in load_before], "loadavg_after": [round(x, 2) for x in load_after],
    }


def _per_call(cpu_seconds: float, calls: int) -> float | None:
    return round(cpu_seconds * 1000 / calls, 2) if calls else None


def report(result: dict) -> None:
    offered = f" offered {result['offered_rate']:g}/s" if result["offered_rate"] else " back to back"
    print(f"{result['mode']:>8} {' '.join(result['server_args'])}{offered}: {result['calls']} calls in {result['seconds']:.0f} s "
          f"= {result['calls_per_s']:.0f}/s, p50 {result.get('p50_ms')} ms, p95 {result.get('p95_ms')} ms, "
          f"p99 {result.get('p99_ms')} ms, max {result['max_ms']} ms, errors {result['errors'] or 0}; "
          f"CPU s server {result['server_cpu_s']}, neo4j {result['neo4j_cpu_s']} "
          f"({result['server_cpu_ms_per_call']} + {result['neo4j_cpu_ms_per_call']} ms a call), "
          f"clients {result['client_cpu_s_incl_warmup']} (incl. warm-up); "
          f"load {result['loadavg_before'][0]} -> {result['loadavg_after'][0]}", flush=True)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--neo4j", required=True, help="Bolt URI (NEO4J_USER / NEO4J_PASSWORD from the env)")
    parser.add_argument("--registry", type=Path, required=True, help="the round's registry.csv")
    parser.add_argument("--verdicts", type=Path, required=True, help="the round's verdicts.csv (published people)")
    parser.add_argument("--mode", action="append", choices=("insecure", "tls"), help="repeatable; default both")
    parser.add_argument("--callers", type=int, default=50)
    parser.add_argument("--client-processes", type=int, default=2)
    parser.add_argument("--rate", type=float, default=None,
                        help="offer this many calls/s in total, paced (open loop); default: every caller back to "
                             "back (closed loop, where p50 is about callers / throughput)")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--warmup", type=float, default=5.0)
    parser.add_argument("--people", type=int, default=20000, help="distinct pensioners asked for")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--server-arg", action="append", help="extra flag for silentcert serve (repeatable)")
    parser.add_argument("--server-tree", type=Path, default=None,
                        help="run the server from this checkout (e.g. a worktree of the commit before a change)")
    parser.add_argument("--work", type=Path, default=None, help="folder for certificates, tokens, logs")
    parser.add_argument("--json", type=Path, default=None, help="append each result as a JSON line here")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    work = args.work or Path(tempfile.mkdtemp(prefix="liveness-rpc-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    people = sample_people(args.registry, args.verdicts, args.people, args.seed)
    print(f"{len(people)} pensioners, {args.callers} callers in {args.client_processes} client processes, "
          f"{args.warmup:g} s warm-up + {args.seconds:g} s; work {work}", flush=True)
    for mode in args.mode or ["insecure", "tls"]:
        result = run_mode(args, mode, people, work)
        report(result)
        if args.json:
            with args.json.open("a") as handle:
                handle.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
