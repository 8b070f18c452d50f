"""One-record real-time resolve: latency of ResolveRecord over gRPC with the round's model loaded.

Builds (or reuses) a linked synthetic round — ``synthetic.province.generate``, ingest, the resolve stage
with its model saved — then starts the resolver service on 127.0.0.1 with that model and registry
(``silentcert serve --model``'s code path), sends evidence records one at a time from a client in
this process, and prints p50/p95/p99 of the round trip and of the in-process resolve alone.

    python -m benchmarks.realtime_bench --pensioners 200000            # builds the round in --work
    python -m benchmarks.realtime_bench --round OUT                    # a finished round's output dir
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import resource
import tempfile
import time
from pathlib import Path

import duckdb
import grpc

from silentcert.graph import sql
from silentcert.resolver.v1 import resolver_pb2 as pb
from silentcert.resolver.v1 import resolver_pb2_grpc
from silentcert.services import serving
from silentcert.services.resolver.one_record import RecordQuery
from silentcert.services.security.rate_limit import RateLimit
from silentcert.services.security.settings import SecuritySettings

FIELDS = ("id_number_raw", "name", "sex", "birth_date", "phone", "card_no", "county_code")
# a repeatable pseudo-random sample of $n evidence records ({fields}: FIELDS); DuckDB's USING SAMPLE takes no
# parameters, so the order is a hash of the record and the seed
SAMPLE = """
SELECT {fields} FROM records WHERE kind NOT IN ('face', 'in_person')
ORDER BY hash(rid, $seed), rid LIMIT $n
"""
PENSIONERS = "SELECT count(*) FROM registry"


def build_round(work: Path, pensioners: int, seed: int) -> tuple[Path, Path]:
    """Generate, ingest and link a round into ``work/state``; reuse it when already there."""
    state = work / "state"
    model_path, db_path = state / "linkage_model.json", state / "round.duckdb"
    if model_path.exists() and db_path.exists():
        return model_path, db_path
    from silentcert.services.resolver.ingest_stage import ingest_round
    from silentcert.services.resolver.resolve_stage import link_round
    from silentcert.services.resolver.settings import LinkageSettings
    from silentcert.services.rounds.progress import silent_progress
    from silentcert.services.rounds.roundfile import load_round
    from silentcert.synthetic.province import generate

    started = time.perf_counter()
    generate(pensioners, seed, dt.date(2021, 10, 31), work / "round")
    state.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(db_path))
    ingest_round(con, load_round(work / "round" / "round.toml"), silent_progress)
    link_round(con, LinkageSettings(save_model_path=model_path))
    con.close()
    print(f"built the round in {time.perf_counter() - started:.0f} s", flush=True)
    return model_path, db_path


def sample_records(db_path: Path, n: int, seed: int) -> list[tuple]:
    """Evidence records (not face/in-person) as they arrived, a random sample of ``n``."""
    with duckdb.connect(str(db_path), read_only=True) as con:
        rows = sql.fetchall(con, "sample_records", sql.with_idents(SAMPLE, fields=FIELDS), {"n": n, "seed": seed})
    random.Random(seed).shuffle(rows)
    return rows


def request(row: tuple) -> pb.ResolveRecordRequest:
    values = {f: ("" if v is None else str(v)) for f, v in zip(FIELDS, row)}
    values["id_number"] = values.pop("id_number_raw")
    return pb.ResolveRecordRequest(record=pb.RecordFields(**values), max_candidates=5)


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)

    def at(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 3)

    return {"p50_ms": at(0.50), "p95_ms": at(0.95), "p99_ms": at(0.99), "max_ms": round(ordered[-1] * 1000, 3),
            "mean_ms": round(sum(ordered) / len(ordered) * 1000, 3)}


def run(model_path: Path, db_path: Path, requests: int, seed: int) -> dict:
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    settings = serving.ServeSettings(address="127.0.0.1:0", services=("resolver",), model_path=model_path,
                                     registry_db=db_path,
                                     security=SecuritySettings(insecure_dev=True, rate=RateLimit(1e6, 1e6)))
    engines = serving.model_engines(settings)
    load_seconds = time.perf_counter() - started
    rss_loaded = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    rows = sample_records(db_path, requests, seed)
    from silentcert.graph.embedded import EmbeddedStore

    with tempfile.TemporaryDirectory() as tmp, EmbeddedStore(Path(tmp) / "graph.duckdb") as store:
        running = serving.start(settings, [store], engines)
        try:
            grpc_times, found = _over_grpc(running.port, rows)
        finally:
            running.server.stop(0)
            if running.security:
                running.security.close()
    local_times = _in_process(engines.resolve_one, rows)
    return {"requests": len(rows), "load_seconds": round(load_seconds, 2),
            "resolver_rss_gb": round((rss_loaded - rss_before) / 2 ** 20, 2),
            "with_candidate": round(found / len(rows), 4),
            "grpc": percentiles(grpc_times), "in_process": percentiles(local_times)}


def _over_grpc(port: int, rows: list[tuple]) -> tuple[list[float], int]:
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        stub = resolver_pb2_grpc.ResolverServiceStub(channel)
        for row in rows[:100]:  # warm up the channel and the server's threads
            stub.ResolveRecord(request(row))
        times, found = [], 0
        for row in rows:
            message = request(row)
            t0 = time.perf_counter()
            reply = stub.ResolveRecord(message)
            times.append(time.perf_counter() - t0)
            found += bool(reply.candidates)
    return times, found


def _in_process(resolve_one, rows: list[tuple]) -> list[float]:
    times = []
    for id_raw, name, sex, birth, phone, card, county in rows:
        query = RecordQuery(id_raw, name, sex, birth, phone, card, county)
        t0 = time.perf_counter()
        resolve_one(query)
        times.append(time.perf_counter() - t0)
    return times


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--round", type=Path, help="a finished round's output directory (uses OUT/state)")
    parser.add_argument("--work", type=Path, default=Path("realtime-bench"), help="where to build the round")
    parser.add_argument("--pensioners", type=int, default=200_000)
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    if args.round:
        model_path, db_path = args.round / "state" / "linkage_model.json", args.round / "state" / "round.duckdb"
    else:
        model_path, db_path = build_round(args.work, args.pensioners, args.seed)
    result = run(model_path, db_path, args.requests, args.seed)
    with duckdb.connect(str(db_path), read_only=True) as con:
        result["pensioners"] = sql.scalar(con, "pensioners", PENSIONERS)
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
