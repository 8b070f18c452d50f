"""Whole-round benchmark: generate a synthetic province (cached), run `silentcert round run`, time it per stage.

    python benchmarks/round_bench.py --pensioners 200000 [--seed 7] [--cache DIR] [--quality]

The round directory is cached as CACHE/gen-N-sSEED (generated once; the generation time is printed when it runs).
The round runs as a child process into a fresh CACHE/out-N-sSEED; its wall time and peak RSS come from
os.wait4 on that child (the same figures `/usr/bin/time -v` prints), per-stage seconds from the `stages` table in
OUT/state/round.duckdb. The machine is shared, so the 1-minute load average before and after is printed too.
`--quality` then runs benchmarks/province_quality.py on the result.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb

from silentcert.graph import sql

AS_OF = "2021-10-31"
STAGES = ("ingest", "resolve", "score", "deathcheck", "forecast", "publish")


def run_child(argv: list[str], log: Path) -> dict:
    """Run argv with stdout/stderr to `log`; wall seconds, peak RSS (MiB), CPU seconds and exit code."""
    start = time.perf_counter()
    with open(log, "wb") as out:
        child = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    return {"wall_s": round(time.perf_counter() - start, 2), "peak_rss_mib": round(usage.ru_maxrss / 1024),
            "cpu_s": round(usage.ru_utime + usage.ru_stime, 1), "exit": child.returncode}


def generate(n: int, seed: int, cache: Path) -> tuple[Path, dict | None]:
    """The cached round directory; generate it (timed) when absent."""
    round_dir = cache / f"gen-{n}-s{seed}"
    if (round_dir / "round.toml").exists() and (round_dir / "truth" / "persons.csv").exists():
        return round_dir, None
    shutil.rmtree(round_dir, ignore_errors=True)
    cache.mkdir(parents=True, exist_ok=True)
    argv = ["silentcert", "generate", "--pensioners", str(n), "--seed", str(seed), "--as-of", AS_OF,
            "--out", str(round_dir)]
    measured = run_child(argv, cache / f"gen-{n}-s{seed}.log")
    if measured["exit"] != 0:
        sys.exit(f"generate failed, see {cache / f'gen-{n}-s{seed}.log'}")
    return round_dir, measured


STAGE_STATS = "SELECT stage, stats FROM stages"
SOURCE_ROWS = "SELECT sum(input_rows) FROM source_counts WHERE source <> 'registry'"


def stage_seconds(out: Path) -> dict[str, dict]:
    con = duckdb.connect(str(out / "state" / "round.duckdb"), read_only=True)
    try:
        rows = sql.fetchall(con, "stage_stats", STAGE_STATS)
    finally:
        con.close()
    return {stage: json.loads(stats) for stage, stats in rows}


def training_seconds(resolve: dict) -> float:
    """Seconds resolve spent training its two Splink models (the linkage and the duplicate search): u and EM on
    samples capped by `[linkage] u_max_pairs` and `em_max_pairs`, drawn from the whole round."""
    parts = (resolve.get("splink", {}), resolve.get("duplicates", {}))
    return round(sum(part.get("train_seconds", 0.0) for part in parts), 2)


def input_rows(out: Path) -> int:
    con = duckdb.connect(str(out / "state" / "round.duckdb"), read_only=True)
    try:
        return int(sql.scalar(con, "source_rows", SOURCE_ROWS))
    finally:
        con.close()


def run_round(round_dir: Path, out: Path) -> dict:
    shutil.rmtree(out, ignore_errors=True)
    load_before = os.getloadavg()[0]
    measured = run_child(["silentcert", "round", "run", str(round_dir / "round.toml"), "--out", str(out)],
                         out.with_suffix(".log"))
    measured["load_before"], measured["load_after"] = round(load_before, 1), round(os.getloadavg()[0], 1)
    if measured["exit"] != 0:
        sys.exit(f"round failed (exit {measured['exit']}), see {out.with_suffix('.log')}")
    stats = stage_seconds(out)
    measured["stages"] = {s: stats.get(s, {}).get("seconds") for s in STAGES}
    measured["training_s"] = training_seconds(stats.get("resolve", {}))
    measured["evidence_rows"] = int(input_rows(out))
    return measured


def print_table(n: int, gen: dict | None, result: dict) -> None:
    print(f"\nround of {n:,} pensioners, {result['evidence_rows']:,} source rows")
    if gen:
        print(f"generate        {gen['wall_s']:>8.1f} s   peak RSS {gen['peak_rss_mib']:,} MiB")
    for stage, seconds in result["stages"].items():
        print(f"  {stage:<13} {seconds if seconds is not None else float('nan'):>8.1f} s")
    print(f"    of which Splink training {result['training_s']:.1f} s")
    print(f"round run       {result['wall_s']:>8.1f} s   peak RSS {result['peak_rss_mib']:,} MiB   "
          f"CPU {result['cpu_s']} s   load {result['load_before']} -> {result['load_after']}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pensioners", type=int, required=True)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "silentcert-bench")
    parser.add_argument("--quality", action="store_true", help="score the round against the truth afterwards")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    round_dir, gen = generate(args.pensioners, args.seed, args.cache)
    out = args.cache / f"out-{args.pensioners}-s{args.seed}"
    result = run_round(round_dir, out)
    result |= {"pensioners": args.pensioners, "seed": args.seed, "generate": gen, "round_dir": str(round_dir),
               "out": str(out)}
    if args.json:
        print(json.dumps(result, indent=1))
    else:
        print_table(args.pensioners, gen, result)
    if args.quality:
        sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
        from benchmarks import province_quality
        province_quality.main([str(out), str(round_dir)] + (["--json"] if args.json else []))


if __name__ == "__main__":
    main()
