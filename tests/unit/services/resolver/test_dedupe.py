"""The duplicate-account finder on small hand-built registries: same ID, legacy form, a one-digit typo, and
namesakes born the same day with different valid IDs (two people, not flagged)."""

from __future__ import annotations

import datetime as dt
import random

import duckdb
import pytest

from services.resolver.dedupe import find_duplicates
from services.resolver.engines import DuckDBEngine
from services.resolver.id_numbers import check_digit
from services.resolver.settings import LinkageSettings

REGISTRY_COLUMNS = (
    "person_id VARCHAR, id_number VARCHAR, id_number_raw VARCHAR, name VARCHAR, name_pinyin VARCHAR, "
    "sex VARCHAR, birth_date DATE, phone VARCHAR, card_no VARCHAR, county_code VARCHAR, unit_id VARCHAR, "
    "monthly_pension DOUBLE, certified_until DATE, line BIGINT"
)
SURNAMES = [("王", "wang"), ("李", "li"), ("张", "zhang"), ("刘", "liu"), ("陈", "chen"), ("杨", "yang"),
            ("赵", "zhao"), ("黄", "huang"), ("周", "zhou"), ("吴", "wu")]
GIVEN = [("伟", "wei"), ("芳", "fang"), ("强", "qiang"), ("洋", "yang"), ("静", "jing"), ("磊", "lei"),
         ("敏", "min"), ("勇", "yong"), ("丽", "li"), ("军", "jun"), ("秀英", "xiu ying"), ("建国", "jian guo")]
COUNTIES = ("110101", "110102", "110105", "130102")


def valid_id(county: str, birth: dt.date, seq: int, sex: str) -> str:
    seq3 = seq * 2 + (1 if sex == "M" else 0)
    first17 = f"{county}{birth:%Y%m%d}{seq3 % 1000:03d}"
    return first17 + check_digit(first17)


def person(pid: str, id18: str | None, raw: str, name, sex: str, birth: dt.date, county: str, phone: str):
    return (pid, id18, raw, name[0], name[1], sex, birth, phone, f"C{pid}", county, "U1", 2500.0, None, 0)


def population(n: int, seed: int = 3) -> list[tuple]:
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        s, g = rng.choice(SURNAMES), rng.choice(GIVEN)
        sex = rng.choice("MF")
        birth = dt.date(1940, 1, 1) + dt.timedelta(days=rng.randrange(7000))
        county = rng.choice(COUNTIES)
        id18 = valid_id(county, birth, i, sex)
        rows.append(person(f"P{i:04d}", id18, id18, (s[0] + g[0], f"{s[1]} {g[1]}"), sex, birth, county,
                           f"139{i:08d}"))
    return rows


def legacy_of(id18: str) -> str:
    return id18[:6] + id18[8:17]


@pytest.fixture(scope="module")
def pairs():
    people = population(400)
    p1, p2, p3, p4 = people[10], people[20], people[30], people[40]
    # same normalised ID, a second account in another county, another phone and card
    dup_same = person("D-SAME", p1[1], p1[1], (p1[3], p1[4]), p1[5], p1[6], "130102", "13700000001")
    # the legacy 15-digit form, upgraded by the normaliser (raw kept)
    dup_legacy = person("D-LEGACY", p2[1], legacy_of(p2[1]), (p2[3], p2[4]), p2[5], p2[6], "130102", "13700000002")
    # one digit of the sequence mistyped: fails its check character, so only the cleaned raw survives
    typo = p3[1][:15] + str((int(p3[1][15]) + 1) % 10) + p3[1][16:]
    dup_typo = person("D-TYPO", None, typo, (p3[3], p3[4]), p3[5], p3[6], "130102", "13700000003")
    # a namesake born the same day in the same county with another valid ID: another person
    namesake_id = valid_id(p4[9], p4[6], 777, p4[5])
    namesake = person("N-NAMESAKE", namesake_id, namesake_id, (p4[3], p4[4]), p4[5], p4[6], p4[9], "13700000004")
    con = duckdb.connect()
    con.execute(f"CREATE TABLE registry ({REGISTRY_COLUMNS})")
    con.executemany(f"INSERT INTO registry VALUES ({', '.join('?' * 14)})",
                    [*people, dup_same, dup_legacy, dup_typo, namesake])
    engine = DuckDBEngine(memory_limit="1GB", threads=1)
    try:
        stats = find_duplicates(con, LinkageSettings(), engine)
    finally:
        engine.close()
    found = {(a, b): (p, band) for a, b, p, band in con.execute(
        "SELECT person_id, other_person_id, match_probability, band FROM duplicate_pairs").fetchall()}
    return found, stats, (p1[0], p2[0], p3[0], p4[0])


def test_same_id_legacy_form_and_typo_are_pairs(pairs):
    found, _, (p1, p2, p3, _) = pairs
    for a, b in [(p1, "D-SAME"), (p2, "D-LEGACY"), (p3, "D-TYPO")]:
        key = (min(a, b), max(a, b))
        assert key in found, (key, found)
        assert found[key][1] == "auto", found[key]


def test_namesakes_with_different_valid_ids_are_not_paired(pairs):
    found, _, (_, _, _, p4) = pairs
    assert not [k for k in found if "N-NAMESAKE" in k or p4 in k], found


def test_nothing_else_is_paired(pairs):
    found, stats, _ = pairs
    assert len(found) == 3, found
    assert stats["pairs"] == {"registry": {"auto": 3}}
