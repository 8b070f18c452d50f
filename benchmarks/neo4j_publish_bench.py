"""Publishing a whole round to Neo4j: bulk import (`silentcert neo4j import`) against UNWIND (`round run --neo4j`).

    python benchmarks/neo4j_publish_bench.py --pensioners 1000000 [--seed 7] [--cache DIR]
    python benchmarks/neo4j_publish_bench.py --pensioners 50000 --unwind      # also time UNWIND on the same round
    python benchmarks/neo4j_publish_bench.py --rounds OUT1 OUT2 [OUT1 ...]    # publish rounds one after the other

`--rounds` publishes finished rounds in order with `Neo4jStore.publish_round` into the server of
SILENTCERT_NEO4J_HOME / SILENTCERT_NEO4J_BOLT_PORT (started if it is not running; its database is emptied first:
a test server only), as `round run --neo4j` does in its publish stage, and prints per round the seconds, the rows
the round's graph holds (its export: what a publish of everything writes) and, from `last_publish`, the rows
actually sent, with both rates, and the CPU seconds of this process and of the server.

The round (generated and run on the embedded store) is cached as CACHE/gen-N-sSEED and CACHE/out-N-sSEED;
`--round-out DIR` uses an already finished round directory instead (read-only). Both publishes go into a throwaway
Neo4j home (CACHE/neo4j-home, ports 7697/7484, 2 GiB heap and page cache as the local server), never into the
shared local server. Prints seconds per phase, rows (nodes + relationships) and rows/s as JSON, with the load
average before and after: the machine is shared.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from dataclasses import replace
from datetime import date
from pathlib import Path

import duckdb
import neo4j

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from silentcert.graph import sql  # noqa: E402
from silentcert.graph.neo4j_local import LocalNeo4jSettings, bolt_settings, install, server  # noqa: E402
from silentcert.graph.neo4j_store import Neo4jStore  # noqa: E402
from silentcert.services.deathcheck.audit import append_round_events  # noqa: E402
from silentcert.services.rounds.bulk_publish import bulk_publish_round_dir  # noqa: E402
from silentcert.services.rounds.export_queries import EXPORT_QUERIES  # noqa: E402
from silentcert.services.rounds.publish import round_export  # noqa: E402

AS_OF = "2021-10-31"


def finished_round(n: int, seed: int, cache: Path) -> Path:
    """CACHE/out-N-sSEED, generated and run (embedded store only) when not there yet."""
    gen, out = cache / f"gen-{n}-s{seed}", cache / f"out-{n}-s{seed}"
    if not _finished(out):
        cache.mkdir(parents=True, exist_ok=True)
        if not (gen / "round.toml").exists():
            _run(["silentcert", "generate", "--pensioners", str(n), "--seed", str(seed), "--as-of", AS_OF,
                  "--out", str(gen)], cache / f"gen-{n}-s{seed}.log")
        _run(["silentcert", "round", "run", str(gen / "round.toml"), "--out", str(out)], cache / f"out-{n}-s{seed}.log")
    return out


def throwaway_home(cache: Path) -> LocalNeo4jSettings:
    shared = LocalNeo4jSettings.from_env()
    install(shared)  # jars only; the shared server is not started
    home = cache / "neo4j-home"
    home.mkdir(parents=True, exist_ok=True)
    if not (home / "lib").exists():
        os.symlink(shared.lib_dir, home / "lib")
    return replace(shared, home=home, bolt_port=7697, http_port=7484, password=None)


def bulk(settings: LocalNeo4jSettings, out: Path) -> dict:
    started = time.perf_counter()
    done = bulk_publish_round_dir(settings, out, overwrite=True)
    return _result(time.perf_counter() - started, done.counts, done.seconds)


def unwind(settings: LocalNeo4jSettings, out: Path, batch_size: int) -> dict:
    """What `round run --neo4j` does in its publish stage, into an emptied database."""
    server.start(settings)
    uri, user, password = bolt_settings(settings)
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    con = duckdb.connect(str(out / "state" / "round.duckdb"), read_only=True)
    with Neo4jStore(neo4j.GraphDatabase.driver(uri, auth=(user, password)), batch_size=batch_size,
                    close_driver=True) as store:
        store.clear()
        store.apply_schema()
        store.await_indexes()
        started = time.perf_counter()
        export = round_export(con, report["round_id"], date.fromisoformat(report["as_of"]))
        exported = time.perf_counter()
        store.publish_round(export)
        published = time.perf_counter()
        append_round_events(con, store)
        seconds = {"export": exported - started, "publish_round": published - exported,
                   "audit": time.perf_counter() - published}
        counts = store.counts()
    con.close()
    return _result(sum(seconds.values()), counts, {k: round(v, 2) for k, v in seconds.items()})


def series(out_dirs: list[Path], batch_size: int, writers: int) -> list[dict]:
    """Publish each finished round after the other into the configured server, emptied first."""
    settings = LocalNeo4jSettings.from_env()
    server.start(settings)
    uri, user, password = bolt_settings(settings)
    results = []
    options = {"batch_size": batch_size} | ({"writers": writers} if writers else {})
    with Neo4jStore(neo4j.GraphDatabase.driver(uri, auth=(user, password)), close_driver=True, **options) as store:
        store.clear()
        store.apply_schema()
        store.await_indexes()
        for out in out_dirs:
            results.append(_publish_one(store, out, server.running_pid(settings)))
    return results


def _publish_one(store: Neo4jStore, out: Path, server_pid: int | None) -> dict:
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    con = duckdb.connect(str(out / "state" / "round.duckdb"), read_only=True)
    before = store.counts()
    export = round_export(con, report["round_id"], date.fromisoformat(report["as_of"]))
    graph_rows = _export_graph_rows(con)
    load = os.getloadavg()[0]
    started, client_cpu, server_cpu = time.perf_counter(), time.process_time(), _cpu_seconds(server_pid)
    store.publish_round(export)
    seconds = time.perf_counter() - started
    cpu = {"client": round(time.process_time() - client_cpu, 1)}
    if server_cpu is not None and (server_after := _cpu_seconds(server_pid)) is not None:
        cpu["server"] = round(server_after - server_cpu, 1)
    con.close()
    after = store.counts()
    sent = getattr(store, "last_publish", None)
    result = {"round": str(out), "seconds": round(seconds, 1), "load_before": load, "cpu_seconds": cpu,
              "round_graph_rows": graph_rows, "round_graph_rows_per_s": round(graph_rows / seconds),
              "added": {k: after[k] - before[k] for k in after if after[k] != before[k]}}
    if sent is not None:
        result |= {"rows_sent": sent.rows_sent, "sent": sent.sent, "phases": sent.seconds}
    return result


# the rows a publish of the whole round writes; each {slot} is the export query of that table (EXPORT_QUERIES)
GRAPH_ROWS = """
SELECT (SELECT 2 * count(*) FROM ({pensioners}))
     + (SELECT count(*) + count(DISTINCT (kind, value)) FROM ({identifiers}))
     + (SELECT 2 * count(*) + count(id_number) + count(phone) + count(card_no) FROM ({events}))
     + (SELECT 2 * count(*) FROM ({flags}))
     + (SELECT count(*) FROM ({flag_citations}))
"""
PUBLISH_FINISHED = "SELECT count(*) FROM stages WHERE stage = 'publish'"


def _cpu_seconds(pid: int | None) -> float | None:
    """User and system CPU seconds of process `pid` so far (Linux /proc), None elsewhere: the machine is shared,
    so the server's CPU is a steadier figure than its wall time."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _export_graph_rows(con: duckdb.DuckDBPyConnection) -> int:
    """Nodes and relationships a publish of the whole round writes: a pensioner and its VERDICT; an identifier
    row (HAS_*; its node counted once per value); a record, its RESOLVED_TO and its OBSERVED_ON edges; a flag and
    CONCERNS; a citation."""
    return int(sql.scalar(con, "export_graph_rows", sql.compose(GRAPH_ROWS, **EXPORT_QUERIES)))


def _result(total: float, counts: dict[str, int], seconds: dict[str, float]) -> dict:
    rows = sum(counts.values())
    return {"seconds": round(total, 1), "rows": rows, "rows_per_s": round(rows / total), "phases": seconds,
            "counts": counts}


def _finished(out: Path) -> bool:
    database = out / "state" / "round.duckdb"
    if not database.exists() or not (out / "report.json").exists():
        return False
    con = duckdb.connect(str(database), read_only=True)
    try:
        return bool(sql.scalar(con, "publish_finished", PUBLISH_FINISHED))
    finally:
        con.close()


def _run(argv: list[str], log: Path) -> None:
    started = time.perf_counter()
    with open(log, "wb") as handle:
        if subprocess.run(argv, stdout=handle, stderr=subprocess.STDOUT, check=False).returncode:
            sys.exit(f"{' '.join(argv[:3])} failed, see {log}")
    print(f"{' '.join(argv[:3])}: {time.perf_counter() - started:.0f} s", file=sys.stderr)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pensioners", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--cache", type=Path, default=Path("/tmp/neo4j-publish-bench"))
    parser.add_argument("--round-out", type=Path, help="a finished round directory to publish instead")
    parser.add_argument("--unwind", action="store_true", help="also time the UNWIND publish of the same round")
    parser.add_argument("--batch-size", type=int, default=10000, help="UNWIND rows per transaction")
    parser.add_argument("--writers", type=int, default=0, help="sessions writing at once (0: the store's default)")
    parser.add_argument("--rounds", type=Path, nargs="+", help="finished rounds to publish one after the other")
    parser.add_argument("--no-bulk", action="store_true", help="skip the bulk import")
    parser.add_argument("--keep-running", action="store_true", help="leave the throwaway server running")
    args = parser.parse_args()
    if args.rounds:
        print(json.dumps(series(args.rounds, args.batch_size, args.writers), indent=2))
        return
    out = args.round_out or finished_round(args.pensioners, args.seed, args.cache)
    settings = throwaway_home(args.cache)
    result: dict = {"round": str(out), "load_before": os.getloadavg()[0]}
    try:
        if not args.no_bulk:
            result["bulk"] = bulk(settings, out)
        if args.unwind:
            result["unwind"] = unwind(settings, out, args.batch_size)
    finally:
        if not args.keep_running:
            server.stop(settings)
    result["load_after"] = os.getloadavg()[0]
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
