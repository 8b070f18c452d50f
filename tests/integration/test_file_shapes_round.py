"""A round whose files carry any unused columns, in any order and any layout a department sends, links exactly as
the plain files do: every row linked or rejected once, the same links, the same rejects (issue: files as
departments export them)."""

from __future__ import annotations

import csv
import gzip
import io
import json
import shutil
import tomllib
from pathlib import Path
from typing import Any

import duckdb
import openpyxl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from silentcert.services.rounds.context import DB_NAME, STATE_DIR
from silentcert.services.rounds.pipeline import default_stages, run_round
from silentcert.services.rounds.roundfile import CHANNEL_COLUMNS, REGISTRY_COLUMNS, allowed_columns, load_round
from silentcert.services.settings import RoundSettings
from silentcert.synthetic import generate

WORKING_NAMES = ["line", "rid", "kind", "source", "band", "method", "match_probability", "file_index",
                 "id_number_raw", "name_pinyin", "c0", "c3", "column_2", "person_id", "passed", "county_name"]
POOL = WORKING_NAMES + list(REGISTRY_COLUMNS) + list(CHANNEL_COLUMNS) + ["", " ", "备注", "线路", "LINE", "Line "]
VALUE = st.lists(st.sampled_from(list("ab0王明，,;\"'") + ["\n", "\r\n"]), max_size=6).map("".join)


def _stages_to_links() -> list[Any]:
    return [stage for stage in default_stages() if stage.name in ("ingest", "resolve")]


def _run(round_dir: Path, out: Path) -> dict[str, list[tuple]]:
    spec = load_round(round_dir)
    run_round(spec, out, RoundSettings.from_tables(spec.settings, base=round_dir), [], stages=_stages_to_links())
    with duckdb.connect(str(out / STATE_DIR / DB_NAME), read_only=True) as con:
        return {
            "links": con.execute("SELECT source, record_id, person_id, round(match_probability, 6), method, band "
                                 "FROM links ORDER BY ALL").fetchall(),
            "rejects": con.execute("SELECT source, record_id, line, reason FROM rejects ORDER BY ALL").fetchall(),
            "counts": con.execute("SELECT source, input_rows, rejected_rows FROM source_counts ORDER BY ALL").fetchall(),
        }


@pytest.fixture(scope="module")
def plain(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, list[tuple]]]:
    from datetime import date

    base = tmp_path_factory.mktemp("plain")
    generate(pensioners=150, seed=5, as_of=date(2021, 10, 31), out=base / "round")
    return base / "round", _run(base / "round", base / "out")


def _unused(entry: dict[str, Any], kind: str) -> st.SearchStrategy[str]:
    mapped = entry.get("columns", {})
    taken = {v.strip().lower() for v in mapped.values()} | {c for c in allowed_columns(kind) if c not in mapped}
    return st.sampled_from(POOL).filter(lambda n: n.strip().lower() not in taken)


@st.composite
def layouts(draw: st.DrawFn, entry: dict[str, Any], kind: str, width: int) -> dict[str, Any]:
    extras = draw(st.lists(_unused(entry, kind), max_size=4))
    if extras and draw(st.booleans()):
        extras.append(extras[-1])
    return {"extras": extras, "order": draw(st.permutations(range(width + len(extras)))),
            "fmt": draw(st.sampled_from(["csv", "csv.gz", "xlsx"])),
            "encoding": draw(st.sampled_from(["utf-8", "gb18030"])), "bom": draw(st.booleans()),
            "newline": draw(st.sampled_from(["\n", "\r\n"])), "quote_all": draw(st.booleans()),
            "values": draw(st.lists(VALUE, min_size=1, max_size=5))}


def _read_rows(path: Path, encoding: str) -> tuple[list[str], list[list[str]]]:
    if path.suffix == ".parquet":
        table = pq.read_table(path)
        return table.column_names, [[None if v is None else str(v) for v in row.values()] for row in table.to_pylist()]
    with open(path, encoding=encoding, newline="") as handle:
        rows = list(csv.reader(handle))
    return rows[0], rows[1:]


def _rewrite(entry: dict[str, Any], kind: str, src: Path, dst_dir: Path, data: st.DataObject) -> dict[str, Any]:
    """Write the file of `entry` in a drawn layout; returns the round.toml entry that reads it."""
    header, rows = _read_rows(src / entry["file"], entry.get("encoding", "utf-8"))
    if src.joinpath(entry["file"]).suffix == ".parquet":
        extras = data.draw(st.lists(_unused(entry, kind), max_size=3), label=f"{entry.get('name')} extras")
        table = pq.read_table(src / entry["file"])
        for i, name in enumerate(extras):
            table = table.append_column(pa.field(name, pa.string()), pa.array([f"x{i}"] * table.num_rows))
        pq.write_table(table, dst_dir / Path(entry["file"]).name)
        return {**entry, "file": Path(entry["file"]).name}
    shape = data.draw(layouts(entry, kind, len(header)), label=f"{entry.get('name', 'registry')} layout")
    values = shape["values"]
    header = header + shape["extras"]
    rows = [row + [values[(r + c) % len(values)] for c in range(len(shape["extras"]))] for r, row in enumerate(rows)]
    header = [header[i] for i in shape["order"]]
    rows = [[row[i] for i in shape["order"]] for row in rows]
    name = Path(entry["file"]).stem + "." + shape["fmt"]
    out = {k: v for k, v in entry.items() if k != "encoding"}
    out["file"] = name
    if shape["fmt"] == "xlsx":
        book = openpyxl.Workbook(write_only=True)
        sheet = book.create_sheet("导出")
        for row in [header, *rows]:
            sheet.append(row)
        book.save(dst_dir / name)
        return out
    text = io.StringIO()
    csv.writer(text, lineterminator=shape["newline"],
               quoting=csv.QUOTE_ALL if shape["quote_all"] else csv.QUOTE_MINIMAL).writerows([header, *rows])
    raw = ("\ufeff" if shape["bom"] else "") + text.getvalue()
    encoded = raw.encode(shape["encoding"])
    (dst_dir / name).write_bytes(gzip.compress(encoded) if shape["fmt"] == "csv.gz" else encoded)
    return {**out, "encoding": shape["encoding"]}


def _toml(doc: dict[str, Any]) -> str:
    """round.toml for the rewritten round (strings as TOML basic strings, which JSON's escapes are)."""
    def pairs(values: dict[str, Any]) -> list[str]:
        return [f"{json.dumps(k)} = {json.dumps(v, ensure_ascii=False)}" for k, v in values.items()
                if not isinstance(v, dict)]

    def table(header: str, prefix: str, values: dict[str, Any]) -> list[str]:
        columns = values.get("columns")
        return [header, *pairs(values), *([f"[{prefix}.columns]", *pairs(columns)] if columns else [])]

    lines = ["[round]", f'id = {json.dumps(doc["round"]["id"])}', f'as_of = {doc["round"]["as_of"]}']
    lines += table("[registry]", "registry", doc["registry"])
    for entry in doc["sources"]:
        lines += table("[[sources]]", "sources", entry)
    return "\n".join(lines) + "\n"


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.too_slow])
@given(data=st.data())
def test_any_layout_links_as_the_plain_files(plain, tmp_path_factory, data):
    round_dir, expected = plain
    doc = tomllib.loads((round_dir / "round.toml").read_text(encoding="utf-8"))
    work = tmp_path_factory.mktemp("shaped")
    (work / "round").mkdir()
    doc["registry"] = _rewrite(doc["registry"], "registry", round_dir, work / "round", data)
    doc["sources"] = [_rewrite(e, e["kind"], round_dir, work / "round", data) for e in doc["sources"]]
    (work / "round" / "round.toml").write_text(_toml(doc), encoding="utf-8")
    got = _run(work / "round", work / "out")
    assert got == expected
    shutil.rmtree(work)


def test_a_messy_province_runs_as_the_plain_one(tmp_path):
    """The generator's messy shape (unused `line`, `rid`, twice `备注`, a nameless column, shuffled, BOM, a .csv.gz
    and an .xlsx source) gives the same outputs as the plain shape of the same seed, through the whole round."""
    from datetime import date

    from silentcert.clients.rounds import run_round_files

    outputs = {}
    for shape in ("plain", "messy"):
        generate(pensioners=300, seed=9, as_of=date(2021, 10, 31), out=tmp_path / shape, shape=shape)
        run_round_files(tmp_path / shape / "round.toml", tmp_path / f"out-{shape}", store=None, neo4j_uri=None)
        outputs[shape] = {name: (tmp_path / f"out-{shape}" / name).read_bytes()
                          for name in ("links.csv", "rejects.csv", "verdicts.csv", "flags.csv", "notices.csv")}
    assert {p.suffix for p in (tmp_path / "messy").rglob("*.*")} >= {".xlsx", ".gz", ".parquet", ".csv"}
    assert outputs["messy"] == outputs["plain"]
    assert outputs["plain"]["links.csv"].count(b"\n") > 1000
