"""Time publishing a finished round into a fresh embedded store, per step, with peak RSS.

    python benchmarks/embedded_round_publish_bench.py OUT/state/round.duckdb GRAPH.duckdb [--republish]
        [--round-memory 4GB] [--store-memory 2GB]

The round database is opened read-only; `--round-memory` bounds it as the round pipeline does (its
`resources.memory_limit`). The graph file is deleted first. Peak RSS is the process's (resource.getrusage).
"""

from __future__ import annotations

import argparse
import resource
import time
from datetime import date
from pathlib import Path

import duckdb

from silentcert.graph import sql
from silentcert.graph.embedded import EmbeddedStore
from silentcert.services.rounds.publish import round_export

SET_INSERTION_ORDER = "SET preserve_insertion_order = false"


def peak_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("round_db", type=Path)
    parser.add_argument("graph", type=Path)
    parser.add_argument("--republish", action="store_true", help="publish the same round a second time")
    parser.add_argument("--round-memory", default=None, help="memory_limit of the round database connection")
    parser.add_argument("--store-memory", default="2GB", help="memory_limit of the embedded store")
    args = parser.parse_args()
    for stale in (args.graph, args.graph.with_name(args.graph.name + ".wal")):
        stale.unlink(missing_ok=True)
    started = time.monotonic()
    con = duckdb.connect(str(args.round_db), read_only=True)
    if args.round_memory:
        sql.set_memory_limit(con, "round_memory_limit", args.round_memory)
        sql.run(con, "round_insertion_order", SET_INSERTION_ORDER)
    export = round_export(con, "bench", date(2021, 10, 31))
    for attempt in range(2 if args.republish else 1):
        with EmbeddedStore(args.graph, memory_limit=args.store_memory) as store:
            last = [time.monotonic()]
            begun = last[0]

            def progress(table: str, rows: int, last: list[float] = last) -> None:
                now = time.monotonic()
                print(f"  {table:15s} {rows:>10} rows {now - last[0]:7.1f} s  peak {peak_gb():.2f} GB", flush=True)
                last[0] = now

            written = store.publish_round(export, progress=progress)
            print(f"  commit {time.monotonic() - last[0]:.1f} s", flush=True)
            print(f"publish #{attempt + 1}: {time.monotonic() - begun:.1f} s, {sum(written.values())} rows, "
                  f"peak {peak_gb():.2f} GB", flush=True)
            counts = store.counts()
    print(counts)
    print(f"total {time.monotonic() - started:.1f} s, peak {peak_gb():.2f} GB, "
          f"graph {args.graph.stat().st_size / 1e9:.2f} GB")


if __name__ == "__main__":
    main()
