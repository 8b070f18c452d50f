"""round.toml validation and the input readers: clear errors, GB18030, renames, bad rows with line numbers."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from silentcert.graph.errors import RoundFileError, SourceFileError
from silentcert.services.rounds.readers import read_file
from silentcert.services.rounds.roundfile import load_round

ROUND = """
[round]
id = "2021-10"
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
"""


@pytest.fixture
def round_dir(tmp_path: Path) -> Path:
    (tmp_path / "registry.csv").write_text("person_id,name\nP1,王明\n", encoding="utf-8")
    text = "record_id,occurred_at,sfzhm,xm,extra\nV1,2021-05-01,360102195001011237,陈华,x\nV2,2021/5/2\n\nV3,20210503,,李四,y\n"
    (tmp_path / "vac.csv").write_bytes(text.encode("gb18030"))
    (tmp_path / "round.toml").write_text(ROUND, encoding="utf-8")
    return tmp_path


def test_round_file_parses(round_dir):
    spec = load_round(round_dir)
    assert spec.round_id == "2021-10" and str(spec.as_of) == "2021-10-31"
    assert spec.source("vaccination").encoding == "gb18030"
    assert spec.source("vaccination").columns == {"id_number": "sfzhm", "name": "xm"}


@pytest.mark.parametrize("edit, message", [
    (('kind = "strong"', 'kind = "rumour"'), "unknown kind 'rumour'"),
    (('file = "vac.csv"', 'file = "missing.csv"'), "file not found"),
    (('id_number = "sfzhm"', 'idnum = "sfzhm"'), "maps unknown column 'idnum'"),
    (('encoding = "gb18030"', 'encoding = "klingon"'), "unknown encoding"),
    (('id = "2021-10"', ''), "needs 'id'"),
    (('as_of = 2021-10-31', 'as_of = "last tuesday"'), "must be a date"),
])
def test_round_file_errors_name_the_problem(round_dir, edit, message):
    (round_dir / "round.toml").write_text(ROUND.replace(*edit), encoding="utf-8")
    with pytest.raises(RoundFileError, match=message):
        load_round(round_dir)


def test_missing_round_file(tmp_path):
    with pytest.raises(RoundFileError, match="not found"):
        load_round(tmp_path / "nowhere.toml")


def test_gb18030_csv_with_renames_bad_rows_and_line_numbers(round_dir):
    result = read_file(load_round(round_dir).source("vaccination"))
    rows = result.table.to_pylist()
    assert [(r["record_id"], r["line"], r["name"]) for r in rows] == [("V1", 2, "陈华"), ("V3", 5, "李四")]
    assert [(b.line, b.record_id) for b in result.bad_rows] == [(3, "V2")]
    assert "2 fields" in result.bad_rows[0].reason
    assert result.extra_columns == ("extra",)


def test_wrong_encoding_says_which_to_use(round_dir):
    spec = dataclasses.replace(load_round(round_dir).source("vaccination"), encoding="utf-8")
    with pytest.raises(SourceFileError, match='encoding = "gb18030"'):
        read_file(spec)


def test_missing_required_column_is_named(round_dir):
    (round_dir / "vac.csv").write_bytes("record_id,sfzhm,xm\nV1,1,王\n".encode("gb18030"))
    with pytest.raises(SourceFileError, match="occurred_at"):
        read_file(load_round(round_dir).source("vaccination"))


def test_parquet_source(round_dir):
    pq.write_table(pa.table({"record_id": ["A", "B"], "occurred_at": ["2021-01-01", "2021-01-02"],
                             "sfzhm": ["1", "2"], "xm": ["王", "李"], "n": [1, 2]}), round_dir / "vac.parquet")
    text = (round_dir / "round.toml").read_text().replace('file = "vac.csv"', 'file = "vac.parquet"')
    (round_dir / "round.toml").write_text(text)
    result = read_file(load_round(round_dir).source("vaccination"))
    assert result.table.column("line").to_pylist() == [2, 3]
    assert result.table.column("id_number").to_pylist() == ["1", "2"]


def test_tab_separated_file_is_read_by_its_header(round_dir):
    (round_dir / "vac.csv").write_bytes("record_id\toccurred_at\tsfzhm\txm\nV1\t2021-05-01\t1\t王\n".encode("gb18030"))
    result = read_file(load_round(round_dir).source("vaccination"))
    assert result.table.to_pylist() == [{"record_id": "V1", "occurred_at": "2021-05-01", "id_number": "1",
                                         "name": "王", "line": 2}]
