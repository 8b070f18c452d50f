"""GetLiveness against an open-loop SLO (issue 21): calls offered at fixed rates, latency from the scheduled send.

    python -m benchmarks.liveness_slo_bench --pensioners 200000 --rates 100,500,1500 --seconds 20
    python -m benchmarks.liveness_slo_bench --neo4j bolt://127.0.0.1:7687 ...   (NEO4J_USER / NEO4J_PASSWORD)

The SLO: at 500 calls/s offered p99 ≤ 25 ms, at 100/s p50 ≤ 3 ms, and the server keeps up with ≥ 1,500/s.

The bench builds a synthetic round of `--pensioners` (benchmarks/publish_bench.py's shape, `--events` records)
into a store file under `--work` (kept and reused) or into the Neo4j given, then starts `silentcert serve
--service liveness` as a process of its own on a free port, with TLS (a development CA made for the run) and a
token file holding one reader token per connection: the production path, access log and rate limits included.
The rates start once the server has warmed its answers (its log says so), which takes `--server-arg
--answers-kept=N` to hold them all (two a pensioner: by person_id and by ID number).
Client worker processes (`--client-processes`, spawn), each with its own channels (`--connections` in all, one
token each), send GetLiveness for random published pensioners at their share of the offered rate, arrivals
Poisson (or `--arrivals uniform`). Every call is a task started at its scheduled time and its latency counts from
that time, not from when the client got round to sending it: a server (or client) behind schedule shows in the
figures instead of slowing the offer (no coordinated omission). Each rate runs `--warmup` + `--seconds`; calls
scheduled in the warm-up are not counted. Per rate: offered and achieved calls/s, p50/p90/p99/max, errors by
status code, how late the clients sent (their own lag), server CPU (all its processes), Neo4j CPU and the client
processes' own CPU (over the measured window) per call, and the load average, since the machine may be shared: on
one machine the clients' CPU is taken from the server's. `--server-tree DIR` runs the server from another checkout
(A/B against an older commit); `--server-arg=--processes=2` passes a flag to `silentcert serve`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import grpc
import numpy as np

from benchmarks.liveness_rpc_bench import LIVENESS, free_port, neo4j_pid, process_cpu, tree_cpu
from benchmarks.publish_bench import synthetic_round
from silentcert.graph.store import RoundExport

ROUND_ID = "bench-2021-10"  # the id synthetic_round publishes under
TIMEOUT_S = 10.0
WARM_TIMEOUT_S = 900.0


@dataclass(frozen=True)
class Offer:
    """What one client process sends: `rate` calls/s for `warmup` + `seconds` over its connections."""

    target: str
    ca: str
    tokens: tuple[str, ...]
    rate: float
    seconds: float
    warmup: float
    arrivals: str  # poisson | uniform
    by_id_number: float  # share of lookups by ID number (the rest by person_id)
    seed: int


@dataclass
class Tally:
    latencies_ms: list[float] = field(default_factory=list)  # from the scheduled send, measured calls only
    send_lag_ms: list[float] = field(default_factory=list)  # how late the client itself started each call
    errors: dict[str, int] = field(default_factory=dict)
    scheduled: int = 0
    answered_in_window: int = 0
    cpu_seconds: float = 0.0  # the client process's own CPU from the window's first call to its last answer


# -- the schedule ----------------------------------------------------------------------------------------------

def schedule(rate: float, duration: float, arrivals: str, rng: random.Random) -> list[float]:
    """Send times (seconds from the start) of calls offered at `rate` a second for `duration` seconds."""
    if rate <= 0:
        raise ValueError(f"rate must be positive, got {rate}")
    if arrivals == "uniform":
        start = rng.random() / rate
        return [start + i / rate for i in range(int((duration - start) * rate) + 1) if start + i / rate < duration]
    if arrivals != "poisson":
        raise ValueError(f"arrivals must be poisson or uniform, got {arrivals!r}")
    times, at = [], rng.expovariate(rate)
    while at < duration:
        times.append(at)
        at += rng.expovariate(rate)
    return times


# -- the clients (one event loop per worker process) -----------------------------------------------------------

def client_process(offer: Offer, people: list[tuple[str, str]], results: mp.Queue) -> None:
    tally = asyncio.run(_offer(offer, people))
    results.put(asdict(tally))


def own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def _offer(offer: Offer, people: list[tuple[str, str]]) -> Tally:
    from silentcert.liveness.v1 import liveness_pb2 as pb

    rng = random.Random(offer.seed)
    credentials = grpc.ssl_channel_credentials(root_certificates=Path(offer.ca).read_bytes())
    # a distinct option per channel keeps grpc from sharing one connection among them
    channels = [grpc.aio.secure_channel(offer.target, credentials, options=[("silentcert.bench.connection", i)])
                for i in range(len(offer.tokens))]
    calls = [ch.unary_unary(LIVENESS, request_serializer=pb.GetLivenessRequest.SerializeToString,
                            response_deserializer=pb.GetLivenessResponse.FromString) for ch in channels]
    metadata = [(("authorization", f"Bearer {t}"),) for t in offer.tokens]
    try:
        await asyncio.gather(*(ch.channel_ready() for ch in channels))
        tally = Tally()
        times = schedule(offer.rate, offer.warmup + offer.seconds, offer.arrivals, rng)
        tasks = []
        start = time.perf_counter()
        window = (start + offer.warmup, start + offer.warmup + offer.seconds)
        cpu_from: float | None = None
        for i, at in enumerate(times):
            due = start + at
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            if cpu_from is None and at >= offer.warmup:
                cpu_from = own_cpu()
            person_id, id_number = people[rng.randrange(len(people))]
            request = (pb.GetLivenessRequest(id_number=id_number) if rng.random() < offer.by_id_number
                       else pb.GetLivenessRequest(person_id=person_id))
            k = i % len(calls)
            tasks.append(asyncio.create_task(_one(calls[k], request, metadata[k], person_id, due, window, tally)))
        await asyncio.gather(*tasks)
        tally.cpu_seconds = own_cpu() - (cpu_from if cpu_from is not None else own_cpu())
        tally.scheduled = sum(1 for at in times if at >= offer.warmup)
        return tally
    finally:
        await asyncio.gather(*(ch.close() for ch in channels))


async def _one(call, request, metadata, person_id: str, due: float, window: tuple[float, float],
               tally: Tally) -> None:
    sent = time.perf_counter()
    try:
        reply = await call(request, metadata=metadata, timeout=TIMEOUT_S)
        error = None if reply.liveness.person_id == person_id else "WRONG_PERSON"
    except grpc.aio.AioRpcError as failed:
        error = failed.code().name
    done = time.perf_counter()
    if window[0] <= due < window[1]:
        tally.latencies_ms.append((done - due) * 1000)
        tally.send_lag_ms.append((sent - due) * 1000)
        if error:
            tally.errors[error] = tally.errors.get(error, 0) + 1
    if error is None and window[0] <= done < window[1]:
        tally.answered_in_window += 1


# -- the store and the server ----------------------------------------------------------------------------------

def prepare_store(args: argparse.Namespace, work: Path) -> tuple[list[str], list[tuple[str, str]], dict[str, str]]:
    """serve flags naming the store, the (person_id, ID number) of the published pensioners asked for, and
    environment for the server. The round is published once: a store that has it already is reused."""
    export = synthetic_round(args.pensioners, args.events or 5 * args.pensioners, args.seed)
    people = _sample(export, args.people, args.seed)
    if args.neo4j:
        from silentcert.graph.connect import StoreSettings, open_store

        with open_store(StoreSettings.from_env(neo4j_uri=args.neo4j)) as store:
            _publish_once(store, export)
        env = {"SILENTCERT_AUDIT_KEY_FILE": str(work / "audit.key")}
        return ["--neo4j", args.neo4j], people, env
    from silentcert.graph.embedded import EmbeddedStore

    path = work / f"store-{args.pensioners}-{args.seed}.duckdb"
    with EmbeddedStore(path) as store:
        _publish_once(store, export)
    return ["--store", str(path.resolve())], people, {}


def _publish_once(store, export: RoundExport) -> None:
    if store.round_as_of(export.round_id) is not None:
        return
    started = time.perf_counter()
    print(f"publishing {export.pensioners.num_rows} pensioners, {export.events.num_rows} records ...", flush=True)
    store.publish_round(export)
    print(f"published in {time.perf_counter() - started:.0f} s", flush=True)


def _sample(export: RoundExport, n: int, seed: int) -> list[tuple[str, str]]:
    people = list(zip(export.pensioners.column("person_id").to_pylist(),
                      export.pensioners.column("id_number").to_pylist(), strict=True))
    return random.Random(seed).sample(people, min(n, len(people)))


def credentials(work: Path, connections: int) -> tuple[list[str], str, tuple[str, ...]]:
    """TLS and token flags for serve, the CA clients trust, one reader token per connection."""
    from silentcert.services.security.tls import make_dev_ca
    from silentcert.services.security.tokens import issue_token

    pki, tokens_file = work / "pki", work / "tokens.json"
    if not (pki / "ca.pem").exists():
        make_dev_ca(pki)
    tokens_file.unlink(missing_ok=True)
    tokens = tuple(issue_token(tokens_file, role="reader", name=f"desk-{i}") for i in range(connections))
    flags = ["--tls-cert", str(pki / "server.pem"), "--tls-key", str(pki / "server-key.pem"),
             "--tokens", str(tokens_file), "--access-log", str(work / "access.jsonl")]
    return flags, str(pki / "ca.pem"), tokens


def start_server(port: int, flags: list[str], env: dict[str, str], work: Path,
                 tree: Path | None) -> subprocess.Popen:
    """`silentcert serve --service liveness` on `port`, from `tree` (another checkout) when given."""
    env = os.environ | env | ({"PYTHONPATH": str(tree)} if tree else {})
    command = [sys.executable, "-m", "silentcert.clients.cli", "serve", "--service", "liveness",
               "--address", f"127.0.0.1:{port}", "--grace", "1", *flags]
    log = (work / "server.log").open("a")
    offset = log.tell()
    server = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=log, text=True, cwd=tree or Path.cwd(), env=env)
    line = server.stdout.readline()
    if "serving" not in line:
        server.kill()
        raise SystemExit(f"server did not start: {line!r}; see {work / 'server.log'}")
    wait_warm(work / "server.log", offset, server)
    return server


def wait_warm(log: Path, offset: int, server: subprocess.Popen, timeout: float = WARM_TIMEOUT_S) -> None:
    """Wait until the server has warmed its answers, if it warms them (its log says "warming answers" within a
    couple of seconds of serving): the SLO is the steady state, not a restart's first minutes."""
    started = time.monotonic()
    while time.monotonic() - started < timeout and server.poll() is None:
        text = log.read_bytes()[offset:].decode(errors="replace")
        if any(done in text for done in ("answers warmed", "answer warming failed")) or (
                "warming answers" not in text and time.monotonic() - started > 3):
            return
        time.sleep(0.5)
    if server.poll() is None:
        raise SystemExit(f"the server did not warm its answers in {timeout:g} s; see {log}")


# -- one rate --------------------------------------------------------------------------------------------------

def run_rate(rate: float, args: argparse.Namespace, target: str, ca: str, tokens: tuple[str, ...],
             people: list[tuple[str, str]], server_pid: int, db_pid: int | None) -> dict:
    ctx = mp.get_context("spawn")
    results = ctx.Queue()
    shares = [tuple(s) for s in np.array_split(np.array(tokens, dtype=object), args.client_processes) if len(s)]
    workers = [ctx.Process(target=client_process, args=(
        Offer(target, ca, share, rate / len(shares), args.seconds, args.warmup, args.arrivals, args.by_id_number,
              args.seed * 1000 + int(rate) * 10 + k), people, results)) for k, share in enumerate(shares)]
    load_before = os.getloadavg()
    for worker in workers:
        worker.start()
    time.sleep(args.warmup + 1.0)  # the workers' spawn takes about a second before their clock starts
    cpu_before = tree_cpu(server_pid), process_cpu(db_pid) if db_pid else 0.0
    tallies = [results.get(timeout=args.warmup + args.seconds + TIMEOUT_S + 120) for _ in workers]
    cpu_after = tree_cpu(server_pid), process_cpu(db_pid) if db_pid else 0.0
    for worker in workers:
        worker.join(30)
    return summarise(rate, args.seconds, tallies, (cpu_after[0] - cpu_before[0], cpu_after[1] - cpu_before[1]),
                     load_before, os.getloadavg())


def summarise(rate: float, seconds: float, tallies: list[dict], cpu: tuple[float, float],
              load_before: tuple[float, ...], load_after: tuple[float, ...]) -> dict:
    """The report of one rate. Server CPU is read over about the measured window (it includes the tail of calls
    still answering when the window closed), so CPU per call is an estimate. Per call divides by every call due
    in the window, refused ones included; per answer by those answered without error, which past saturation is
    what an answer costs."""
    latencies = np.array([x for t in tallies for x in t["latencies_ms"]])
    lag = np.array([x for t in tallies for x in t["send_lag_ms"]])
    errors: dict[str, int] = {}
    for t in tallies:
        for code, n in t["errors"].items():
            errors[code] = errors.get(code, 0) + n
    answered = sum(t["answered_in_window"] for t in tallies)
    ok = len(latencies) - sum(errors.values())
    pct = {f"p{q}_ms": round(float(np.percentile(latencies, q)), 2) for q in (50, 90, 99)} if len(latencies) else {}
    return {
        "offered_per_s": rate, "seconds": seconds,
        "scheduled_per_s": round(sum(t["scheduled"] for t in tallies) / seconds, 1),
        "achieved_per_s": round(answered / seconds, 1), "calls": int(len(latencies)), **pct,
        "max_ms": round(float(latencies.max()), 2) if len(latencies) else None,
        "client_lag_p99_ms": round(float(np.percentile(lag, 99)), 2) if len(lag) else None,
        "errors": errors,
        "server_cpu_s": round(cpu[0], 2), "neo4j_cpu_s": round(cpu[1], 2),
        "server_cpu_ms_per_call": round(cpu[0] * 1000 / len(latencies), 3) if len(latencies) else None,
        "neo4j_cpu_ms_per_call": round(cpu[1] * 1000 / len(latencies), 3) if len(latencies) else None,
        "server_cpu_ms_per_answer": round(cpu[0] * 1000 / ok, 3) if ok else None,
        "client_cpu_s": round(sum(t["cpu_seconds"] for t in tallies), 2),
        "client_cpu_ms_per_call": (round(sum(t["cpu_seconds"] for t in tallies) * 1000 / len(latencies), 3)
                                   if len(latencies) else None),
        "loadavg_before": [round(x, 2) for x in load_before], "loadavg_after": [round(x, 2) for x in load_after],
    }


def report(result: dict) -> str:
    r = result
    return (f"offered {r['offered_per_s']:>6g}/s: achieved {r['achieved_per_s']:>7.1f}/s, "
            f"p50 {r.get('p50_ms')} ms, p90 {r.get('p90_ms')} ms, p99 {r.get('p99_ms')} ms, max {r['max_ms']} ms, "
            f"errors {r['errors'] or 0}, client lag p99 {r['client_lag_p99_ms']} ms; server CPU "
            f"{r['server_cpu_ms_per_call']} ms a call"
            + (f" ({r['server_cpu_ms_per_answer']} an answer)" if r["errors"] else "") + (f" + neo4j {r['neo4j_cpu_ms_per_call']}" if r["neo4j_cpu_s"]
                                                          else "")
            + f", clients {r['client_cpu_ms_per_call']} ms a call; load {r['loadavg_before'][0]} -> "
              f"{r['loadavg_after'][0]}")


# -- the command line ------------------------------------------------------------------------------------------

def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pensioners", type=int, default=50_000)
    parser.add_argument("--events", type=int, default=None, help="records in the round (default 5 a pensioner)")
    parser.add_argument("--neo4j", default=None, metavar="BOLT_URI",
                        help="serve from this Neo4j (NEO4J_USER / NEO4J_PASSWORD); default an embedded store file")
    parser.add_argument("--rates", default="100,500,1500", help="offered calls/s, comma separated, run in order")
    parser.add_argument("--seconds", type=float, default=20.0, help="measured seconds per rate")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds offered before measuring, per rate")
    parser.add_argument("--arrivals", choices=("poisson", "uniform"), default="poisson")
    parser.add_argument("--client-processes", type=int, default=2)
    parser.add_argument("--connections", type=int, default=16,
                        help="channels in all, one token (caller) each; each caller is rate limited by the server "
                             "(200/s by default), so rate / connections must stay below it")
    parser.add_argument("--by-id-number", type=float, default=0.0,
                        help="share of lookups by ID number (limited to 2/s a caller by default)")
    parser.add_argument("--people", type=int, default=20_000, help="distinct pensioners asked for")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--server-arg", action="append", default=[], help="extra flag for silentcert serve")
    parser.add_argument("--server-tree", type=Path, default=None, help="run the server from this checkout")
    parser.add_argument("--work", type=Path, default=None,
                        help="folder for the store, certificates, tokens and logs (default a new temporary one)")
    parser.add_argument("--json", type=Path, default=None, help="append each rate's result as a JSON line here")
    args = parser.parse_args(argv)
    try:
        args.rate_list = [float(r) for r in args.rates.split(",") if r.strip()]
    except ValueError:
        parser.error(f"--rates must be numbers separated by commas, got {args.rates!r}")
    if not args.rate_list or min(args.rate_list) <= 0:
        parser.error(f"--rates must list positive rates, got {args.rates!r}")
    if args.connections < args.client_processes:
        parser.error("--connections must be at least --client-processes")
    return args


def main(argv: list[str] | None = None) -> list[dict]:
    args = parse_args(argv)
    work = (args.work or Path(tempfile.mkdtemp(prefix="liveness-slo-"))).resolve()
    work.mkdir(parents=True, exist_ok=True)
    store_flags, people, env = prepare_store(args, work)
    flags, ca, tokens = credentials(work, args.connections)
    port = free_port()
    server = start_server(port, [*store_flags, *flags, *args.server_arg], env, work, args.server_tree)
    db_pid = neo4j_pid(args.neo4j) if args.neo4j else None
    print(f"server pid {server.pid} {' '.join(args.server_arg)}{' from ' + str(args.server_tree) if args.server_tree else ''}; "
          f"{args.connections} TLS connections with tokens in {args.client_processes} client processes, "
          f"{args.arrivals} arrivals, {args.warmup:g} s warm-up + {args.seconds:g} s a rate; work {work}", flush=True)
    results = []
    try:
        for rate in args.rate_list:
            result = run_rate(rate, args, f"127.0.0.1:{port}", ca, tokens, people, server.pid, db_pid)
            result |= {"store": "neo4j" if args.neo4j else "embedded", "pensioners": args.pensioners,
                       "server_args": args.server_arg, "server_tree": str(args.server_tree or "")}
            print(report(result), flush=True)
            results.append(result)
            if args.json:
                with args.json.open("a") as handle:
                    handle.write(json.dumps(result) + "\n")
    finally:
        server.terminate()
        server.wait(30)
    return results


if __name__ == "__main__":
    main()
