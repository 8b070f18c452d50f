"""Small hand-built, already normalised ``registry``/``records`` tables for the linkage tests."""

from __future__ import annotations

import datetime as dt

import duckdb

REGISTRY_COLUMNS = (
    "person_id VARCHAR, id_number VARCHAR, id_number_raw VARCHAR, name VARCHAR, name_pinyin VARCHAR, "
    "sex VARCHAR, birth_date DATE, phone VARCHAR, card_no VARCHAR, county_code VARCHAR, unit_id VARCHAR, "
    "monthly_pension DOUBLE, certified_until DATE, line BIGINT"
)
RECORD_COLUMNS = (
    "rid BIGINT, source VARCHAR, kind VARCHAR, record_id VARCHAR, line BIGINT, occurred_at TIMESTAMP, "
    "person_id VARCHAR, id_number VARCHAR, id_number_raw VARCHAR, name VARCHAR, name_pinyin VARCHAR, "
    "sex VARCHAR, birth_date DATE, phone VARCHAR, card_no VARCHAR, county_code VARCHAR, passed BOOLEAN"
)

# person_id, id_number, name, pinyin, sex, birth_date, phone, card_no, county
PEOPLE = [
    ("P01", "110101195001011234", "张伟", "zhang wei", "M", "1950-01-01", "13800000001", "C001", "110101"),
    ("P02", "110101195203031236", "王芳", "wang fang", "F", "1952-03-03", "13800000002", "C002", "110101"),
    ("P03", "110101195104041230", "李强", "li qiang", "M", "1951-04-04", "13800000002", "C003", "110101"),
    ("P04", "110102194905051237", "刘洋", "liu yang", "M", "1949-05-05", "13800000004", "C004", "110102"),
    ("P05", "110102195306061235", "陈静", "chen jing", "F", "1953-06-06", "13800000005", "C005", "110102"),
    ("P06", "110103195507071238", "杨磊", "yang lei", "M", "1955-07-07", None, None, "110103"),
    ("P07", "110103195608081239", "赵敏", "zhao min", "F", "1956-08-08", "13800000007", "C007", "110103"),
    ("P08", "110104194709091231", "黄勇", "huang yong", "M", "1947-09-09", "13800000008", None, "110104"),
    ("P09", "110104194810101232", "周丽", "zhou li", "F", "1948-10-10", "13800000009", "C009", "110104"),
    ("P10", "110105195711111233", "吴军", "wu jun", "M", "1957-11-11", "13800000010", "C010", "110105"),
]


def make_registry(con: duckdb.DuckDBPyConnection, people=PEOPLE) -> None:
    con.execute(f"CREATE OR REPLACE TABLE registry ({REGISTRY_COLUMNS})")
    rows = [
        (pid, idn, idn, name, py, sex, dt.date.fromisoformat(bd), phone, card, county, "U1", 2000.0, None, i + 2)
        for i, (pid, idn, name, py, sex, bd, phone, card, county) in enumerate(people)
    ]
    con.executemany(f"INSERT INTO registry VALUES ({', '.join('?' * 14)})", rows)


def make_records(con: duckdb.DuckDBPyConnection, records: list[dict]) -> None:
    """``records`` rows from dicts; missing columns are NULL, rid/record_id/line are numbered."""
    con.execute(f"CREATE OR REPLACE TABLE records ({RECORD_COLUMNS})")
    names = [c.split()[0] for c in RECORD_COLUMNS.split(", ")]
    rows = []
    for i, rec in enumerate(records):
        base = {"rid": i + 1, "source": "vaccination", "kind": "strong", "record_id": f"R{i + 1}",
                "line": i + 2, "occurred_at": dt.datetime(2021, 10, 1)}
        base.update(rec)
        if isinstance(base.get("birth_date"), str):
            base["birth_date"] = dt.date.fromisoformat(base["birth_date"])
        rows.append(tuple(base.get(n) for n in names))
    con.executemany(f"INSERT INTO records VALUES ({', '.join('?' * len(names))})", rows)
