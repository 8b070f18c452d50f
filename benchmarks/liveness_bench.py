"""Time province round scoring: N pensioners and ~8 linked records each, built with numpy, scored in DuckDB.

    python benchmarks/liveness_bench.py --pensioners 1000000 [--seed 7] [--db PATH]

Builds the stage tables score_round reads (registry, records, links, link_candidates, previous_periods) as the
resolver would leave them, then times score_round (inside one transaction, as the pipeline runs it) and
build_notices. Prints wall times, peak RSS of the process and, against the generator's own ground truth, the
certified share of the alive with evidence and the dead certified on evidence dated after their death. The
population is this script's toy, not the synthetic province: the quality figures only check the mechanics.
"""

from __future__ import annotations

import argparse
import json
import resource
import tempfile
import time
from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

from silentcert.graph import sql
from silentcert.services.liveness.notices import build_notices
from silentcert.services.liveness.score_stage import score_round
from silentcert.services.liveness.settings import LivenessSettings

AS_OF = date(2021, 10, 31)
STRONG = np.array(["vaccination", "inpatient", "rail", "air"])
WEAK = np.array(["card_spending", "outpatient", "telecom", "bus_rides", "bank_visits"])
RELATIVES = np.array(["card_spending", "telecom", "bank_visits"])


def build(con: duckdb.DuckDBPyConnection, n: int, seed: int) -> dict[str, np.ndarray]:
    """Write the stage tables; returns the ground truth (dead flag and death offset per person)."""
    rng = np.random.default_rng(seed)
    dead = rng.random(n) < 0.03
    death_off = np.where(dead, -rng.integers(1, 365, n), 0)
    parts = [_genuine(rng, n, dead, death_off), _relatives(rng, dead, death_off), _deaths(rng, dead, death_off)]
    person, kind, source, offset, passed = (np.concatenate(col) for col in zip(*parts, strict=True))
    _write(con, rng, n, person, kind, source, offset, passed)
    return {"dead": dead, "death_off": death_off}


def _genuine(rng, n, dead, death_off):
    strong_n, weak_n = rng.poisson(1.0, n), rng.poisson(6.5, n)
    face_n = (rng.random(n) < 0.05).astype(np.int64)
    kind = np.concatenate([np.repeat(k, c) for k, c in (("strong", strong_n.sum()), ("weak", weak_n.sum()),
                                                         ("face", face_n.sum()))])
    person = np.concatenate([np.repeat(np.arange(n), c) for c in (strong_n, weak_n, face_n)])
    source = np.where(kind == "strong", rng.choice(STRONG, len(kind)),
                      np.where(kind == "weak", rng.choice(WEAK, len(kind)), "face"))
    hi = np.where(dead[person], death_off[person], 10)
    offset = rng.integers(-420, np.maximum(hi, -419))
    passed = np.where(kind == "face", rng.random(len(kind)) < 0.9, True)
    return person, kind, source, offset, passed


def _relatives(rng, dead, death_off):
    """A fifth of the dead: relatives keep using the card, phone or bank account after the death."""
    users = np.flatnonzero(dead & (rng.random(len(dead)) < 0.2))
    per = rng.poisson(4, len(users)) + 1
    person = np.repeat(users, per)
    source = rng.choice(RELATIVES, len(person))
    offset = rng.integers(death_off[person], 1)
    return person, np.full(len(person), "weak"), source, offset, np.ones(len(person), bool)


def _deaths(rng, dead, death_off):
    """Seven in ten deaths are reported, three in four of those by a second register too (the labelled dead)."""
    who = np.flatnonzero(dead & (rng.random(len(dead)) < 0.7))
    again = who[rng.random(len(who)) < 0.75]
    person = np.concatenate([who, again])
    source = np.concatenate([np.full(len(who), "civil_deaths"), np.full(len(again), "police_deaths")])
    return person, np.full(len(person), "death"), source, death_off[person], np.ones(len(person), bool)


def _write(con, rng, n, person, kind, source, offset, passed) -> None:
    m = len(person)
    pids = np.char.add("P", np.char.zfill(np.arange(n).astype(str), 7))
    prob = rng.choice([0.99, 0.97, 0.9, 0.6], m, p=[0.85, 0.07, 0.05, 0.03])
    linked = rng.random(m) >= 0.04
    day = np.datetime64(AS_OF) + offset.astype("timedelta64[D]")
    prev = np.datetime64(AS_OF) + rng.integers(-200, 330, n).astype("timedelta64[D]")
    tables = {
        "registry": pa.table({"person_id": pids, "name": np.full(n, "张三"),
                              "phone": np.where(rng.random(n) < 0.8, "13800000000", None),
                              "unit_id": np.char.add("U", (np.arange(n) % 5000).astype(str)),
                              "certified_until": pa.array(np.where(rng.random(n) < 0.9, prev, np.datetime64("NaT")))
                              .cast(pa.date32())}),
        "records": pa.table({"rid": np.arange(m), "source": source, "kind": kind,
                             "record_id": np.arange(m).astype(str), "occurred_at": day.astype("datetime64[us]"),
                             "person_id": pa.nulls(m, pa.string()),
                             "passed": np.where(kind == "face", passed, None)}),
        "links": pa.table({"rid": np.arange(m), "source": source, "record_id": np.arange(m).astype(str),
                           "person_id": np.where(linked, pids[person], None),
                           "match_probability": np.where(linked, prob, np.nan),
                           "method": np.where(kind == "face", "direct", "splink"),
                           "band": np.where(~linked, "none", np.where(prob >= 0.95, "auto", "review"))}),
    }
    for name, table in tables.items():
        con.register("_t", table)
        sql.run(con, f"bench_{name}", sql.with_idents(FROM_ARROW, table=name))
        con.unregister("_t")
    sql.run(con, "unlinked_probability", UNLINKED_PROBABILITY)
    sql.run(con, "link_candidates", LINK_CANDIDATES)
    sql.run(con, "previous_periods", PREVIOUS_PERIODS)


FROM_ARROW = "CREATE OR REPLACE TABLE {table} AS SELECT * FROM _t"
UNLINKED_PROBABILITY = "UPDATE links SET match_probability = NULL WHERE person_id IS NULL"
# every link its record's candidate; 3 % of them through a shared identifier
LINK_CANDIDATES = """
CREATE OR REPLACE TABLE link_candidates AS SELECT rid, person_id, match_probability, method,
       hash(rid) % 100 < 3 AS shared FROM links WHERE person_id IS NOT NULL
"""
PREVIOUS_PERIODS = """
CREATE OR REPLACE TABLE previous_periods AS SELECT person_id, 'certified' AS status, certified_until
FROM registry WHERE certified_until IS NOT NULL
"""
# the certified share of the alive with evidence, and of the dead on evidence dated after their death
QUALITY = """
WITH t AS (SELECT 'P' || lpad(i::VARCHAR, 7, '0') AS person_id, dead,
                  $as_of::DATE + death_off::INTEGER AS death_date FROM _truth),
     seen AS (SELECT DISTINCT person_id FROM evidence)
SELECT avg(CASE WHEN v.status = 'certified' THEN 1.0 ELSE 0.0 END)
           FILTER (WHERE NOT t.dead AND s.person_id IS NOT NULL),
       avg(CASE WHEN v.status = 'certified' AND v.evidence_at >= t.death_date THEN 1.0 ELSE 0.0 END)
           FILTER (WHERE t.dead)
FROM verdicts v JOIN t USING (person_id) LEFT JOIN seen s USING (person_id)
"""
RECORD_COUNT = "SELECT count(*) FROM records"
BEGIN = "BEGIN"
COMMIT = "COMMIT"


def quality(con, truth: dict[str, np.ndarray]) -> dict[str, float]:
    n = len(truth["dead"])
    con.register("_truth", pa.table({"i": np.arange(n), "dead": truth["dead"], "death_off": truth["death_off"]}))
    row = sql.one(con, "quality", QUALITY, {"as_of": AS_OF})
    return {"alive_with_evidence_certified": round(row[0], 5), "dead_certified_after_death": round(row[1], 6)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pensioners", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--db", type=Path, default=None, help="DuckDB file (default: a temporary file)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        con = duckdb.connect(str(args.db or Path(tmp) / "round.duckdb"))
        t0 = time.perf_counter()
        truth = build(con, args.pensioners, args.seed)
        built = time.perf_counter() - t0
        records = sql.scalar(con, "record_count", RECORD_COUNT)
        settings = LivenessSettings()
        t1 = time.perf_counter()
        sql.run(con, "begin", BEGIN)
        stats = score_round(con, AS_OF, settings)
        sql.run(con, "commit", COMMIT)
        scored = time.perf_counter() - t1
        t2 = time.perf_counter()
        notices = build_notices(con, AS_OF, "bench", settings)
        noticed = time.perf_counter() - t2
        result = {
            "pensioners": args.pensioners, "records": records, "build_s": round(built, 1),
            "score_round_s": round(scored, 2), "build_notices_s": round(noticed, 2),
            "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
            "method": stats["method"], "period_state": stats["period_state"], "notices": notices["notices"],
            "likelihood_ratios": {s: r["lr"] for s, r in stats["likelihood_ratios"].items()},
            **quality(con, truth),
        }
        con.close()
    print(json.dumps(result, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
