"""A whole series of monthly rounds (``silentcert generate --months N``) on one chained store, round after round.

Each round runs as ``silentcert round run ROUND.toml --out WORK/out/ROUND --store WORK/graph.duckdb`` would (and
with ``--neo4j URI``, publishes to Neo4j as the system of record). After each round the resolver, liveness and
deathcheck services are started over the store on a real port and what the series' truth says happens before the
next round is applied through them: the face checks of truth/certifications.csv through RecordCertification, and
the reviewers' home visits of truth/reviews.csv as DecideFlag on the visited person's open death flags (confirm when
the reviewer finds the person dead, dismiss when alive). Per round it records the round's wall time, the store's
size (embedded: the graph.duckdb file and its WAL; Neo4j: nodes and relationships), GetLiveness latency over a
sample of the registry (p50/p99), certified / suspended / restored / stopped people, arrears, and the quality the
truth checks: dead people certified, living people whose payments are held.

    python -m benchmarks.series_bench --series SERIES --work WORK [--neo4j bolt://... [--first-load bulk]]
        [--sample 500] [--json F]

With `--first-load bulk` the first round is bulk-loaded into the local Neo4j (`silentcert neo4j import`, the way an
operator starts a province) and the later rounds publish incrementally. Prints a table (its last columns: the
system of record's publish and retention seconds) and writes WORK/series_bench.json (or --json).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import statistics
import time
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb

from silentcert.clients import logs
from silentcert.clients.grpc_client import SilentcertClient
from silentcert.clients.rounds import load_round_and_settings, open_stores, run_loaded_round
from silentcert.deathcheck.v1 import deathcheck_pb2
from silentcert.graph import sql
from silentcert.graph.connect import StoreSettings
from silentcert.graph.errors import Conflict, InvalidInput, NotFound
from silentcert.graph.neo4j_local.settings import LocalNeo4jSettings
from silentcert.liveness.v1 import liveness_pb2
from silentcert.services import serving
from silentcert.services.deathcheck.effects import effect
from silentcert.services.rounds import bulk_publish
from silentcert.services.security.rate_limit import RateLimit
from silentcert.services.security.settings import SecuritySettings

REVIEWER = "home-visit"
FACE_APP = "face-app"
HELD = {"suspend", "stop"}


@dataclass
class RoundFigures:
    round_id: str
    seconds: float
    store_bytes: int | None
    store_used_bytes: int | None
    store_entities: int | None
    liveness_p50_ms: float
    liveness_p99_ms: float
    certified: int
    suspended: int
    restored: int
    stopped: int
    arrears_yuan: float
    dead_certified: int
    dead_certified_after_death: int
    living_held: int
    dead: int
    living: int
    retention: dict[str, dict[str, int]] = field(default_factory=dict)  # per store: dropped per kind
    publish_seconds: dict[str, float] = field(default_factory=dict)  # per store: its publish, its retention rule
    certifications_recorded: int = 0
    certifications_refused: int = 0
    flags_decided: dict[str, int] = field(default_factory=dict)


def series_rounds(series: Path) -> list[tuple[str, Path]]:
    """(round id, round.toml) in order, from truth/series.json."""
    info = json.loads((series / "truth" / "series.json").read_text(encoding="utf-8"))
    return [(r["round_id"], series / r["round_toml"]) for r in info["rounds"]]


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


class SeriesRunner:
    """Runs the rounds of one series on one chained store and applies the truth's events between them."""

    def __init__(self, series: Path, work: Path, neo4j_uri: str | None = None, sample: int = 500, seed: int = 1,
                 bulk_first: bool = False):
        self.series, self.work, self.neo4j_uri, self.sample, self.seed = series, work, neo4j_uri, sample, seed
        self.bulk_first = bulk_first  # the first round into Neo4j by `silentcert neo4j import`, as an operator would
        self.store_path = work / "graph.duckdb"
        self.certifications = defaultdict(list)
        for row in read_csv(series / "truth" / "certifications.csv"):
            self.certifications[row["after_round"]].append(row)
        self.reviews = defaultdict(list)
        for row in read_csv(series / "truth" / "reviews.csv"):
            self.reviews[row["after_round"]].append(row)
        self.held: dict[str, bool] = {}  # person_id -> payments held after the latest round

    def out(self, round_id: str) -> Path:
        return self.work / "out" / round_id

    def run(self, rounds: int | None = None, report=print, save=None) -> list[RoundFigures]:
        """Every round (or the first `rounds`); `report` gets each round's table row, `save` the figures so far."""
        figures = []
        plan = series_rounds(self.series)[:rounds]
        for k, (round_id, round_file) in enumerate(plan):
            figures.append(self.run_round(round_id, round_file, last=k == len(plan) - 1))
            report(format_row(figures[-1]))
            if save:
                save(figures)
        return figures

    def run_round(self, round_id: str, round_file: Path, last: bool) -> RoundFigures:
        out = self.out(round_id)
        spec, settings = load_round_and_settings(round_file)
        logs.log_to_file(out)
        bulk = self.bulk_first and not self.store_path.exists()
        started = time.perf_counter()
        summary = run_loaded_round(spec, settings, out, self.store_path, None if bulk else self.neo4j_uri)
        publish = summary.stages.get("publish", {})
        if bulk:
            loaded = bulk_publish.import_round(LocalNeo4jSettings.from_env(), out)
            publish["Neo4jStore_seconds"] = round(sum(loaded.seconds.values()), 1)
        seconds = time.perf_counter() - started
        retention = {k: v for k, v in publish.items() if k.endswith("_retention")}
        figures = self._outcomes(round_id, round_file.parent, seconds, retention)
        figures.publish_seconds = {k: v for k, v in publish.items() if k.endswith("_seconds")}
        with open_stores(self._store_settings()) as stores:
            figures.store_entities = sum(stores[-1].counts().values()) if self.neo4j_uri else None
            running = serving.start(_serve_settings(), stores)
            try:
                with SilentcertClient(f"127.0.0.1:{running.port}", timeout=60) as client:
                    figures.liveness_p50_ms, figures.liveness_p99_ms = self._latency(client, round_file.parent,
                                                                                     round_id)
                    if not last:
                        self._between_rounds(client, round_id, figures)
            finally:
                running.server.stop(0).wait()
        figures.store_bytes = store_bytes(self.store_path)
        figures.store_used_bytes = used_bytes(self.store_path)
        return figures

    def _store_settings(self) -> StoreSettings:
        return StoreSettings.from_env(embedded_path=self.store_path, neo4j_uri=self.neo4j_uri)

    def _outcomes(self, round_id: str, round_dir: Path, seconds: float, retention: dict) -> RoundFigures:
        out = self.out(round_id)
        verdicts = {r["person_id"]: r for r in read_csv(out / "verdicts.csv")}
        payments = read_csv(out / "payments.csv")
        for row in payments:
            self.held[row["person_id"]] = row["action"] in HELD
        truth = read_csv(round_dir / "truth" / "persons.csv")
        died = {r["person_id"]: r["death_date"] for r in truth if r["alive"] == "0"}
        dead = set(died)
        living = [r["person_id"] for r in truth if r["alive"] == "1"]
        actions = defaultdict(list)
        for row in payments:
            actions[row["action"]].append(row)
        return RoundFigures(
            round_id=round_id, seconds=seconds, store_bytes=None, store_used_bytes=None, store_entities=None,
            liveness_p50_ms=0.0, liveness_p99_ms=0.0,
            certified=sum(v["status"] == "certified" for v in verdicts.values()),
            suspended=len(actions["suspend"]), restored=len(actions["restore"]), stopped=len(actions["stop"]),
            arrears_yuan=round(sum(float(r["amount"]) for r in actions["restore"]), 2),
            dead_certified=sum(verdicts.get(p, {}).get("status") == "certified" for p in dead),
            # certified on evidence dated after the death (the fund's exposure to fraud); dead_certified also
            # counts periods carried or set by records from before the death, which no round can know better
            dead_certified_after_death=sum(_after_death(verdicts.get(p), died[p]) for p in dead),
            living_held=sum(self.held.get(p, False) for p in living),
            dead=len(dead), living=len(living), retention=retention)

    def _latency(self, client: SilentcertClient, round_dir: Path, round_id: str) -> tuple[float, float]:
        people = [r["person_id"] for r in read_csv(round_dir / "registry.csv")]
        picked = random.Random(f"{self.seed}:{round_id}").sample(people, min(self.sample, len(people)))
        client.get_liveness(person_id=picked[0])  # the first call opens the channel
        took = []
        for person_id in picked:
            started = time.perf_counter()
            client.get_liveness(person_id=person_id)
            took.append((time.perf_counter() - started) * 1000)
        took.sort()
        return round(statistics.median(took), 2), round(took[min(len(took) - 1, int(0.99 * len(took)))], 2)

    def _between_rounds(self, client: SilentcertClient, round_id: str, figures: RoundFigures) -> None:
        """The face checks made before the next round, then the reviewers' decisions."""
        for row in self.certifications.get(round_id, []):
            try:
                client.record_certification(
                    person_id=row["person_id"], channel=liveness_pb2.CERTIFICATION_CHANNEL_FACE,
                    occurred_at=datetime.fromisoformat(row["occurred_at"]).replace(tzinfo=UTC),
                    passed=row["passed"] == "1", record_id=row["record_id"], operator=FACE_APP)
                figures.certifications_recorded += 1
            except (NotFound, Conflict, InvalidInput):  # counted: a check the service refuses is a figure
                figures.certifications_refused += 1
        visits = {r["person_id"]: r for r in self.reviews.get(round_id, [])}
        decided: dict[str, int] = defaultdict(int)
        for flag in list(client.iter_flags(status=deathcheck_pb2.FLAG_STATUS_OPEN, page_size=200)):
            visit = visits.get(flag.person_id)
            if visit is None or effect(flag.kind, "confirm") != "deceased":
                continue
            if visit["finding"] == "dead":
                client.decide_flag(flag.flag_id, deathcheck_pb2.DECISION_ACTION_CONFIRM, REVIEWER,
                                   f"found dead on the home visit of {visit['decided_at']}")
                decided["confirm"] += 1
            else:
                client.decide_flag(flag.flag_id, deathcheck_pb2.DECISION_ACTION_DISMISS, REVIEWER,
                                   f"seen alive on the home visit of {visit['decided_at']}")
                decided["dismiss"] += 1
        figures.flags_decided = dict(decided)


def _serve_settings() -> serving.ServeSettings:
    # one local caller in a loop: the per-caller rate limit would pace the latency sample, so it is lifted
    security = SecuritySettings(insecure_dev=True, rate=RateLimit(rate=100_000.0, burst=100_000.0))
    return serving.ServeSettings(address="127.0.0.1:0", security=security, grace_seconds=0)


def store_bytes(path: Path) -> int:
    """The embedded store on disk: its file and write-ahead log."""
    wal = path.with_name(path.name + ".wal")
    return path.stat().st_size + (wal.stat().st_size if wal.exists() else 0)


def used_bytes(path: Path) -> int:
    """The blocks the embedded store's tables use: the file keeps blocks freed by deletes and reuses them."""
    with duckdb.connect(str(path), read_only=True) as con:
        used, size = sql.one(con, "used_blocks", USED_BLOCKS)
    return int(used) * int(size)


def _after_death(verdict: dict | None, death_date: str) -> bool:
    """Certified by a record or window dated after the person's death."""
    return (verdict is not None and verdict["status"] == "certified" and verdict["method"] != "carried"
            and bool(death_date) and verdict["evidence_at"][:10] > death_date[:10])


USED_BLOCKS = "SELECT used_blocks, block_size FROM pragma_database_size()"

HEADER = (f"{'round':<8} {'seconds':>8} {'file MB':>8} {'used MB':>8} {'entities':>10} {'p50 ms':>7} {'p99 ms':>7} "
          f"{'certified':>9} {'suspend':>7} {'restore':>7} {'stop':>5} {'arrears':>10} {'dead cert':>9} {'after death':>11} "
          f"{'living held':>11} {'events dropped':>14} {'publish s':>9} {'retention s':>11}")


def format_row(f: RoundFigures) -> str:
    dropped = sum(r.get("events", 0) for r in f.retention.values())
    entities = f"{f.store_entities:,}" if f.store_entities is not None else "-"
    store = "Neo4jStore" if f.store_entities is not None else "EmbeddedStore"  # the system of record's figures

    def record(figure: str) -> str:
        seconds = f.publish_seconds.get(f"{store}_{figure}")
        return "-" if seconds is None else f"{seconds:.1f}"
    return (f"{f.round_id:<8} {f.seconds:>8.1f} {(f.store_bytes or 0) / 1e6:>8.1f} {(f.store_used_bytes or 0) / 1e6:>8.1f} {entities:>10} "
            f"{f.liveness_p50_ms:>7.2f} {f.liveness_p99_ms:>7.2f} {f.certified:>9,} {f.suspended:>7,} "
            f"{f.restored:>7,} {f.stopped:>5,} {f.arrears_yuan:>10,.0f} {f.dead_certified:>9,} {f.dead_certified_after_death:>11,} "
            f"{f.living_held:>11,} {dropped:>14,} {record('seconds'):>9} {record('retention_seconds'):>11}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--series", type=Path, required=True, help="directory written by generate --months")
    parser.add_argument("--work", type=Path, required=True, help="where the store and round outputs go (new)")
    parser.add_argument("--neo4j", help="Bolt URI: publish to Neo4j too and serve from it (NEO4J_USER/PASSWORD)")
    parser.add_argument("--first-load", choices=("publish", "bulk"), default="publish",
                        help="with --neo4j: the first round through the incremental publish, or bulk-loaded into "
                             "the local server (SILENTCERT_NEO4J_HOME, _BOLT_PORT) by `silentcert neo4j import`")
    parser.add_argument("--rounds", type=int, help="run only the first N rounds")
    parser.add_argument("--sample", type=int, default=500, help="GetLiveness calls per round")
    parser.add_argument("--json", type=Path, help="write the figures here (default WORK/series_bench.json)")
    parser.add_argument("-v", "--verbose", action="store_true", help="libraries' log records on the console too")
    args = parser.parse_args(argv)
    if not (args.series / "truth" / "series.json").exists():
        parser.error(f"--series {args.series}: no truth/series.json (write one with `silentcert generate --months`)")
    if args.work.exists() and any(args.work.iterdir()):
        parser.error(f"--work {args.work} is not empty: the series needs a fresh store")
    logs.configure(args.verbose)
    args.work.mkdir(parents=True, exist_ok=True)
    path = args.json or args.work / "series_bench.json"

    def save(figures: list[RoundFigures]) -> None:  # after every round: a long series interrupted keeps its figures
        path.write_text(json.dumps({"series": str(args.series), "neo4j": bool(args.neo4j), "cpus": os.cpu_count(),
                                    "run_on": date.today().isoformat(), "rounds": [asdict(f) for f in figures]},
                                   indent=1) + "\n", encoding="utf-8")
    print(HEADER)
    SeriesRunner(args.series, args.work, args.neo4j, args.sample,
                 bulk_first=args.neo4j is not None and args.first_load == "bulk").run(args.rounds, save=save)
    print(f"figures: {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
