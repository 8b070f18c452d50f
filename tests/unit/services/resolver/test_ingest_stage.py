"""The ingest stage on a small messy round: normalisation, rejects with reasons, exact reconciliation."""

from __future__ import annotations

import duckdb
import pytest

from silentcert.services.resolver import ingest_stage
from silentcert.services.resolver.ingest_stage import ingest_round
from silentcert.services.rounds.progress import silent_progress
from silentcert.services.rounds.roundfile import load_round

REGISTRY = """person_id,id_number,name,sex,birth_date,phone,card_no,county_code,unit_id,monthly_pension,certified_until
P1,360102195001011231,王明,男,1950-01-01,+86 138-0013-8000,C001,360102,U1,"3,200.5",2021-03-01
P2,360102500202124,陳華,F,,0791-88123456,C002,360102,U1,2800,
P2,360102195002021241,dup,F,,,,,,,
,360102195002021241,nobody,F,,,,,,,
P3,360102195003031234,李 四,1,19500303,12345,C003,36010,U2,abc,2021/02/30
"""
VACCINATION = """record_id,occurred_at,sfzhm,xm,sjhm
V1,2021-05-01 10:00,36010219500101123１,王明,
V2,2021/5/2,３６０１０２１９５００２０２１２４７,陈华,
V2,2021/5/3,360102195002021247,陈华,
V3,,360102195002021247,陈华,
V4,2022-01-01,360102195002021247,陈华,
V5,2021-02-30,360102195002021247,陈华,
V6,2021-06-01,360102195002021249,,
V7,2021-06-01,360102195002021249,陈花,
V8,2021-06-01,,,
V9,2021-06-01,"36,01",王明
"""
FACE = """record_id,occurred_at,person_id,passed
F1,2021-07-01,P3,true
F2,2021-07-02,P1,否
F3,2021-07-02,P1,maybe
F4,2021-07-02,,true
"""
ROUND = """[round]
id = "t"
as_of = 2021-10-31
[registry]
file = "registry.csv"
[[sources]]
name = "vaccination"
kind = "strong"
file = "vac.csv"
encoding = "gb18030"
[sources.columns]
id_number = "sfzhm"
name = "xm"
phone = "sjhm"
[[sources]]
name = "face"
kind = "face"
file = "face.csv"
"""


@pytest.fixture
def con(tmp_path):
    (tmp_path / "registry.csv").write_text(REGISTRY, encoding="utf-8")
    (tmp_path / "vac.csv").write_bytes(VACCINATION.encode("gb18030"))
    (tmp_path / "face.csv").write_text(FACE, encoding="utf-8")
    (tmp_path / "round.toml").write_text(ROUND, encoding="utf-8")
    connection = duckdb.connect()
    ingest_round(connection, load_round(tmp_path), silent_progress)
    return connection


def _reasons(con, source):
    return dict(con.execute("SELECT record_id, reason FROM rejects WHERE source = ?", [source]).fetchall())


def test_registry_keeps_every_pensioner_once_and_normalises(con):
    rows = {r[0]: r for r in con.execute(
        "SELECT person_id, id_number, name, name_pinyin, sex, phone, monthly_pension FROM registry").fetchall()}
    assert set(rows) == {"P1", "P2", "P3"}
    assert rows["P1"][1:] == ("360102195001011231", "王明", "wangming", "M", "13800138000", 3200.5)
    assert rows["P2"][1] == "360102195002021247"  # legacy 15 digits upgraded
    assert rows["P2"][2:4] == ("陈华", "chenhua")  # traditional folded
    assert rows["P3"][1] is None and rows["P3"][5] is None  # bad check digit, bad phone: kept, warned
    warnings = [r[0] for r in con.execute("SELECT reason FROM registry_warnings WHERE person_id = 'P3'").fetchall()]
    assert any("check digit" in w for w in warnings) and any("monthly_pension abc" in w for w in warnings)
    assert _reasons(con, "registry") == {"P2": "person_id P2 repeats line 3", "": "person_id is empty"}


def test_source_rejects_carry_reasons_a_clerk_can_act_on(con):
    reasons = _reasons(con, "vaccination")
    assert reasons["V2"] == "record_id V2 repeats line 3"
    assert reasons["V3"] == "occurred_at is empty"
    assert "after the round date" in reasons["V4"]
    assert "2021-02-30" in reasons["V5"]
    assert reasons["V6"] == "id_number check digit wrong: expected 7, got 9"  # nothing else to link on
    assert "no identifying field" in reasons["V8"]
    assert "fields" in reasons["V9"]
    assert "V7" not in reasons  # bad ID but a name: kept for probabilistic linkage
    face = _reasons(con, "face")
    assert "maybe" in face["F3"] and "person_id" in face["F4"]


def test_reconciliation_is_exact(con):
    counts = con.execute("""
        SELECT c.source, c.input_rows, c.rejected_rows, (SELECT count(*) FROM records r WHERE r.source = c.source)
        FROM source_counts c WHERE c.source <> 'registry' ORDER BY 1""").fetchall()
    assert counts == [("face", 4, 2, 2), ("vaccination", 10, 7, 3)]


@pytest.mark.parametrize("table", ["registry", "records", "rejects", "registry_warnings", "source_counts"])
def test_files_normalised_in_separate_batches_give_the_same_tables(con, tmp_path, monkeypatch, table):
    monkeypatch.setattr(ingest_stage, "INGEST_BATCH_ROWS", 1)  # every file a batch of its own, the dictionaries reused
    batched = duckdb.connect()
    ingest_round(batched, load_round(tmp_path), silent_progress)
    rows = f"SELECT * FROM {table} ORDER BY ALL"
    assert batched.execute(rows).fetchall() == con.execute(rows).fetchall()
    assert con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0] > 0


def test_records_are_normalised(con):
    rows = {r[0]: r[1:] for r in con.execute(
        "SELECT record_id, id_number, birth_date::VARCHAR, sex, passed FROM records").fetchall()}
    assert rows["V1"] == ("360102195001011231", "1950-01-01", "M", None)  # full-width check digit folded
    assert rows["V2"][0] == "360102195002021247"
    assert rows["F2"][3] is False and rows["F1"][3] is True


LANDLINE_REGISTRY = """person_id,name,phone,county_code
L1,王明,6960515,360702
L2,李四,696 0515,362401
L3,张三,6960515,440101
L4,赵六,6960515,
L5,钱七,0797-6960515,360102
"""
LANDLINE_SOURCE = """record_id,occurred_at,phone,cbdq
T1,2021-05-01,88123456,360102
T2,2021-05-01,88123456,
T3,2021-05-01,88123456,999999
"""
LANDLINE_ROUND = """[round]
id = "t"
as_of = 2021-10-31
[registry]
file = "registry.csv"
[[sources]]
name = "outpatient"
kind = "weak"
file = "out.csv"
[sources.columns]
county_code = "cbdq"
"""


def test_a_landline_without_area_code_takes_its_countys(tmp_path):
    (tmp_path / "registry.csv").write_text(LANDLINE_REGISTRY, encoding="utf-8")
    (tmp_path / "out.csv").write_text(LANDLINE_SOURCE, encoding="utf-8")
    (tmp_path / "round.toml").write_text(LANDLINE_ROUND, encoding="utf-8")
    con = duckdb.connect()
    ingest_round(con, load_round(tmp_path), silent_progress)
    phones = dict(con.execute("SELECT person_id, phone FROM registry").fetchall())
    assert phones == {"L1": "0797-6960515", "L2": "0796-6960515", "L3": None, "L4": None, "L5": "0797-6960515"}
    warned = dict(con.execute("SELECT person_id, reason FROM registry_warnings").fetchall())
    assert set(warned) == {"L3", "L4"} and all("has no area code" in r for r in warned.values())
    assert dict(con.execute("SELECT record_id, phone FROM records").fetchall()) == {"T1": "0791-88123456"}
    reasons = _reasons(con, "outpatient")
    assert set(reasons) == {"T2", "T3"} and all("has no area code" in r for r in reasons.values())


def test_a_row_whose_id_fails_only_its_check_is_kept_when_it_has_a_birth_date(tmp_path):
    """Repairable (one slip from a valid number) and confirmable by the birth date: kept for linkage, not rejected
    for lacking a name."""
    (tmp_path / "registry.csv").write_text(REGISTRY, encoding="utf-8")
    (tmp_path / "vac.csv").write_text("record_id,occurred_at,sfzhm,xm,csrq\n"
                                      "V1,2021-06-01,360102195002021249,,1950-02-02\n"
                                      "V2,2021-06-01,360102195002021249,,\n", encoding="utf-8")
    (tmp_path / "round.toml").write_text(ROUND.split("[[sources]]")[0] + """[[sources]]
name = "vaccination"
kind = "strong"
file = "vac.csv"
[sources.columns]
id_number = "sfzhm"
name = "xm"
birth_date = "csrq"
""", encoding="utf-8")
    connection = duckdb.connect()
    ingest_round(connection, load_round(tmp_path), silent_progress)
    kept = connection.execute("SELECT record_id, id_number, id_number_raw FROM records").fetchall()
    assert kept == [("V1", None, "360102195002021249")]
    assert _reasons(connection, "vaccination") == {"V2": "id_number check digit wrong: expected 7, got 9"}
