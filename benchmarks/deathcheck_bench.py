"""Death check at province scale: time of check_round and the quality figures of issue 5 on a generated round.

    python benchmarks/deathcheck_bench.py --pensioners 100000 [--pensioners 1000000]

The round tables are generated set-wise in DuckDB (no Splink, no liveness: links are given, every link in the
auto band) with a known truth: deaths reported by police (1 %) or by one village register only (0.33 %), false
village death records for living people who have strong evidence after them (0.2 %), card spending after a real
death (0.1 %), couples sharing a phone (one pair in three), and rings of 4 unrelated pensioners in two counties
sharing one phone, two of them dead (one ring per 2,000 pensioners).
"""

from __future__ import annotations

import argparse
import json
import time
from datetime import date

import duckdb

from silentcert.graph import sql
from silentcert.services.deathcheck.deathcheck_stage import check_round
from silentcert.services.deathcheck.settings import DeathCheckSettings

AS_OF = date(2021, 10, 31)
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"

REGISTRY = """
CREATE TABLE registry AS
SELECT 'P' || lpad(CAST(i AS VARCHAR), 7, '0') AS person_id, NULL::VARCHAR AS id_number,
       NULL::VARCHAR AS id_number_raw,
       substr($surnames, CAST(hash(i // 2 * 31 + i % 2) % 20 AS INT) + 1, 1) || '某' AS name,
       NULL::VARCHAR AS name_pinyin, CASE WHEN i % 2 = 0 THEN 'M' ELSE 'F' END AS sex,
       DATE '1930-01-01' + INTERVAL (CAST(((i // 2) * 7919) % 35 AS INT) * 365 + i % 2 * 700) DAY AS birth_date,
       CASE WHEN i % 2000 IN (7, 513, 1007, 1533) THEN '199' || lpad(CAST(i // 2000 AS VARCHAR), 8, '0')
            WHEN i % 2 = 1 AND (i // 2) % 3 = 0 THEN '13' || lpad(CAST(i - 1 AS VARCHAR), 9, '0')
            ELSE '13' || lpad(CAST(i AS VARCHAR), 9, '0') END AS phone,
       NULL::VARCHAR AS card_no, '1101' || lpad(CAST((i // 2) % 10 AS VARCHAR), 2, '0') AS county_code,
       'U1' AS unit_id, 2000.0 + i % 3000 AS monthly_pension, DATE '2022-01-31' AS certified_until, i AS line
FROM range($n) t(i)
"""
TRUTH = """
CREATE TABLE truth AS
SELECT person_id, i,
       i % 100 = 7 AS police_dead, i % 300 = 13 AND i % 100 <> 7 AS village_dead,
       i % 500 = 21 AND i % 300 <> 13 AS false_death, i % 1000 = 7 AS weak_after,
       i % 2000 IN (7, 513, 1007, 1533) AS ring_member
FROM (SELECT person_id, CAST(substr(person_id, 2) AS BIGINT) AS i FROM registry)
"""
RECORDS = """
CREATE TABLE records AS
WITH rows AS (
    SELECT person_id, 'vaccination' AS source, 'strong' AS kind,
           TIMESTAMP '2020-06-01' + INTERVAL (i % 180) DAY AS occurred_at, NULL::BOOLEAN AS passed FROM truth
    UNION ALL SELECT person_id, 'card_spending', 'weak', TIMESTAMP '2020-03-01' + INTERVAL (i % 200) DAY, NULL
    FROM truth, range(3)
    UNION ALL SELECT person_id, 'police', 'death', TIMESTAMP '2021-02-01' + INTERVAL (i % 90) DAY, NULL
    FROM truth WHERE police_dead
    UNION ALL SELECT person_id, 'village', 'death', TIMESTAMP '2021-02-01' + INTERVAL (i % 90) DAY, NULL
    FROM truth WHERE village_dead OR false_death
    UNION ALL SELECT person_id, 'rail', 'strong', TIMESTAMP '2021-06-01' + INTERVAL (i % 90) DAY, NULL
    FROM truth WHERE false_death
    UNION ALL SELECT person_id, 'card_spending', 'weak', TIMESTAMP '2021-07-01' + INTERVAL (i % 60) DAY, NULL
    FROM truth WHERE weak_after)
SELECT row_number() OVER () AS rid, source, kind, 'r' || row_number() OVER () AS record_id, 0 AS line,
       occurred_at, person_id, NULL::VARCHAR AS id_number, NULL::VARCHAR AS id_number_raw, NULL::VARCHAR AS name,
       NULL::VARCHAR AS name_pinyin, NULL::VARCHAR AS sex, NULL::DATE AS birth_date, NULL::VARCHAR AS phone,
       NULL::VARCHAR AS card_no, NULL::VARCHAR AS county_code, passed
FROM rows
"""
LINKS = """
CREATE TABLE links AS
SELECT rid, source, record_id, person_id, 0.99 AS match_probability, 'deterministic' AS method, 'auto' AS band
FROM records
"""
# every link its record's only candidate, through no shared identifier
LINK_CANDIDATES = """
CREATE TABLE link_candidates AS SELECT rid, person_id, match_probability, method, false AS shared FROM links
"""
IDENTIFIERS = """
CREATE TABLE identifiers AS
SELECT person_id, 'phone' AS kind, phone AS value, 'registry' AS origin,
       count(*) OVER (PARTITION BY phone) > 1 AS shared
FROM registry
"""
VERDICTS = """
CREATE TABLE verdicts AS
SELECT person_id, 'certified' AS status, 'strong' AS method, 'vaccination' AS source,
       TIMESTAMP '2020-06-01' + INTERVAL (i % 180) DAY AS evidence_at, 0.99 AS probability,
       DATE '2022-01-31' AS certified_until, 'valid' AS period_state, 'liveness' AS explanation
FROM truth
"""
DECIDED_FLAGS = """
CREATE TABLE decided_flags (flag_id VARCHAR, status VARCHAR, decided_by VARCHAR, decided_at TIMESTAMPTZ, note VARCHAR)
"""
RECORD_COUNT = "SELECT count(*) FROM records"


QUALITY = """
WITH f AS (
    SELECT person_id, bool_or(kind = 'activity_after_death') AS strong_flag,
           bool_or(kind = 'weak_activity_after_death') AS weak_flag,
           bool_or(kind = 'shared_identifier_ring') AS ring_flag
    FROM flags GROUP BY person_id)
SELECT
    avg(CASE WHEN v.status IN ('deceased', 'review') THEN 1.0 ELSE 0 END)
        FILTER (WHERE t.police_dead OR t.village_dead) AS dead_deceased_or_review,
    avg(CASE WHEN v.status = 'deceased' THEN 1.0 ELSE 0 END) FILTER (WHERE t.false_death) AS false_death_deceased,
    avg(CASE WHEN v.status = 'review' THEN 1.0 ELSE 0 END) FILTER (WHERE t.false_death) AS false_death_review,
    avg(CASE WHEN coalesce(f.strong_flag, false) THEN 1.0 ELSE 0 END) FILTER (WHERE t.false_death)
        AS recall_post_death_strong,
    avg(CASE WHEN coalesce(f.weak_flag, false) THEN 1.0 ELSE 0 END) FILTER (WHERE t.weak_after)
        AS recall_post_death_weak,
    avg(CASE WHEN coalesce(f.ring_flag, false) THEN 1.0 ELSE 0 END) FILTER (WHERE t.ring_member)
        AS recall_ring_members,
    1000.0 * count(*) FILTER (WHERE f.ring_flag AND NOT t.ring_member)
        / greatest(1, count(*) FILTER (WHERE f.ring_flag)) AS false_ring_members_per_1000
FROM truth t JOIN verdicts v USING (person_id) LEFT JOIN f USING (person_id)
"""


def bench(pensioners: int) -> dict:
    con = duckdb.connect(":memory:")
    started = time.perf_counter()
    for name, statement in (("registry", REGISTRY), ("truth", TRUTH), ("records", RECORDS), ("links", LINKS),
                            ("link_candidates", LINK_CANDIDATES), ("identifiers", IDENTIFIERS),
                            ("verdicts", VERDICTS), ("decided_flags", DECIDED_FLAGS)):
        sql.run(con, name, statement, {"n": pensioners, "surnames": SURNAMES})
    generated = time.perf_counter() - started
    records = sql.scalar(con, "record_count", RECORD_COUNT)
    started = time.perf_counter()
    stats = check_round(con, AS_OF, "bench", DeathCheckSettings())
    seconds = time.perf_counter() - started
    cur = sql.run(con, "quality", QUALITY)
    names = [d[0] for d in cur.description]
    row = cur.fetchone()
    quality = {k: round(float(v), 5) if v is not None else None for k, v in zip(names, row)}
    con.close()
    return {"pensioners": pensioners, "records": records, "generate_s": round(generated, 2),
            "check_round_s": round(seconds, 2), "flags": stats["flags"], "rings": stats["rings"], **quality}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pensioners", type=int, action="append", default=None)
    sizes = parser.parse_args().pensioners or [100_000]
    for n in sizes:
        print(json.dumps(bench(n), ensure_ascii=False))


if __name__ == "__main__":
    main()
