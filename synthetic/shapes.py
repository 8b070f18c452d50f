"""File shapes: how departments really export their files, as a knob of the generator.

`plain` writes each source as its recipe says (CSV or Parquet). `messy` writes what a round meets in practice:
unused columns named like the pipeline's own (`line`, `rid`), one name twice (`备注`), a column without a name,
columns in a shuffled order, a UTF-8 byte-order mark, one source gzip-compressed and one as an Excel workbook.
The canonical columns' values are the same bytes either way, so a round must link both shapes identically.
"""

from __future__ import annotations

import dataclasses
import gzip
import io
import re
import zipfile
from pathlib import Path

import numpy as np
import pyarrow as pa

from silentcert.synthetic import files
from silentcert.synthetic.sources import SourceSpec

SHAPES = ("plain", "messy")

# In the messy shape: which sources leave as what (a weak source compressed, a small death register in Excel).
GZIP_SOURCES = ("telecom",)
XLSX_SOURCES = ("village",)
XLSX_SHEET = "导出"
REMARKS = np.array(["", "已核实", "补录", "转办,待查", '"加急"', "见附件\n第2页", "无"], dtype=object)
XLSX_EPOCH = (1980, 1, 1, 0, 0, 0)  # zip entries dated once, so the same seed writes the same bytes


def shaped(spec: SourceSpec, shape: str) -> SourceSpec:
    """The spec as this shape writes it (only how it is stored changes, never the records)."""
    if shape == "plain" or spec.fmt != "csv":
        return spec
    if spec.name in GZIP_SOURCES:
        return dataclasses.replace(spec, layout="csv.gz")
    if spec.name in XLSX_SOURCES:
        return dataclasses.replace(spec, layout="xlsx", encoding="utf-8")
    return spec


def with_unused_columns(rng: np.random.Generator, table: pa.Table, shape: str) -> pa.Table:
    """Messy: unused columns whose names collide with working names or each other, in a shuffled order."""
    if shape == "plain":
        return table
    n = table.num_rows
    extras = [
        ("line", pa.array(np.char.add("K", rng.integers(1, 400, n).astype(str)))),
        ("备注", pa.array(REMARKS[rng.integers(0, len(REMARKS), n)], pa.string())),
        ("rid", pa.array(rng.integers(1, 10**9, n))),
        ("备注", pa.array(REMARKS[rng.integers(0, len(REMARKS), n)], pa.string())),
        ("", pa.array(np.full(n, "x", dtype=object), pa.string())),
    ]
    columns = [*zip(table.column_names, table.columns, strict=True), *extras]
    order = rng.permutation(len(columns))
    return pa.table([columns[i][1] for i in order], names=[columns[i][0] for i in order])


def write_source(table: pa.Table, path: Path, spec: SourceSpec, shape: str) -> None:
    """Write one source file in the spec's format and layout."""
    if spec.fmt == "parquet":
        files.write_parquet(table, path)
    elif spec.layout == "xlsx":
        write_xlsx(table, path)
    else:
        bom = shape == "messy" and spec.encoding == "utf-8"
        buffer = io.BytesIO()
        files.write_csv_to(table, buffer, spec.encoding, spec.newline, bom=bom)
        data = buffer.getvalue()
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(gzip.compress(data, mtime=0) if spec.layout == "csv.gz" else data)


def write_xlsx(table: pa.Table, path: Path) -> None:
    """One sheet of text cells (as a department's export keeps IDs: as text), byte-reproducible."""
    import openpyxl  # lazy: only worlds with Excel files pay for its import

    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet(XLSX_SHEET)
    sheet.append(table.column_names)
    for row in zip(*(c.to_pylist() for c in table.columns), strict=True):
        sheet.append(["" if v is None else str(v) for v in row])
    raw = io.BytesIO()
    book.save(raw)
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(raw) as source, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            data = source.read(info.filename)
            if info.filename == "docProps/core.xml":  # holds the time of writing
                data = _fixed_times(data)
            target.writestr(zipfile.ZipInfo(info.filename, XLSX_EPOCH), data, zipfile.ZIP_DEFLATED)


def _fixed_times(core: bytes) -> bytes:
    return re.sub(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*", rb"\g<1>2021-01-01T00:00:00Z", core)
