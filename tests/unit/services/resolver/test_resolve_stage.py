"""The resolve stage on small hand-built tables: every pass, the bands, one row per record."""

from __future__ import annotations

import datetime as dt
import logging

import duckdb
import pytest

from silentcert.graph import sql
from silentcert.graph.errors import InvalidInput
from silentcert.services.resolver.id_numbers import check_digit
from silentcert.services.resolver.resolve_stage import LinkMemory, link_round
from silentcert.services.resolver.settings import LinkageSettings

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
    # Valid numbers (the check character theirs), for the repair of a slip.
    ("P11", VALID_P11 := "36010219480312101" + check_digit("36010219480312101"), "罗桂英", "luoguiying", "F",
     "1948-03-12", None, None, "360102"),
    ("P12", VALID_P12 := "36010219480312102" + check_digit("36010219480312102"), "熊志明", "xiongzhiming", "M",
     "1948-03-12", None, None, "360102"),
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


RECORDS = {
    "exact_id": {"id_number": "110101195001011234", "name": "张伟", "name_pinyin": "zhang wei",
                 "birth_date": "1950-01-01", "sex": "M"},
    "typo_id": {"id_number": None, "id_number_raw": "110102194905051287", "name": "刘洋",
                "name_pinyin": "liu yang", "birth_date": "1949-05-05", "sex": "M", "county_code": "110102"},
    "homophone": {"name": "陈晶", "name_pinyin": "chen jing", "birth_date": "1953-06-06", "county_code": "110102"},
    "shared_phone": {"phone": "13800000002"},
    "unique_phone": {"phone": "13800000007"},
    "unique_card": {"card_no": "C009"},
    "direct": {"kind": "face", "source": "face_app", "person_id": "P06", "passed": True},
    "nothing": {},
    "stranger": {"name": "钱多多", "name_pinyin": "qian duo duo", "birth_date": "1990-02-02", "county_code": "440101"},
    # Another person born the same day in the same county: a valid ID two characters from P01's.
    "neighbour": {"id_number": "11010119500101125" + check_digit("11010119500101125"), "name": "孙立",
                  "name_pinyin": "sun li", "birth_date": "1950-01-01", "sex": "M", "county_code": "110101"},
    "id_contradicts": {"id_number": "110105195711111233", "name": "孙悟空", "name_pinyin": "sun wu kong",
                       "birth_date": "1980-01-01", "sex": "F"},
    # Two adjacent digits swapped (the check fails), a name and a sex, no birth date: ministry travel's shape.
    "transposed_id": {"id_number_raw": VALID_P11[:8] + VALID_P11[9] + VALID_P11[8] + VALID_P11[10:], "name": "罗桂英",
                      "name_pinyin": "luoguiying", "sex": "F"},
    # One wrong sequence digit in P12's ID; P11, born the same day in the same county, is two characters away.
    "wrong_digit": {"id_number_raw": VALID_P12[:15] + "7" + VALID_P12[16:], "name": "熊志明",
                    "name_pinyin": "xiongzhiming", "sex": "M"},
    # A ticket: swapped digits and the name romanised given name first.
    "transposed_pinyin": {"id_number_raw": VALID_P12[:12] + VALID_P12[13] + VALID_P12[12] + VALID_P12[14:],
                          "name": "ZhimingXiong", "name_pinyin": "zhimingxiong", "sex": "M"},
    # The card matches exactly; the name is a homophone (吴军 written 吴君).
    "card_homophone": {"card_no": "C010", "name": "吴君", "name_pinyin": "wujun"},
}
RID = {key: i + 1 for i, key in enumerate(RECORDS)}


def _unlinked_round() -> duckdb.DuckDBPyConnection:
    """The registry and every record of RECORDS, not yet linked."""
    con = duckdb.connect()
    make_registry(con)
    make_records(con, list(RECORDS.values()))
    return con


@pytest.fixture(scope="module")
def linked(tmp_path_factory):
    con = _unlinked_round()
    model_path = tmp_path_factory.mktemp("model") / "linkage-model.json"
    stats = link_round(con, LinkageSettings(save_model_path=model_path))
    return con, stats, model_path


def _link(con, key):
    return con.execute(
        "SELECT person_id, match_probability, method, band FROM links WHERE rid = ?", [RID[key]]
    ).fetchall()[0]


def _candidates(con, key):
    return con.execute(
        "SELECT person_id, match_probability, method, shared FROM link_candidates WHERE rid = ? ORDER BY person_id",
        [RID[key]],
    ).fetchall()


def test_every_record_appears_exactly_once_in_links(linked):
    con, _, _ = linked
    n_records, n_links, n_rids = con.execute(
        "SELECT (SELECT count(*) FROM records), count(*), count(DISTINCT rid) FROM links"
    ).fetchall()[0]
    assert n_links == n_records == n_rids == len(RECORDS)


def test_valid_id_number_links_deterministically(linked):
    assert _link(linked[0], "exact_id") == ("P01", 1.0, "deterministic", "auto")


def test_face_record_with_person_id_links_directly(linked):
    assert _link(linked[0], "direct") == ("P06", 1.0, "direct", "auto")


def test_typo_in_id_number_is_linked_by_splink(linked):
    person, probability, method, band = _link(linked[0], "typo_id")
    assert (person, method, band) == ("P04", "splink", "auto")
    assert probability >= 0.95


def test_homophone_name_with_birth_date_and_county_links(linked):
    person, probability, method, band = _link(linked[0], "homophone")
    assert (person, method) == ("P05", "splink")
    assert band in ("auto", "review") and probability >= 0.5


def test_a_transposed_id_is_repaired_and_confirmed_by_the_name(linked):
    person, probability, method, band = _link(linked[0], "transposed_id")
    assert (person, method, band) == ("P11", "splink", "auto")


def test_a_wrong_sequence_digit_is_repaired(linked):
    person, probability, method, band = _link(linked[0], "wrong_digit")
    assert (person, method, band) == ("P12", "splink", "auto")


def test_a_transposed_id_with_a_romanised_name_in_the_other_order_links(linked):
    person, probability, method, band = _link(linked[0], "transposed_pinyin")
    assert (person, method, band) == ("P12", "splink", "auto")


def test_an_exact_card_with_a_homophone_name_links(linked):
    person, probability, method, band = _link(linked[0], "card_homophone")
    assert (person, band) == ("P10", "auto")


def test_id_number_with_contradicting_birth_date_is_not_deterministic(linked):
    person, _, method, band = _link(linked[0], "id_contradicts")
    assert method != "deterministic"
    assert band != "auto"


def test_two_different_valid_id_numbers_are_two_people(linked):
    con, _, _ = linked
    assert _link(con, "neighbour")[0] is None
    assert all(p < 0.5 for _, p, _, _ in _candidates(con, "neighbour"))


def test_shared_phone_splits_probability_and_never_autolinks(linked):
    con, _, _ = linked
    candidates = _candidates(con, "shared_phone")
    assert [c[0] for c in candidates] == ["P02", "P03"]
    assert all(c[2] == "identifier" and c[3] is True for c in candidates)
    assert all(c[1] == pytest.approx(0.48) for c in candidates)
    assert _link(con, "shared_phone")[3] != "auto"
    shared = con.execute("SELECT DISTINCT shared FROM identifiers WHERE kind='phone' AND value='13800000002'")
    assert shared.fetchall() == [(True,)]


def test_phone_or_card_only_record_of_a_unique_identifier_links(linked):
    con, _, _ = linked
    assert _link(con, "unique_phone")[::2] == ("P07", "identifier")
    assert _link(con, "unique_phone")[3] == "auto"
    assert _link(con, "unique_card")[0] == "P09"


def test_unmatched_records_get_band_none_without_person(linked):
    con, _, _ = linked
    for key in ("nothing", "stranger"):
        person, _, _, band = _link(con, key)
        assert (person, band) == (None, "none")


def test_identifiers_hold_registry_values_with_origin(linked):
    con, _, _ = linked
    rows = con.execute("SELECT kind, value, origin, shared FROM identifiers WHERE person_id = 'P01' ORDER BY kind")
    assert rows.fetchall() == [
        ("card", "C001", "registry", False),
        ("id_number", "110101195001011234", "registry", False),
        ("phone", "13800000001", "registry", False),
    ]


def test_confident_link_adds_its_phone_to_the_identifier_graph():
    con = duckdb.connect()
    make_registry(con)
    make_records(con, [
        {"id_number": "110103195507071238", "birth_date": "1955-07-07", "phone": "13999999999"},
        {"phone": "13999999999"},
    ])
    link_round(con, LinkageSettings())
    origin = con.execute("SELECT person_id, origin FROM identifiers WHERE value = '13999999999'").fetchall()
    assert origin == [("P06", "link")]
    assert con.execute("SELECT person_id, method FROM links WHERE rid = 2").fetchall() == [("P06", "identifier")]


def test_model_json_is_saved_and_reloads_to_the_same_links(linked, tmp_path):
    con, _, model_path = linked
    assert model_path.exists()
    again = _unlinked_round()
    stats = link_round(again, LinkageSettings(model_path=model_path))
    assert stats["splink"]["model"]["source"] == str(model_path)
    query = "SELECT rid, person_id, round(match_probability, 6), band FROM links ORDER BY rid"
    assert again.execute(query).fetchall() == con.execute(query).fetchall()


def test_scoring_the_pending_records_in_chunks_gives_the_same_links(linked):
    con, _, model_path = linked
    chunked = _unlinked_round()
    stats = link_round(chunked, LinkageSettings(model_path=model_path, predict_chunk_records=2))
    assert stats["splink"]["predict_chunks"] > 1
    query = "SELECT rid, person_id, round(match_probability, 6), method, band FROM links ORDER BY rid"
    assert chunked.execute(query).fetchall() == con.execute(query).fetchall()


def test_a_reused_model_blocks_with_the_rounds_rules(linked):
    """The saved model's own blocking rules (which pair the typo record with P04) are not used."""
    _, _, model_path = linked
    again = _unlinked_round()
    link_round(again, LinkageSettings(model_path=model_path, blocking=("card_no",)))
    person, _, _, band = _link(again, "typo_id")
    assert (person, band) == (None, "none")


def test_thresholds_must_be_ordered():
    with pytest.raises(InvalidInput):
        LinkageSettings(auto_threshold=0.4, review_floor=0.5)


def test_realtime_resolve_returns_candidates_with_per_field_weights(linked):
    from silentcert.services.resolver.model import load_model
    from silentcert.services.resolver.realtime import RealtimeResolver

    con, _, model_path = linked
    resolver = RealtimeResolver(con, load_model(model_path), LinkageSettings())
    try:
        typo = {k: v for k, v in RECORDS["typo_id"].items() if k != "id_number_raw"}
        typo["id_number"] = RECORDS["typo_id"]["id_number_raw"]
        typo["birth_date"] = dt.date.fromisoformat(typo["birth_date"])
        best = resolver.resolve(typo)[0]
        assert best.person_id == "P04" and best.band == "auto"
        assert {"id_number", "name", "birth_date", "county_code"} <= set(best.weights)
        assert best.weights["name"] > 0 and best.weights["id_number"] > 0
        stranger = dict(RECORDS["stranger"], birth_date=dt.date(1990, 2, 2))
        assert all(c.band != "auto" for c in resolver.resolve(stranger))
    finally:
        resolver.close()


def test_a_rounds_memory_is_shared_with_splink_and_given_back(linked, caplog):
    """With a LinkMemory, Splink's own DuckDB gets its share and the working database holds the rest while Splink
    links, then has its whole bound again; the links are the same as without."""
    con, _, model_path = linked
    shared = _unlinked_round()
    sql.run(shared, "working", "SET memory_limit = '1GB'")
    memory = LinkMemory(engine="300MiB", working_while_linking="700MiB", working="1GB")
    with caplog.at_level(logging.DEBUG, logger="silentcert.sql"):
        link_round(shared, LinkageSettings(model_path=model_path), memory=memory)
    names = [record.getMessage().split(":")[0] for record in caplog.records]
    assert names.index("sql linking_memory_limit") < names.index("sql linking_memory_limit_restored")
    assert names.count("sql memory_limit") == 1  # Splink's engine, bounded once when it opens
    bound = "SELECT current_setting('memory_limit')"
    duckdb_1gb = duckdb.connect()
    duckdb_1gb.execute("SET memory_limit = '1GB'")
    assert shared.execute(bound).fetchall() == duckdb_1gb.execute(bound).fetchall()
    query = "SELECT rid, person_id, round(match_probability, 6), method, band FROM links ORDER BY rid"
    assert shared.execute(query).fetchall() == con.execute(query).fetchall()
