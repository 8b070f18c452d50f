"""The duplicate-account finder on small hand-built registries: same ID, legacy form, a one-digit typo, and
namesakes born the same day with different valid IDs (two people, not flagged)."""

from __future__ import annotations

import datetime as dt
import random

import duckdb
import pytest

from silentcert.services.resolver.dedupe import PAIRS_TABLE, find_duplicates, merge_pair_candidates
from silentcert.services.resolver.engines import DuckDBEngine
from silentcert.services.resolver.id_numbers import check_digit
from silentcert.services.resolver.settings import LinkageSettings

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
    # a reviewer found the same-ID pair to be two people, on the flag of the original's account
    con.execute("CREATE TABLE decided_flags (flag_id VARCHAR, status VARCHAR, decided_by VARCHAR, "
                "decided_at TIMESTAMPTZ, note VARCHAR)")
    con.execute("INSERT INTO decided_flags VALUES (?, 'dismissed', 'li', now(), 'two people')",
                [f"duplicate_account:{p1[0]}:D-SAME"])
    engine = DuckDBEngine(memory_limit="1GB", threads=1)
    try:
        stats = find_duplicates(con, LinkageSettings(), engine)
    finally:
        engine.close()
    found = {(a, b): (p, band, is_open) for a, b, p, band, is_open in con.execute(
        "SELECT person_id, other_person_id, match_probability, band, open FROM duplicate_pairs").fetchall()}
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


def test_a_pair_a_reviewer_dismissed_is_closed(pairs):
    found, _, (p1, p2, p3, _) = pairs
    assert not found[("D-SAME", p1)][2]
    assert found[("D-LEGACY", p2)][2] and found[("D-TYPO", p3)][2]


def test_the_candidates_of_an_open_pair_are_one_persons():
    con = duckdb.connect()
    con.execute(PAIRS_TABLE)
    con.execute("INSERT INTO duplicate_pairs VALUES ('A', 'B', NULL, 0.99, 'auto', true), "
                "('C', 'D', NULL, 0.99, 'auto', false), ('E', 'F', NULL, 0.7, 'review', true)")
    con.execute("CREATE TABLE link_candidates (rid BIGINT, person_id VARCHAR, match_probability DOUBLE, "
                "method VARCHAR, shared BOOLEAN)")
    con.execute("""INSERT INTO link_candidates VALUES
        (1, 'A', 0.5, 'deterministic', true), (1, 'B', 0.5, 'deterministic', true),
        (2, 'A', 1 / 3, 'deterministic', true), (2, 'B', 1 / 3, 'deterministic', true),
        (2, 'X', 1 / 3, 'deterministic', true),
        (3, 'C', 0.5, 'deterministic', true), (3, 'D', 0.5, 'deterministic', true),
        (4, 'A', 0.97, 'splink', false), (4, 'B', 0.6, 'splink', false),
        (5, 'E', 0.5, 'deterministic', true), (5, 'F', 0.5, 'deterministic', true)""")
    merge_pair_candidates(con, LinkageSettings())
    got = {(rid, pid): (round(p, 3), shared) for rid, pid, p, shared in con.execute(
        "SELECT rid, person_id, match_probability, shared FROM link_candidates").fetchall()}
    assert got[(1, "A")] == got[(1, "B")] == (1.0, False)
    assert got[(2, "A")] == got[(2, "B")] == (0.667, True) and got[(2, "X")] == (0.333, True)
    assert got[(3, "C")] == got[(3, "D")] == (0.5, True)  # closed: two people
    assert got[(4, "A")] == got[(4, "B")] == (0.97, False)
    assert got[(5, "E")] == (0.5, True)  # review band: not sure enough to pool evidence
