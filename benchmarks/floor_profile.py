"""A round against its floor, stage by stage, measured in the same minutes.

    python benchmarks/floor_profile.py --pensioners 200000 [--seed 7] [--cache DIR] [--repeat 2]
    python benchmarks/floor_profile.py --round GEN [--repeat 2]

The floor is `../shared/bench/floor.py ROUND_DIR` (`--floor PATH` to point elsewhere): DuckDB alone reading every
input file, joining each row to the registry by exact ID number, card, phone or person ID, and writing one link
row per input row and one verdict per person. It is run as given, for the ratio the performance goals are stated
in, and once more split into its phases (the same statements, timed apart), so each stage of the round has the
floor's share it stands for:

    ingest      ↔ read        every file into DuckDB (GB18030 decoded first, as floor.py does)
    resolve     ↔ join        the exact joins to the registry
    score + deathcheck + forecast ↔ aggregate   one row per person (the latest evidence date)
    publish     ↔ write       links and verdicts written out

Runs alternate (floor, phased floor, round) `--repeat` times so a change in the machine's load shows in all three.
The round is `silentcert round run` as a child process (benchmarks/round_bench.py: wall, peak RSS, stage seconds).
floor.py reads CSV only, so a round with Parquet sources is first copied with those sources rewritten as CSV
(`GEN-csv` beside it; the other files hard-linked), and both the floor and the round read that copy.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import sys
import tempfile
import time
import tomllib
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks.round_bench import generate, run_child, run_round  # noqa: E402
from silentcert.graph import sql  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
DEFAULT_FLOOR = REPO.parent / "shared" / "bench" / "floor.py"
PHASE_OF_STAGE = {"ingest": "read", "resolve": "join", "score": "aggregate", "deathcheck": "aggregate", "forecast": "aggregate",
                  "publish": "write"}
KEYS = ("id_number", "card_no", "phone", "person_id")

SET_INSERTION_ORDER = "SET preserve_insertion_order = false"
READ_CSV = """CREATE TABLE {table} AS SELECT * FROM read_csv($path, all_varchar = true, header = true,
              ignore_errors = true, null_padding = true)"""
DESCRIBE = "DESCRIBE {table}"
# one source's rows as (source, record_id, key, kind, at): the source's name and its key's kind are the two ? values
SOURCE_SELECT = "SELECT ? AS source, {record_id} AS record_id, {key} AS k, ? AS kind, {at} AS at FROM {table}"
# {selects}: every source's SOURCE_SELECT, joined by UNION ALL
SOURCE_ROWS = "CREATE TABLE source_rows AS {selects}"
REGISTRY_KEYS = """CREATE TABLE keys AS
  SELECT person_id, 'id_number' AS kind, id_number AS k FROM reg UNION ALL
  SELECT person_id, 'card_no', card_no FROM reg UNION ALL
  SELECT person_id, 'phone', phone FROM reg UNION ALL SELECT person_id, 'person_id', person_id FROM reg"""
LINKS = """CREATE TABLE links AS SELECT r.source, r.record_id, k.person_id, r.at
  FROM source_rows r LEFT JOIN keys k ON k.kind = r.kind AND k.k = r.k"""
VERDICTS = """CREATE TABLE verdicts AS SELECT g.person_id, max(l.at) AS evidence_at
  FROM reg g LEFT JOIN links l USING (person_id) GROUP BY 1"""
WRITE_LINKS = "COPY (SELECT source, record_id, person_id FROM links) TO $path (HEADER)"
WRITE_VERDICTS = "COPY verdicts TO $path (HEADER)"
PARQUET_AS_CSV = "COPY (SELECT * FROM read_parquet($source)) TO $target (HEADER)"
PARQUET_FILE = re.compile(r'^(file\s*=\s*")([^"]+)\.parquet(")', re.MULTILINE)


def csv_only(round_dir: Path) -> Path:
    """The round itself when every file is CSV, else (once) a copy whose Parquet sources are CSV files."""
    text = (round_dir / "round.toml").read_text(encoding="utf-8")
    parquet = [m.group(2) + ".parquet" for m in PARQUET_FILE.finditer(text)]
    if not parquet:
        return round_dir
    copy = round_dir.with_name(round_dir.name + "-csv")
    if (copy / "round.toml").exists():
        return copy
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(round_dir, copy, copy_function=os.link, ignore=shutil.ignore_patterns("truth"))
    with duckdb.connect() as con:
        for name in parquet:
            target = (copy / name).with_suffix(".csv")
            sql.run(con, "parquet_as_csv", PARQUET_AS_CSV, {"source": str(round_dir / name), "target": str(target)})
            (copy / name).unlink()
    (copy / "round.toml").unlink()  # a hard link to the round's own round.toml: write a new file, not into it
    (copy / "round.toml").write_text(PARQUET_FILE.sub(r"\1\2.csv\3", text), encoding="utf-8")
    return copy


def decoded(path: Path, encoding: str | None, tmp: Path) -> Path:
    """The file itself when UTF-8, else a UTF-8 copy (what floor.py does before DuckDB reads it)."""
    if not encoding or encoding.lower() in ("utf-8", "utf8"):
        return path
    out = tmp / path.name
    with open(path, encoding=encoding, newline="") as src, open(out, "w", encoding="utf-8", newline="") as dst:
        while chunk := src.read(1 << 22):
            dst.write(chunk)
    return out


def phased_floor(round_dir: Path) -> dict:
    """floor.py's statements, timed as read / join / aggregate / write (seconds) in this process."""
    spec = tomllib.loads((round_dir / "round.toml").read_text(encoding="utf-8"))
    seconds: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        con = duckdb.connect()
        sql.run(con, "insertion_order", SET_INSERTION_ORDER)
        start = time.perf_counter()
        sql.run(con, "read_registry", sql.with_idents(READ_CSV, table="reg"),
                {"path": str(round_dir / spec["registry"]["file"])})
        selects, values = [], []
        for i, source in enumerate(spec["sources"]):
            path = decoded(round_dir / source["file"], source.get("encoding"), tmp)
            sql.run(con, f"read_{source['name']}", sql.with_idents(READ_CSV, table=f"s{i}"), {"path": str(path)})
            if selected := _source_select(con, i, source):
                selects.append(selected[0])
                values += selected[1]
        seconds["read"] = time.perf_counter() - start
        start = time.perf_counter()
        sql.run(con, "source_rows", sql.compose(SOURCE_ROWS, selects=" UNION ALL ".join(selects)), values)
        sql.run(con, "registry_keys", REGISTRY_KEYS)
        sql.run(con, "links", LINKS)
        seconds["join"] = time.perf_counter() - start
        start = time.perf_counter()
        sql.run(con, "verdicts", VERDICTS)
        seconds["aggregate"] = time.perf_counter() - start
        start = time.perf_counter()
        sql.run(con, "write_links", WRITE_LINKS, {"path": str(tmp / "links.csv")})
        sql.run(con, "write_verdicts", WRITE_VERDICTS, {"path": str(tmp / "verdicts.csv")})
        seconds["write"] = time.perf_counter() - start
        con.close()
    return {k: round(v, 2) for k, v in seconds.items()} | {
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024}


def _source_select(con: duckdb.DuckDBPyConnection, i: int, source: dict) -> tuple[str, list[str]] | None:
    """The source's SOURCE_SELECT, keyed by its first identifier floor.py uses, with its two values; None when
    it has none of them."""
    columns = source.get("columns", {})
    have = {row[0] for row in sql.fetchall(con, f"describe_{source['name']}", sql.with_idents(DESCRIBE, table=f"s{i}"))}
    key = next((k for k in KEYS if columns.get(k, k) in have), None)
    if key is None:
        return None
    select = sql.with_idents(SOURCE_SELECT, record_id=columns.get("record_id", "record_id"), key=columns.get(key, key),
                             at=columns.get("occurred_at", "occurred_at"), table=f"s{i}")
    return select, [source["name"], key]


def child_json(argv: list[str], log: Path) -> dict:
    """Run argv as a child (wall, peak RSS from wait4) and merge the JSON object its last line prints."""
    measured = run_child(argv, log)
    if measured["exit"] != 0:
        sys.exit(f"{argv[1]} failed (exit {measured['exit']}), see {log}")
    return measured | json.loads(log.read_text(encoding="utf-8").strip().splitlines()[-1])


def profile(round_dir: Path, out: Path, floor: Path, repeat: int) -> dict:
    runs = []
    for k in range(repeat):
        official = child_json([sys.executable, str(floor), str(round_dir)], out.with_suffix(f".floor{k}.log"))
        phases = child_json([sys.executable, __file__, "--phases", str(round_dir)],
                            out.with_suffix(f".phases{k}.log"))
        runs.append({"floor": official, "phases": phases, "round": run_round(round_dir, out)})
    return {"round_dir": str(round_dir), "runs": runs}


def print_report(result: dict) -> None:
    for k, run in enumerate(result["runs"], 1):
        floor, phases, rnd = run["floor"], run["phases"], run["round"]
        print(f"\nrun {k}: {rnd['evidence_rows']:,} source rows, load {rnd['load_before']} -> {rnd['load_after']}")
        print(f"  {'stage':<17} {'round s':>8} {'floor phase':>12} {'floor s':>8} {'ratio':>6}")
        shares: dict[str, float] = {}
        for stage, phase in PHASE_OF_STAGE.items():
            shares[phase] = shares.get(phase, 0.0) + (rnd["stages"].get(stage) or 0.0)
        for phase in ("read", "join", "aggregate", "write"):
            stages = "+".join(s for s, p in PHASE_OF_STAGE.items() if p == phase)
            print(f"  {stages:<17} {shares[phase]:>8.1f} {phase:>12} {phases[phase]:>8.2f} "
                  f"{shares[phase] / max(phases[phase], 0.01):>5.1f}×")
        ratio = rnd["wall_s"] / floor["floor_s"]
        print(f"  of resolve, its two Splink models' training: {rnd['training_s']:.1f} s = "
              f"{rnd['training_s'] / floor['floor_s']:.1f}× the floor")
        print(f"  round {rnd['wall_s']:.1f} s, peak RSS {rnd['peak_rss_mib']:,} MiB; floor.py {floor['floor_s']} s "
              f"(peak {floor['peak_rss_mb']:,} MiB): round = {ratio:.1f}× the floor")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--pensioners", type=int, help="generate (once, cached) a province of this size")
    where.add_argument("--round", type=Path, help="an existing round directory (its round.toml)")
    where.add_argument("--phases", type=Path, help=argparse.SUPPRESS)  # the child that times the floor's phases
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "silentcert-bench")
    parser.add_argument("--floor", type=Path, default=DEFAULT_FLOOR, help="floor.py (default ../shared/bench)")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if args.phases:
        print(json.dumps(phased_floor(args.phases)))
        return
    if not args.floor.is_file():
        sys.exit(f"floor script not found: {args.floor} (give --floor PATH)")
    if args.round:
        round_dir, name = args.round, args.round.name
    else:
        round_dir, _ = generate(args.pensioners, args.seed, args.cache)
        name = round_dir.name
    args.cache.mkdir(parents=True, exist_ok=True)
    round_dir = csv_only(round_dir)
    result = profile(round_dir, args.cache / f"floor-out-{name}", args.floor, args.repeat)
    print(json.dumps(result, indent=1) if args.json else "", end="")
    if not args.json:
        print_report(result)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
