"""Publishing speed of the graph stores: a synthetic round of N pensioners and M records, rows per second.

    python benchmarks/publish_bench.py                       # embedded, 200k pensioners, 1M records
    python benchmarks/publish_bench.py --store neo4j --clear # Neo4j from NEO4J_URI/USER/PASSWORD (clears it first!)
    python benchmarks/publish_bench.py --pensioners 20000 --events 100000 --store both

The round is built with numpy/pyarrow (no Python loop per row); the shape follows a real round: every pensioner
holds an ID number and a phone (5 % of phones shared by a couple), 60 % a card; records are 25 % strong, 70 %
weak, 2 % death, 3 % face, 95 % linked; 1 % of pensioners flagged, each flag citing two records.
A second publish of the same round is timed too: it must add nothing.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import date
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from silentcert.graph.connect import StoreSettings, open_store
from silentcert.graph.neo4j_store import Neo4jStore
from silentcert.graph.store import GraphStore, RoundExport


def _ids(prefix: str, numbers: np.ndarray) -> pa.Array:
    return pc.binary_join_element_wise(prefix, pa.array(numbers).cast(pa.string()), "")


def _digits(start: int, numbers: np.ndarray) -> pa.Array:
    return pa.array(numbers + start).cast(pa.string())


def _pick(rng: np.random.Generator, choices: list[str], p: list[float], n: int) -> pa.Array:
    return pa.array(np.array(choices)[rng.choice(len(choices), size=n, p=p)])


def pensioners(rng: np.random.Generator, n: int) -> pa.Table:
    idx = np.arange(n)
    phone_owner = np.where(rng.random(n) < 0.05, idx - (idx % 2), idx)  # a couple shares the lower number's phone
    birth = (np.datetime64("1935-01-01") + rng.integers(0, 365 * 30, n)).astype("datetime64[D]")
    until = (np.datetime64("2021-06-01") + rng.integers(0, 365, n)).astype("datetime64[D]")
    return pa.table({
        "person_id": _ids("P", idx), "id_number": _digits(110101193500000000, idx * 7),
        "name": _ids("name-", idx), "name_pinyin": _ids("pinyin-", idx), "sex": _pick(rng, ["M", "F"], [.5, .5], n),
        "birth_date": pa.array(birth), "phone": _digits(13800000000, phone_owner),
        "card_no": pa.array(np.where(rng.random(n) < 0.6, np.char.add("C", idx.astype(str)), None)),
        "county_code": _digits(110101, idx % 50), "unit_id": _ids("U", idx % 2000),
        "monthly_pension": pa.array(rng.uniform(1200, 6000, n)),
        "status": _pick(rng, ["certified", "uncertified", "deceased", "review"], [.9, .05, .02, .03], n),
        "method": _pick(rng, ["strong", "weak", "face", "carried", "none"], [.6, .2, .1, .05, .05], n),
        "source": _pick(rng, ["vaccination", "bus", "telecom"], [.5, .3, .2], n),
        "evidence_at": pa.array(until - 200), "probability": pa.array(rng.random(n)),
        "certified_until": pa.array(until), "period_state": _pick(rng, ["valid", "expiring"], [.8, .2], n),
        # a sentence of the length the round writes (services/liveness/score_stage.py)
        "explanation": pc.binary_join_element_wise(
            "weak: 3 sources seen from 2021-03-01 on (card_spending, outpatient, telecom), log-odds 7.512 >= 6.904, "
            "dated by outpatient record ", _ids("R", idx), "; certified until 2022-03-01", ""),
    })


def identifiers(people: pa.Table) -> pa.Table:
    n = people.num_rows
    phones = people.column("phone")
    counts = people.group_by("phone").aggregate([("person_id", "count")])
    holders = pc.take(counts.column("person_id_count"), pc.index_in(phones, counts.column("phone")))
    shared = pc.greater(holders, 1)
    has_card = pc.is_valid(people.column("card_no"))
    parts = [
        pa.table({"person_id": people.column("person_id"), "kind": pa.array(["id_number"] * n),
                  "value": people.column("id_number"), "shared": pa.array(np.zeros(n, bool)),
                  "origin": pa.array(["registry"] * n)}),
        pa.table({"person_id": people.column("person_id"), "kind": pa.array(["phone"] * n), "value": phones,
                  "shared": shared, "origin": pa.array(["registry"] * n)}),
        pa.table({"person_id": people.column("person_id"), "kind": pa.array(["card"] * n),
                  "value": people.column("card_no"), "shared": pa.array(np.zeros(n, bool)),
                  "origin": pa.array(["registry"] * n)}).filter(has_card),
    ]
    return pa.concat_tables(parts)


def events(rng: np.random.Generator, people: pa.Table, m: int) -> pa.Table:
    n = people.num_rows
    owner = rng.integers(0, n, m)
    kind = np.array(["strong", "weak", "death", "face"])[rng.choice(4, size=m, p=[.25, .70, .02, .03])]
    source = np.where(kind == "strong", "vaccination", np.where(kind == "weak", "bus",
                      np.where(kind == "death", "police", "face")))
    record = np.arange(m)
    linked = rng.random(m) < 0.95
    seconds = rng.integers(0, 365 * 86400, m)
    occurred = (np.datetime64("2020-11-01T00:00:00") + seconds.astype("timedelta64[s]")).astype("datetime64[us]")
    keys = pc.binary_join_element_wise(pa.array(source), _ids("r", record), "/")
    owners = pc.take(people.column("person_id"), pa.array(owner))
    person = pc.if_else(pa.array(linked), owners, pa.nulls(m, pa.string()))
    carries = rng.choice(3, size=m)  # the identifier the record came with
    return pa.table({
        "key": keys, "source": pa.array(source), "kind": pa.array(kind), "record_id": _ids("r", record),
        "occurred_at": pa.array(occurred), "person_id": person, "match_probability": pa.array(rng.uniform(.8, 1, m)),
        "method": _pick(rng, ["deterministic", "splink", "identifier"], [.8, .15, .05], m),
        "id_number": pc.if_else(pa.array(carries == 0), pc.take(people.column("id_number"), pa.array(owner)),
                                pa.nulls(m, pa.string())),
        "phone": pc.if_else(pa.array(carries == 1), pc.take(people.column("phone"), pa.array(owner)),
                            pa.nulls(m, pa.string())),
        "card_no": pc.if_else(pa.array(carries == 2), pc.take(people.column("card_no"), pa.array(owner)),
                              pa.nulls(m, pa.string())),
        "passed": pc.if_else(pa.array(kind == "face"), pa.array(np.ones(m, bool)), pa.nulls(m, pa.bool_())),
    })


def flags(rng: np.random.Generator, people: pa.Table, records: pa.Table) -> tuple[pa.Table, pa.Table]:
    n = max(1, people.num_rows // 100)
    who = rng.choice(people.num_rows, size=n, replace=False)
    flag_ids = _ids("F", np.arange(n))
    table = pa.table({
        "flag_id": flag_ids, "person_id": pc.take(people.column("person_id"), pa.array(who)),
        "kind": _pick(rng, ["card_after_death", "source_disagreement", "shared_phone"], [.3, .3, .4], n),
        "severity": _pick(rng, ["critical", "high", "medium", "low"], [.1, .2, .3, .4], n),
        "detail": pa.array(["synthetic"] * n), "overpayment": pa.array(rng.uniform(0, 20000, n)),
        "ring_id": pa.nulls(n, pa.string()), "county_code": pc.take(people.column("county_code"), pa.array(who)),
    })
    cited = rng.choice(records.num_rows, size=2 * n, replace=False)
    citations = pa.table({"flag_id": pa.concat_arrays([flag_ids, flag_ids]),
                          "event_key": pc.take(records.column("key"), pa.array(cited))})
    return table, citations


def synthetic_round(n_pensioners: int, n_events: int, seed: int = 7) -> RoundExport:
    rng = np.random.default_rng(seed)
    people = pensioners(rng, n_pensioners)
    records = events(rng, people, n_events)
    flag_table, citations = flags(rng, people, records)
    return RoundExport("bench-2021-10", date(2021, 10, 31), people, identifiers(people), records, flag_table,
                       citations)


def run(store: GraphStore, export: RoundExport, label: str) -> None:
    store.apply_schema()
    for attempt in ("first publish", "republish"):
        marks: dict[str, float] = {}
        started = time.perf_counter()
        written = store.publish_round(export, progress=lambda table, _, marks=marks: marks.__setitem__(table, time.perf_counter()))
        elapsed = time.perf_counter() - started
        total = sum(written.values())
        print(f"{label:9} {attempt:13} {total:>9,} rows in {elapsed:7.1f} s = {total / elapsed:>9,.0f} rows/s")
        previous = started
        for table in written:
            took = marks.get(table, previous) - previous
            previous = marks.get(table, previous)
            rate = written[table] / took if took > 0 else float("inf")
            print(f"{'':24}{table:15} {written[table]:>9,} rows {took:7.1f} s {rate:>9,.0f} rows/s")
    print(f"{'':24}graph: {store.counts()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pensioners", type=int, default=200_000)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--store", choices=["embedded", "neo4j", "both"], default="embedded")
    parser.add_argument("--clear", action="store_true", help="empty the Neo4j database first (a test server only)")
    parser.add_argument("--batch-size", type=int, default=5000)
    args = parser.parse_args()

    started = time.perf_counter()
    export = synthetic_round(args.pensioners, args.events)
    print(f"built the round in {time.perf_counter() - started:.1f} s: {args.pensioners:,} pensioners, "
          f"{export.identifiers.num_rows:,} identifiers, {args.events:,} records, {export.flags.num_rows:,} flags")
    if args.store in ("embedded", "both"):
        with tempfile.TemporaryDirectory() as tmp:
            with open_store(StoreSettings(embedded_path=Path(tmp) / "bench.duckdb")) as store:
                run(store, export, "embedded")
    if args.store in ("neo4j", "both"):
        settings = StoreSettings.from_env()
        if not settings.uses_neo4j:
            parser.error("set NEO4J_URI, NEO4J_USER, NEO4J_PASSWORD for --store neo4j")
        with open_store(settings) as store:
            assert isinstance(store, Neo4jStore)
            store.batch_size = args.batch_size
            if args.clear:
                store.clear()
            run(store, export, "neo4j")


if __name__ == "__main__":
    main()
