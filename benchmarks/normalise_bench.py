"""How fast the resolver's normalisers run set-wise in DuckDB: 1M ID numbers, phones, dates and names.

    python benchmarks/normalise_bench.py [--rows 1000000] [--seed 7] [--python-sample 100000]

Messy inputs are generated first (not timed) into DuckDB tables; each normaliser is then timed as
``CREATE TABLE ... AS SELECT normalised, reason FROM raw``. Names draw from a pool of distinct names
with Zipf frequencies; their pinyin is timed cold (empty character table) and warm. For scale, the
per-value Python face is timed on a sample and extrapolated. Prints a Markdown table.
"""

import argparse
import time
from datetime import date

import duckdb
import numpy as np
import pyarrow as pa

from silentcert.graph import sql
from silentcert.services.resolver import dates, id_numbers, names, phones
from silentcert.services.resolver.traditional import SIMPLIFIED, TRADITIONAL
from silentcert.services.resolver.widths import FULL_WIDTH, HALF_WIDTH

AS_OF = date(2021, 10, 31)
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN = "明名华伟芳娜敏静丽强磊军洋勇艳杰娟涛超秀霞平刚桂英兰凤玉珍文建国东海红春梅林云飞鹏辉斌波宁志忠德福荣贵生祥瑞婷雪琳慧颖"
_WIDE = str.maketrans(HALF_WIDTH, FULL_WIDTH)
_TRAD = str.maketrans(SIMPLIFIED, TRADITIONAL)


def messy_ids(rng: np.random.Generator, n: int) -> list[str]:
    area = rng.integers(110000, 660000, n)
    born = np.datetime64("1920-01-01") + rng.integers(0, 365 * 80, n).astype("timedelta64[D]")
    seq = rng.integers(0, 1000, n)
    body = [f"{a}{str(b).replace('-', '')}{s:03d}" for a, b, s in zip(area, born, seq, strict=True)]
    weights = np.array(id_numbers.WEIGHTS)
    digits = np.frombuffer("".join(body).encode(), np.uint8).reshape(n, 17) - 48
    checks = np.array(list(id_numbers.CHECK_CHARS))[(digits @ weights) % 11]
    return [_mess_id(b, c, k) for b, c, k in zip(body, checks, rng.integers(0, 10, n), strict=True)]


def _mess_id(body: str, check: str, kind: int) -> str:
    value = body + check
    if kind == 0:
        return value.lower()
    if kind == 1:
        return f"{value[:6]} {value[6:14]} {value[14:]}"
    if kind == 2:
        return value.translate(_WIDE)
    if kind == 3 and body[6:8] == "19":
        return body[:6] + body[8:]  # legacy 15-digit
    if kind == 4:
        return value[:9] + str((int(value[9]) + 1) % 10) + value[10:]  # typo: check digit catches it
    if kind == 5:
        return value[:17]
    return value


def messy_phones(rng: np.random.Generator, n: int) -> list[str]:
    numbers = rng.integers(13000000000, 19999999999, n)
    local = rng.integers(2000000, 99999999, n)
    return [_mess_phone(str(m), str(loc), k) for m, loc, k in zip(numbers, local, rng.integers(0, 10, n), strict=True)]


def _mess_phone(mobile: str, local: str, kind: int) -> str:
    return [
        mobile, f"+86 {mobile[:3]} {mobile[3:7]} {mobile[7:]}", f"0086-{mobile}", f"86{mobile}",
        mobile.translate(_WIDE), f"({mobile[:3]}) {mobile[3:7]}-{mobile[7:]}", f"010-{local}",
        f"(0755) {local}", local, "",
    ][kind]


def messy_dates(rng: np.random.Generator, n: int) -> list[str]:
    days = np.datetime64("1930-01-01") + rng.integers(0, 365 * 90, n).astype("timedelta64[D]")
    return [_mess_date(str(d), k) for d, k in zip(days, rng.integers(0, 8, n), strict=True)]


def _mess_date(iso: str, kind: int) -> str:
    y, m, d = iso.split("-")
    return [
        iso, f"{y}/{int(m)}/{int(d)}", f"{y}{m}{d}", f"{iso} 08:30", f"{iso}T08:30:15",
        f"{y}/{int(m)}/{int(d)} 9:05", f"{y}-02-30", f"{y}{m}32",
    ][kind]


def messy_names(rng: np.random.Generator, n: int, pool_size: int) -> tuple[list[str], int]:
    surname = rng.integers(0, len(SURNAMES), pool_size)
    # Given names: mostly common characters, one in five anywhere in the basic CJK block (rare names).
    common = np.array(list(GIVEN))[rng.integers(0, len(GIVEN), (pool_size, 2))]
    rare = np.vectorize(chr)(rng.integers(0x4E00, 0x9FA6, (pool_size, 2)))
    given = np.where(rng.random((pool_size, 2)) < 0.8, common, rare)
    two = rng.random(pool_size) < 0.7
    pool = [SURNAMES[s] + g[0] + (g[1] if t else "") for s, g, t in zip(surname, given, two, strict=True)]
    picks = np.minimum(rng.zipf(1.3, n) - 1, pool_size - 1)
    kinds = rng.integers(0, 10, n)
    return [_mess_name(pool[p], k) for p, k in zip(picks, kinds, strict=True)], len(set(pool))


def _mess_name(name: str, kind: int) -> str:
    if kind == 0:
        return " ".join(name)
    if kind == 1:
        return name.translate(_TRAD)
    if kind == 2:
        return f" {name}\u3000"
    return name


LOAD = "CREATE OR REPLACE TABLE {table} AS SELECT * FROM _bench_in"
# {value}, {reason}: a normaliser's SQL expressions over the column v (its *_sql builder)
NORMALISE = "CREATE OR REPLACE TABLE {out} AS SELECT v, {value} AS value, {reason} AS reason FROM {raw}"
REJECTED = "SELECT count(*) FROM {table} WHERE reason IS NOT NULL"
NAMES = "CREATE OR REPLACE TABLE out_names AS SELECT v, {value} AS name, {reason} AS reason FROM raw_names"
NAMES_ONCE_EACH = """
CREATE OR REPLACE TABLE out_names_d AS WITH d AS (SELECT DISTINCT v FROM raw_names)
SELECT r.v, n.name, n.reason FROM raw_names r
LEFT JOIN (SELECT v, {value} AS name, {reason} AS reason FROM d) n ON n.v IS NOT DISTINCT FROM r.v
"""
ATTACH_PINYIN = """
CREATE OR REPLACE TABLE named AS SELECT o.*, p.pinyin FROM out_names o LEFT JOIN name_pinyin p USING (name)
"""
DISTINCT_NAMES = "SELECT count(DISTINCT name) FROM out_names"
ROW_COUNT = "SELECT count(*) FROM {table}"
SET_THREADS = "SET threads = $threads"


def _load(con: duckdb.DuckDBPyConnection, table: str, values: list[str]) -> None:
    con.register("_bench_in", pa.table({"v": pa.array(values, pa.string())}))
    sql.run(con, f"load_{table}", sql.with_idents(LOAD, table=table))
    con.unregister("_bench_in")


def _timed(con: duckdb.DuckDBPyConnection, name: str, statement: str,
           params: dict | None = None) -> tuple[float, float]:
    """Wall and CPU seconds (CPU of all DuckDB threads: the machine may be shared)."""
    wall, cpu = time.perf_counter(), time.process_time()
    sql.run(con, name, statement, params)
    return time.perf_counter() - wall, time.process_time() - cpu


def _python_rate(normalise, values: list[str]) -> float:
    start = time.perf_counter()
    for value in values:
        normalise(value)
    return (time.perf_counter() - start) / len(values)


def bench_column(con, label, values, builder, python, sample) -> dict:
    _load(con, f"raw_{label}", values)
    value, reason = builder("v")
    statement = sql.compose(sql.with_idents(NORMALISE, out=f"out_{label}", raw=f"raw_{label}"),
                            value=value, reason=reason)
    seconds, cpu = _timed(con, f"normalise_{label}", statement, {"born_by": id_numbers.born_by(AS_OF)})
    rejected = sql.scalar(con, f"rejected_{label}", sql.with_idents(REJECTED, table=f"out_{label}"))
    return {"what": label, "rows": len(values), "seconds": seconds, "cpu": cpu, "rejected": rejected,
            "python_seconds": _python_rate(python, values[:sample]) * len(values)}


def bench_names(con, values, sample, distinct_pool) -> list[dict]:
    _load(con, "raw_names", values)
    value, reason = names.name_sql("v")
    clean, clean_cpu = _timed(con, "names", sql.compose(NAMES, value=value, reason=reason))
    distinct_first, distinct_cpu = _timed(con, "names_once_each",
                                          sql.compose(NAMES_ONCE_EACH, value=value, reason=reason))
    cold, cold_cpu = _timed_pinyin(con)
    warm, warm_cpu = _timed_pinyin(con)
    attach, attach_cpu = _timed(con, "attach_pinyin", ATTACH_PINYIN)
    distinct = sql.scalar(con, "distinct_names", DISTINCT_NAMES)
    chars = sql.scalar(con, "pinyin_chars", sql.with_idents(ROW_COUNT, table=names.CHAR_TABLE))
    python = _python_rate(names.normalise_name, values[:sample]) * len(values)
    note = f"{distinct:,} distinct names (pool {distinct_pool:,}), {chars} distinct characters"
    return [
        {"what": "names: clean + trad->simp", "rows": len(values), "seconds": clean, "cpu": clean_cpu,
         "rejected": sql.scalar(con, "rejected_names", sql.with_idents(REJECTED, table="out_names")),
         "python_seconds": python},
        {"what": "names: clean distinct values, join back", "rows": len(values), "seconds": distinct_first,
         "cpu": distinct_cpu, "rejected": None},
        {"what": f"names: pinyin table, cold ({note})", "rows": len(values), "seconds": cold, "cpu": cold_cpu,
         "rejected": None},
        {"what": "names: pinyin table, warm char cache", "rows": len(values), "seconds": warm, "cpu": warm_cpu,
         "rejected": None},
        {"what": "names: attach pinyin to every row (join)", "rows": len(values), "seconds": attach,
         "cpu": attach_cpu, "rejected": None},
    ]


def _timed_pinyin(con) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    names.build_name_pinyin(con, "out_names")
    return time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--python-sample", type=int, default=100_000)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    con = duckdb.connect()
    sql.run(con, "threads", SET_THREADS, {"threads": args.threads})
    sample = min(args.python_sample, args.rows)
    results = [
        bench_column(con, "id_numbers", messy_ids(rng, args.rows), lambda c: id_numbers.id_number_sql(c, "$born_by"),
                     lambda v: id_numbers.normalise_id_number(v, AS_OF), sample),
        # phone_sql's first two expressions: the canonical number and the reason
        bench_column(con, "phones", messy_phones(rng, args.rows), lambda c: phones.phone_sql(c)[:2],
                     phones.normalise_phone, sample),
        bench_column(con, "dates", messy_dates(rng, args.rows), dates.timestamp_sql, dates.normalise_timestamp, sample),
    ]
    name_values, pool = messy_names(rng, args.rows, 200_000)
    results += bench_names(con, name_values, sample, pool)
    _print(results, args)


def _print(results: list[dict], args) -> None:
    print(f"rows={args.rows:,} seed={args.seed} threads={args.threads} duckdb={duckdb.__version__}\n")
    print("| normaliser | rows | DuckDB SQL wall (s) | CPU (s) | rows/s (wall) | rejected | Python per value, extrapolated (s) |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for r in results:
        python = f"{r['python_seconds']:.1f}" if r.get("python_seconds") else ""
        rejected = f"{r['rejected']:,}" if r["rejected"] is not None else ""
        print(f"| {r['what']} | {r['rows']:,} | {r['seconds']:.2f} | {r['cpu']:.2f} | {r['rows'] / r['seconds']:,.0f} "
              f"| {rejected} | {python} |")


if __name__ == "__main__":
    main()
