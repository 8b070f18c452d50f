"""Files as departments export them: any unused columns, any order, BOM, CRLF, quoted line breaks, GB18030 or
UTF-8, CSV, gzip-compressed CSV or .xlsx. Whatever the shape, the reader returns the same rows as the plain file."""

from __future__ import annotations

import csv
import gzip
import io
from dataclasses import dataclass
from pathlib import Path

import openpyxl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from silentcert.graph.errors import SourceFileError
from silentcert.services.rounds.readers import read_file
from silentcert.services.rounds.roundfile import CHANNEL_COLUMNS, REGISTRY_COLUMNS, FileSpec, allowed_columns

# Names a department might give columns the round never reads: the pipeline's own working names, other kinds'
# contract names, empty, blank, Chinese.
WORKING_NAMES = ["line", "rid", "kind", "source", "band", "method", "match_probability", "file_index",
                 "id_number_raw", "name_pinyin", "c0", "c1", "column_1", "column 2", "person_id", "passed"]
OTHER_NAMES = [*REGISTRY_COLUMNS, *CHANNEL_COLUMNS]
ODD_NAMES = ["", "  ", "备注", "线路", "Line", "LINE", "line ", "\ufeffx", "a,b", 'say "hi"']

# Cell text: Chinese, separators, quotes and line breaks (which a CSV writer quotes). A value holding a line break
# followed by a whole row's worth of commas reads as rows a stray quote swallowed (readers._swallowed_rows), and the
# file is then read line by line: values of this test stay below that.
TEXT = st.lists(st.sampled_from(list("ab 0123王李明华，。,;|\"'\t") + ["\n", "\r\n"]), max_size=8).map("".join).filter(
    lambda v: all(line.count(",") < 4 for line in v.splitlines()[1:]))
ROWS = [
    {"record_id": "R1", "occurred_at": "2021-05-01", "id_number": "360102195001011237", "name": "王明", "phone": "13800000001"},
    {"record_id": "R2", "occurred_at": "2021/5/2", "id_number": "", "name": "李 华", "phone": "+86 138-0000-0002"},
    {"record_id": "R3", "occurred_at": "20210503", "id_number": "36010219500101123x", "name": "", "phone": ""},
]
CANONICAL = list(ROWS[0])


@dataclass(frozen=True)
class Shape:
    mapping: dict[str, str]  # canonical -> the file's name for it
    extras: list[str]  # unused columns' names (may repeat)
    order: list[int]  # a permutation of the file's columns
    fmt: str  # csv | csv.gz | xlsx
    encoding: str
    bom: bool
    newline: str
    quote_all: bool
    values: list[list[str]]  # one list per extra column, one value per row
    messy: list[str]  # replaces ROWS' names: mapped values with separators, quotes and line breaks


def _unused_name(mapping: dict[str, str]) -> st.SearchStrategy[str]:
    """A name the round will not read: not a canonical column of this kind unless that one is mapped elsewhere."""
    taken = {n.strip().lower() for n in mapping.values()} | {c for c in allowed_columns("weak") if c not in mapping}
    return st.sampled_from(WORKING_NAMES + OTHER_NAMES + ODD_NAMES).filter(
        lambda n: n.strip().lstrip("\ufeff").strip().lower() not in taken)


@st.composite
def shapes(draw: st.DrawFn) -> Shape:
    renamed = draw(st.sets(st.sampled_from(CANONICAL)))
    mapping = {c: {"record_id": "jzjlbh", "occurred_at": "日期", "id_number": "sfzhm", "name": "line",
                   "phone": "kind"}[c] for c in renamed}
    extras = draw(st.lists(_unused_name(mapping), max_size=6))
    if extras and draw(st.booleans()):
        extras.append(extras[0])  # the same unused name twice
    width = len(CANONICAL) + len(extras)
    fmt = draw(st.sampled_from(["csv", "csv.gz", "xlsx"]))
    return Shape(
        mapping=mapping, extras=extras, order=draw(st.permutations(range(width))), fmt=fmt,
        encoding=draw(st.sampled_from(["utf-8", "gb18030"])), bom=draw(st.booleans()),
        newline=draw(st.sampled_from(["\n", "\r\n"])), quote_all=draw(st.booleans()),
        values=[draw(st.lists(TEXT, min_size=len(ROWS), max_size=len(ROWS))) for _ in extras],
        messy=draw(st.lists(TEXT, min_size=len(ROWS), max_size=len(ROWS))),
    )


def _expected(shape: Shape) -> list[dict[str, str]]:
    return [{**row, "name": messy} for row, messy in zip(ROWS, shape.messy, strict=True)]


def _as_read(shape: Shape) -> list[dict[str, str]]:
    """What the reader returns: a workbook's XML turns CRLF inside a cell into LF (Excel shows the same)."""
    if shape.fmt != "xlsx":
        return _expected(shape)
    return [{k: v.replace("\r\n", "\n") for k, v in row.items()} for row in _expected(shape)]


def _write(shape: Shape, folder: Path) -> FileSpec:
    header = [shape.mapping.get(c, c) for c in CANONICAL] + shape.extras
    rows = [[row[c] for c in CANONICAL] + [v[i] for v in shape.values] for i, row in enumerate(_expected(shape))]
    header = [header[i] for i in shape.order]
    rows = [[row[i] for i in shape.order] for row in rows]
    path = folder / f"weak.{shape.fmt}"
    if shape.fmt == "xlsx":
        book = openpyxl.Workbook()
        book.active.title = "ignored"
        sheet = book.create_sheet("data")
        for values in [header, *rows]:
            sheet.append(values)
        book.save(path)
        return FileSpec("telecom", "weak", path, columns=shape.mapping, sheet="data")
    text = io.StringIO()
    writer = csv.writer(text, lineterminator=shape.newline,
                        quoting=csv.QUOTE_ALL if shape.quote_all else csv.QUOTE_MINIMAL)
    writer.writerows([header, *rows])
    data = text.getvalue().encode(shape.encoding)
    if shape.bom and shape.encoding == "utf-8":
        data = b"\xef\xbb\xbf" + data
    path.write_bytes(gzip.compress(data) if shape.fmt == "csv.gz" else data)
    return FileSpec("telecom", "weak", path, shape.encoding, shape.mapping)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(shapes())
def test_any_shape_reads_as_the_plain_file(tmp_path_factory, shape):
    result = read_file(_write(shape, tmp_path_factory.mktemp("shape")))
    assert result.bad_rows == []
    assert result.table.select(CANONICAL).to_pylist() == _as_read(shape)
    assert result.table["line"].to_pylist() == [2, 3, 4]
    assert sorted(result.table.column_names) == sorted([*CANONICAL, "line"])
    if shape.fmt == "xlsx":  # a workbook does not store an empty cell: a nameless, empty last column is not there
        assert len(shape.extras) - len(result.extra_columns) <= shape.extras.count("")
    else:
        assert len(result.extra_columns) == len(shape.extras)


def _csv(folder: Path, text: str, columns: dict[str, str] | None = None) -> FileSpec:
    (folder / "s.csv").write_text(text, encoding="utf-8")
    return FileSpec("bus", "weak", folder / "s.csv", columns=columns or {})


def test_a_column_named_line_is_an_unused_column(tmp_path):
    result = read_file(_csv(tmp_path, "record_id,occurred_at,line,name\nB1,2021-05-01,K12,王明\n"))
    assert result.table.to_pylist() == [{"record_id": "B1", "occurred_at": "2021-05-01", "name": "王明", "line": 2}]
    assert result.extra_columns == ("line",)


def test_a_repeated_unused_column_is_kept_out(tmp_path):
    result = read_file(_csv(tmp_path, "record_id,remark,occurred_at,remark\nB1,x,2021-05-01,y\n"))
    assert result.table.column_names == ["record_id", "occurred_at", "line"]
    assert result.extra_columns == ("remark", "remark")


@pytest.mark.parametrize("text, columns, message", [
    ("record_id,occurred_at,name,name\nB1,2021-05-01,a,b\n", {}, r"has column 'name' 2 times \(columns 3, 4\)"),
    ("rid,occurred_at,xm,xm\nB1,2021-05-01,a,b\n", {"record_id": "rid", "name": "xm"}, "has column 'xm' 2 times"),
    ("record_id,Occurred_At,OCCURRED_AT \nB1,2021-05-01,x\n", {}, "has column 'occurred_at' 2 times"),
    ("record_id,when\nB1,2021-05-01\n", {"occurred_at": "date"}, "column 'date' \\(mapped to occurred_at\\) is not"),
])
def test_a_used_column_missing_or_repeated_is_named(tmp_path, text, columns, message):
    with pytest.raises(SourceFileError, match=f"source 'bus': .*{message}"):
        read_file(_csv(tmp_path, text, columns))


def test_an_exact_name_wins_over_a_case_variant(tmp_path):
    result = read_file(_csv(tmp_path, "record_id,occurred_at,NAME,name\nB1,2021-05-01,upper,lower\n"))
    assert result.table["name"].to_pylist() == ["lower"]


def test_a_quote_that_never_closes_rejects_its_row_not_the_rest(tmp_path):
    text = 'record_id,occurred_at,name\nB1,2021-05-01,"unterminated\nB2,2021-05-02,王明\nB3,2021-05-03,李华\n'
    result = read_file(_csv(tmp_path, text))
    assert result.table.to_pylist() == [
        {"record_id": "B1", "occurred_at": "2021-05-01", "name": '"unterminated', "line": 2},
        {"record_id": "B2", "occurred_at": "2021-05-02", "name": "王明", "line": 3},
        {"record_id": "B3", "occurred_at": "2021-05-03", "name": "李华", "line": 4}]


def test_after_a_stray_quote_a_quoted_separator_rejects_its_row(tmp_path):
    text = 'record_id,occurred_at,name\nB1,2021-05-01,"un\nB2,2021-05-02,"王,明"\nB3,2021-05-03,李华\n'
    result = read_file(_csv(tmp_path, text))
    assert result.table["record_id"].to_pylist() == ["B1", "B3"]
    assert [(b.line, b.record_id) for b in result.bad_rows] == [(3, "B2")]


def test_a_quoted_line_break_stays_in_its_value(tmp_path):
    text = 'record_id,occurred_at,name\r\nB1,2021-05-01,"王\r\n明"\r\nB2,2021-05-02,李华\r\n'
    result = read_file(_csv(tmp_path, text))
    assert result.table.to_pylist() == [
        {"record_id": "B1", "occurred_at": "2021-05-01", "name": "王\r\n明", "line": 2},
        {"record_id": "B2", "occurred_at": "2021-05-02", "name": "李华", "line": 3}]


def test_xlsx_numbers_and_dates_read_as_a_clerk_sees_them(tmp_path):
    import datetime as dt

    book = openpyxl.Workbook()
    book.active.append(["record_id", "occurred_at", "phone", "id_number", "备注"])
    book.active.append([1001, dt.datetime(2021, 5, 1), 13800000001, 360102500101123, None])  # a legacy 15-digit ID
    book.active.append(["B2", dt.datetime(2021, 5, 2, 8, 30), "138 0000 0002", None, "x"])
    book.active.append([None, None, None, None, None])
    book.active.append(["B3", dt.date(2021, 5, 3), 1.5, "36010219500101123X", None, "outside"])
    book.save(tmp_path / "s.xlsx")
    result = read_file(FileSpec("bus", "weak", tmp_path / "s.xlsx"))
    assert result.table.to_pylist() == [
        {"record_id": "1001", "occurred_at": "2021-05-01", "phone": "13800000001", "id_number": "360102500101123",
         "line": 2},
        {"record_id": "B2", "occurred_at": "2021-05-02 08:30:00", "phone": "138 0000 0002", "id_number": "",
         "line": 3},
        {"record_id": "B3", "occurred_at": "2021-05-03", "phone": "1.5", "id_number": "36010219500101123X",
         "line": 5}]
    assert result.bad_rows == [] and result.extra_columns == ("备注", "column 6")  # a value past the named columns


def test_xlsx_sheet_that_is_not_there_is_named(tmp_path):
    openpyxl.Workbook().save(tmp_path / "s.xlsx")
    with pytest.raises(SourceFileError, match="has no sheet 'data'; its sheets are Sheet"):
        read_file(FileSpec("bus", "weak", tmp_path / "s.xlsx", sheet="data"))


def test_a_broken_workbook_or_gzip_is_refused_as_a_whole(tmp_path):
    (tmp_path / "s.xlsx").write_bytes(b"PK\x03\x04 not really a workbook")
    with pytest.raises(SourceFileError, match="s.xlsx is not a readable .xlsx workbook"):
        read_file(FileSpec("bus", "weak", tmp_path / "s.xlsx"))
    whole = gzip.compress(b"record_id,occurred_at\n" + b"B1,2021-05-01\n" * 1000)
    (tmp_path / "s.csv.gz").write_bytes(whole[: len(whole) // 2])
    with pytest.raises(SourceFileError, match="s.csv.gz is not a whole gzip file"):
        read_file(FileSpec("bus", "weak", tmp_path / "s.csv.gz"))


def test_parquet_with_unused_columns_of_any_name(tmp_path):
    table = pa.table([pa.array(["B1"]), pa.array(["x"]), pa.array(["2021-05-01"]), pa.array([7]), pa.array(["y"])],
                     names=["record_id", "line", "occurred_at", "remark", "remark"])
    pq.write_table(table, tmp_path / "s.parquet")
    result = read_file(FileSpec("bus", "weak", tmp_path / "s.parquet"))
    assert result.table.to_pylist() == [{"record_id": "B1", "occurred_at": "2021-05-01", "line": 2}]
    assert result.extra_columns == ("line", "remark", "remark")
