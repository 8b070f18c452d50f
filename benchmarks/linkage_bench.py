"""Linkage at scale: time, peak memory, precision and recall of the resolve stage.

Builds normalised ``registry``/``records`` tables of the asked size with numpy (ID typos that
break the check digit, missing IDs, homophone names, shared phones, phone- and card-only
records, records of people outside the registry), then runs ``resolve_stage.link_round`` in a child
process so its peak RSS is measured alone.

    python -m benchmarks.linkage_bench --pensioners 200000 --records 1000000
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

from silentcert.graph import sql

SYLLABLES = 400          # pinyin syllables, each written with 3 homophone characters
COUNTIES = 120
_WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2])


def _check_digit(body: np.ndarray) -> np.ndarray:
    """GB 11643 MOD 11-2 check characters for an (n, 17) digit matrix."""
    return np.array(list("10X98765432"))[(body * _WEIGHTS).sum(axis=1) % 11]


def _join_digits(matrix: np.ndarray) -> np.ndarray:
    return matrix.astype("U1").view(f"U{matrix.shape[1]}").ravel()


def people(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    """n distinct people with names, pinyin, birth dates, IDs, phones and cards."""
    county = 110100 + rng.integers(0, COUNTIES, n)
    birth = np.datetime64("1930-01-01") + rng.integers(0, 35 * 365, n).astype("timedelta64[D]")
    male = rng.random(n) < 0.5
    ymd = np.char.replace(birth.astype(str), "-", "")
    body = np.concatenate([
        np.stack([(county // 10 ** k) % 10 for k in range(5, -1, -1)], axis=1),
        np.frombuffer(ymd.astype("S8").tobytes(), dtype=np.uint8).reshape(n, 8).astype(np.int64) - 48,
        np.stack([(np.arange(n) * 7919 // 10 ** k) % 10 for k in (2, 1)], axis=1),
        (rng.integers(0, 5, n) * 2 + (~male)).reshape(-1, 1) % 10,
    ], axis=1)
    surname = np.minimum(rng.zipf(1.3, n), 100) - 1
    given = rng.integers(0, SYLLABLES, (n, 2))
    two = rng.random(n) < 0.7
    syllables = np.stack([surname, given[:, 0], np.where(two, given[:, 1], -1)], axis=1)
    variant = rng.integers(0, 3, syllables.shape)
    phone = 13000000000 + rng.choice(10 ** 9, n, replace=False)
    couples = rng.choice(n, size=(n // 40, 2), replace=False)
    phone[couples[:, 1]] = phone[couples[:, 0]]
    return {
        "county": county.astype(str), "birth": birth, "sex": np.where(male, "M", "F"),
        "id": np.char.add(_join_digits(body), _check_digit(body)),
        "syllables": syllables, "variant": variant, "phone": phone.astype(str),
        "card": np.where(rng.random(n) < 0.7, np.char.add("C", (10 ** 9 + np.arange(n)).astype(str)), None),
    }


def _names(syllables: np.ndarray, variant: np.ndarray) -> tuple[list, list]:
    """Characters and pinyin strings, built once per distinct (syllables, variant) combination."""
    code = np.where(syllables >= 0, syllables * 3 + variant + 1, 0)
    keys, inverse = np.unique(code, axis=0, return_inverse=True)
    chars = ["".join(chr(0x4E00 + c) for c in row if c) for row in keys]
    pinyin = [" ".join(f"s{(c - 1) // 3}" for c in row if c) for row in keys]
    inverse = inverse.ravel()
    return [chars[i] for i in inverse], [pinyin[i] for i in inverse]


def registry_table(p: dict, n: int, rng: np.random.Generator) -> pa.Table:
    idn = np.where(rng.random(n) < 0.01, None, p["id"][:n])
    name, pinyin = _names(p["syllables"][:n], p["variant"][:n])
    return pa.table({
        "person_id": np.char.add("P", np.arange(n).astype(str)), "id_number": idn, "id_number_raw": idn,
        "name": name, "name_pinyin": pinyin, "sex": p["sex"][:n], "birth_date": p["birth"][:n],
        "phone": p["phone"][:n], "card_no": p["card"][:n], "county_code": p["county"][:n],
    })


def records_table(p: dict, pensioners: int, n: int, rng: np.random.Generator) -> tuple[pa.Table, np.ndarray]:
    """n records; returns the table and the true person index (-1 outside the registry)."""
    owner = np.where(rng.random(n) < 0.85, rng.integers(0, pensioners, n),
                     rng.integers(pensioners, len(p["id"]), n))
    shape = rng.choice(5, n, p=[0.70, 0.08, 0.07, 0.10, 0.05])   # full, typo, no-id, phone, card
    shape[(shape == 4) & (p["card"][owner] == None)] = 3  # noqa: E711 - people without a card use a phone
    ids = p["id"][owner].astype("U18")
    typo = shape == 1
    pos = rng.integers(0, 17, typo.sum())
    chars = ids[typo].view("U1").reshape(-1, 18).copy()
    chars[np.arange(len(pos)), pos] = ((chars[np.arange(len(pos)), pos].astype(int) + rng.integers(1, 10, len(pos))) % 10).astype("U1")
    ids[typo] = chars.view("U18").ravel()
    body = ids.view("U1").reshape(-1, 18)[:, :17].astype(np.int64)
    valid = _check_digit(body) == ids.view("U1").reshape(-1, 18)[:, 17]
    has_identity = shape <= 2
    id_raw = np.where(shape <= 1, ids, None)
    id_norm = np.where((shape <= 1) & valid, ids, None)
    variant = p["variant"][owner].copy()
    homophone = (shape == 2) & (rng.random(n) < 0.3)
    variant[homophone, -1] = (variant[homophone, -1] + 1) % 3
    name, pinyin = _names(p["syllables"][owner], variant)
    birth = p["birth"][owner].copy()
    slip = (shape == 2) & (rng.random(n) < 0.03)
    birth[slip] += np.timedelta64(1, "D")
    keep = lambda values, mask: pa.array(np.where(mask, values, None))  # noqa: E731
    table = pa.table({
        "rid": np.arange(1, n + 1), "source": np.where(shape >= 3, "telecom", "vaccination"),
        "kind": np.where(shape >= 3, "weak", "strong"), "record_id": np.arange(1, n + 1).astype(str),
        "line": np.arange(2, n + 2), "occurred_at": np.full(n, np.datetime64("2021-10-01T00:00:00")),
        "person_id": pa.nulls(n, pa.string()), "id_number": pa.array(id_norm, pa.string()),
        "id_number_raw": pa.array(id_raw, pa.string()),
        "name": keep(np.array(name, dtype=object), has_identity), "name_pinyin": keep(np.array(pinyin, dtype=object), has_identity),
        "sex": keep(p["sex"][owner], has_identity),
        "birth_date": pa.array(np.where(has_identity, birth, np.datetime64("NaT"))),
        "phone": keep(p["phone"][owner], (shape == 3) | ((shape == 2) & (rng.random(n) < 0.5))),
        "card_no": pa.array(np.where(shape == 4, p["card"][owner], None), pa.string()),
        "county_code": keep(p["county"][owner], has_identity), "passed": pa.nulls(n, pa.bool_()),
    })
    return table, np.where(owner < pensioners, owner, -1)


FROM_ARROW = "CREATE TABLE {table} AS SELECT * FROM {arrow}"
QUALITY = """
SELECT count(*) FILTER (l.person_id IS NOT NULL AND l.band = 'auto'),
       count(*) FILTER (l.band = 'auto' AND l.person_id = t.person_id),
       count(*) FILTER (t.person_id IS NOT NULL),
       count(*) FILTER (l.person_id IS NOT NULL AND l.person_id = t.person_id),
       count(*) FILTER (l.person_id IS NOT NULL)
FROM links l JOIN truth t USING (rid)
"""


def generate(path: Path, pensioners: int, records: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    p = people(rng, int(pensioners * 1.5))
    registry = registry_table(p, pensioners, rng)
    recs, truth = records_table(p, pensioners, records, rng)
    con = duckdb.connect(str(path))
    truth_tbl = pa.table({"rid": recs["rid"], "person_id": pa.array(np.where(truth >= 0, np.char.add("P", truth.astype(str)), None))})
    for name, table in (("registry_in", registry), ("records_in", recs), ("truth_in", truth_tbl)):
        con.register(name, table)
    for name in ("registry", "records", "truth"):
        sql.run(con, f"bench_{name}", sql.with_idents(FROM_ARROW, table=name, arrow=f"{name}_in"))
    con.close()


def link(path: Path) -> dict:
    """Run in the child: link the tables in ``path`` and score against ``truth``."""
    from silentcert.services.resolver.engines import DuckDBEngine
    from silentcert.services.resolver.resolve_stage import link_round
    from silentcert.services.resolver.settings import LinkageSettings

    con = duckdb.connect(str(path))
    sql.set_memory_limit(con, "memory_limit", "1GB")
    started = time.perf_counter()
    stats = link_round(con, LinkageSettings(), engine=DuckDBEngine(memory_limit="1500MB"))
    seconds = time.perf_counter() - started
    return {"seconds": round(seconds, 2), "stats": stats, **quality(con)}


def quality(con: duckdb.DuckDBPyConnection) -> dict:
    row = sql.one(con, "quality", QUALITY)
    auto, auto_ok, true_total, linked_ok, linked = row
    return {"auto_precision": round(auto_ok / max(auto, 1), 5), "auto_recall": round(auto_ok / max(true_total, 1), 5),
            "review_or_better_precision": round(linked_ok / max(linked, 1), 5),
            "review_or_better_recall": round(linked_ok / max(true_total, 1), 5)}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pensioners", type=int, default=200_000)
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--link", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.link:
        print(json.dumps(link(args.link), default=str))
        return
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "round.duckdb"
        generate(path, args.pensioners, args.records, args.seed)
        child = subprocess.run([sys.executable, "-m", "benchmarks.linkage_bench", "--link", str(path)],
                               capture_output=True, text=True, check=True)
    result = json.loads(child.stdout.strip().splitlines()[-1])
    result["peak_rss_gb"] = round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 2 ** 20, 2)
    result.update(pensioners=args.pensioners, records=args.records)
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
