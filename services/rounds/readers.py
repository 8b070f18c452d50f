"""Read one input file into an arrow table of strings with canonical column names and line numbers.

CSV (UTF-8, GB18030 or any codec Python knows; plain or gzip-compressed), Excel `.xlsx` (the first sheet or the one
round.toml names) or Parquet. Rows the CSV parser cannot split (wrong number of fields, a truncated last line) are
returned as rejects with their line, never dropped. A file that cannot be read as a whole raises
:class:`SourceFileError` naming the file and what to change.

Input names never meet working names: the file's columns are read under positional names (`c0`, `c1`, …) and only
the columns the round uses are renamed to their canonical names, so an unused column may have any name — repeated,
empty, Chinese, or one of the pipeline's own (`line`, `rid`, …). A *used* column that is missing, or that the header
offers twice, is an error naming the file and the column before any row is read.

`line` is the row's number in the file, counting the header as line 1: the physical line, except that a quoted value
holding a line break keeps its row on one number.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import gzip
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from silentcert.graph.errors import SourceFileError
from silentcert.services.rounds.roundfile import FileSpec, file_format

BLOCK_SIZE = 16 << 20


@dataclass(frozen=True)
class BadRow:
    """A row the parser could not split into the header's fields."""

    line: int
    record_id: str
    reason: str


@dataclass(frozen=True)
class ReadResult:
    """The canonical-named string columns (plus `line`), the rows that could not be parsed, unused columns' names."""

    table: pa.Table
    bad_rows: list[BadRow]
    extra_columns: tuple[str, ...]


@dataclass(frozen=True)
class _Layout:
    """Which position of the header feeds which canonical column, and the names of the positions left unused."""

    used: dict[str, int]  # canonical name -> position in the header
    unused: tuple[str, ...]


def read_file(spec: FileSpec) -> ReadResult:
    """Read `spec` into strings: the canonical columns the file has, and `line` (header is line 1)."""
    kind = file_format(spec.path)
    if kind == "parquet":
        return _read_parquet(spec)
    if kind == "xlsx":
        return _read_xlsx(spec)
    return _read_csv(spec)


def _layout(header: list[str], spec: FileSpec) -> _Layout:
    """Map the header's positions to canonical names; a used column missing or offered twice is an error."""
    used: dict[str, int] = {}
    for canonical in spec.canonical_columns:
        mapped = spec.columns.get(canonical)
        if mapped is not None:
            positions = [i for i, name in enumerate(header) if name == mapped.strip()]
            if not positions:
                raise SourceFileError(
                    f"{_who(spec)}: column '{mapped}' (mapped to {canonical}) is not in {spec.path.name}; "
                    f"header has {_shown(header)}")
        else:
            if canonical in spec.columns.values():
                continue  # the file's column of this name is mapped to another canonical column
            positions = [i for i, name in enumerate(header) if name == canonical]
            positions = positions or [i for i, name in enumerate(header) if name.lower() == canonical]
            if not positions:
                continue
        if len(positions) > 1:
            named = mapped if mapped is not None else canonical
            raise SourceFileError(
                f"{_who(spec)}: {spec.path.name} has column '{named}' {len(positions)} times (columns "
                f"{', '.join(str(p + 1) for p in positions)}); the round reads it as {canonical}, so it must be "
                f"there once (rename the other, or map another column with [sources.columns] in round.toml)")
        used[canonical] = positions[0]
    _check_required(used, header, spec)
    taken = set(used.values())
    unused = tuple(name or f"column {i + 1}" for i, name in enumerate(header) if i not in taken)
    return _Layout(used, unused)


def _check_required(used: dict[str, int], header: list[str], spec: FileSpec) -> None:
    missing = [c for c in spec.required_columns if c not in used]
    if spec.kind in ("face", "in_person") and not {"person_id", "id_number"} & set(used):
        missing.append("person_id or id_number")
    if missing:
        raise SourceFileError(
            f"{_who(spec)}: {spec.path.name} lacks required column(s) {', '.join(missing)}; "
            f"header has {_shown(header)} (map other names with [sources.columns] in round.toml)")


def _shown(header: list[str]) -> str:
    return ", ".join(name or "(empty)" for name in header)


def _clean_names(names: list[Any]) -> list[str]:
    return ["" if name is None else str(name).strip().lstrip("\ufeff").strip() for name in names]


def _result(columns: list[pa.Array], lines: pa.Array, layout: _Layout, bad: list[BadRow]) -> ReadResult:
    """The used columns under their canonical names, then `line`."""
    names = list(layout.used)
    table = pa.table([*columns, lines], names=[*names, "line"])
    return ReadResult(table, bad, layout.unused)


# --- Parquet -----------------------------------------------------------------------------------------------------

def _read_parquet(spec: FileSpec) -> ReadResult:
    try:
        parquet = pq.ParquetFile(spec.path)
        names = parquet.schema_arrow.names
        layout = _layout(_clean_names(names), spec)
        wanted = [names[i] for i in layout.used.values()]
        if all(names.count(name) == 1 for name in wanted):
            table = parquet.read(columns=wanted)  # only the used columns are read from disk
        else:  # a used name repeated after stripping: select by position
            table = parquet.read().select(list(layout.used.values()))
    except (pa.ArrowInvalid, OSError) as exc:
        raise SourceFileError(f"{_who(spec)}: {spec.path.name} is not a readable Parquet file ({exc})") from exc
    columns = [_as_string(table.column(i), canonical, spec) for i, canonical in enumerate(layout.used)]
    return _result(columns, pa.array(range(2, table.num_rows + 2), pa.int64()), layout, [])


def _as_string(column: pa.ChunkedArray, canonical: str, spec: FileSpec) -> pa.ChunkedArray:
    if pa.types.is_string(column.type):
        return column
    try:
        return pc.cast(column, pa.string())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise SourceFileError(f"{_who(spec)}: {spec.path.name} column for {canonical} has type {column.type}, "
                              f"which cannot be read as text ({exc})") from exc


# --- Excel -------------------------------------------------------------------------------------------------------

def _read_xlsx(spec: FileSpec) -> ReadResult:
    import openpyxl  # only rounds with Excel files pay for its import

    try:
        book = openpyxl.load_workbook(spec.path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises zipfile, KeyError and its own errors for a broken workbook
        raise SourceFileError(f"{_who(spec)}: {spec.path.name} is not a readable .xlsx workbook "
                              f"({exc.__class__.__name__}: {str(exc)[:200]})") from exc
    try:
        return _read_sheet(_sheet(book, spec), spec)
    finally:
        book.close()


def _sheet(book: Any, spec: FileSpec) -> Any:
    if spec.sheet is None:
        return book.worksheets[0]
    if spec.sheet not in book.sheetnames:
        raise SourceFileError(f"{_who(spec)}: {spec.path.name} has no sheet '{spec.sheet}'; "
                              f"its sheets are {', '.join(book.sheetnames)}")
    return book[spec.sheet]


def _read_sheet(sheet: Any, spec: FileSpec) -> ReadResult:
    rows = sheet.iter_rows(values_only=True)
    header = _clean_names(list(next(rows, None) or []))  # cells without a name are unused columns
    if not any(header):
        raise SourceFileError(f"{_who(spec)}: {spec.path.name} is empty or has no header row")
    layout = _layout(header, spec)
    width = len(header)
    values: list[list[str]] = [[] for _ in layout.used]
    lines: list[int] = []
    bad: list[BadRow] = []
    for number, row in enumerate(rows, start=2):
        cells = [_cell_text(v) for v in row]
        if not any(c.strip() for c in cells):
            continue  # an empty row is not a row
        filled = max(i for i, c in enumerate(cells) if c.strip()) + 1
        if filled > width:
            bad.append(BadRow(number, cells[0].strip()[:64],
                              f"row has {filled} filled cells, the header has {width} (a value outside the table)"))
            continue
        cells += [""] * (width - len(cells))
        for target, position in zip(values, layout.used.values(), strict=True):
            target.append(cells[position])
        lines.append(number)
    columns = [pa.array(v, pa.string()) for v in values]
    return _result(columns, pa.array(lines, pa.int64()), layout, bad)


def _cell_text(value: Any) -> str:
    """A cell as the text a clerk sees: whole numbers without '.0', dates in ISO form."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))  # beyond 15 digits Excel has already rounded the number: keep what it stored
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


# --- CSV ---------------------------------------------------------------------------------------------------------

def _read_csv(spec: FileSpec) -> ReadResult:
    header, delimiter = _header(spec)
    layout = _layout(header, spec)
    table, bad = _parse_csv_rows(spec, header, delimiter)
    columns = [table.column(position) for position in layout.used.values()]
    return _result(columns, table.column(len(header)), layout, bad)


def _parse_csv_rows(spec: FileSpec, header: list[str], delimiter: str) -> tuple[pa.Table, list[BadRow]]:
    """Every column under its position's name plus `line`, and the rejected rows.

    Quoted values may hold line breaks (RFC 4180). A quote that opens a value and never closes swallows the rows
    after it into that value without a sound; when a parsed value or rejected row holds a whole row's worth of
    separators after a line break, the file is parsed again with quotes read as plain characters, one row a line:
    every row is then read or rejected on its own (a row whose quoted value held a separator is rejected).
    """
    parsed = _parse_numbered(spec, header, delimiter, quoted=True)
    if _swallowed_rows(parsed, delimiter, len(header)):
        parsed = _parse_numbered(spec, header, delimiter, quoted=False)
    return parsed.table, parsed.bad


def _parse_numbered(spec: FileSpec, header: list[str], delimiter: str, quoted: bool) -> _Parsed:
    # The threaded parser is fast but cannot number invalid rows; files with invalid rows are parsed again
    # on one thread, where every rejected row carries its line.
    parsed = (_parse_csv(spec, header, delimiter, quoted, use_threads=True)
              or _parse_csv(spec, header, delimiter, quoted, use_threads=False))
    assert parsed is not None, "a single-threaded parse numbers every row"
    return parsed


@dataclass(frozen=True)
class _Parsed:
    table: pa.Table  # c0, c1, … and line
    bad: list[BadRow]
    swallowing: bool  # a rejected row spans lines that look like rows of their own


def _parse_csv(spec: FileSpec, header: list[str], delimiter: str, quoted: bool,
               use_threads: bool) -> _Parsed | None:
    bad: list[BadRow] = []
    skipped: list[int] = []
    unnumbered: list[bool] = []
    swallowing: list[bool] = []

    def on_invalid(row: pacsv.InvalidRow) -> str:
        if row.number is None:
            unnumbered.append(True)
            return "skip"
        skipped.append(row.number)
        if row.text.strip():  # a blank line is not a row; anything else is rejected with its reason
            bad.append(BadRow(row.number, _first_field(row.text, delimiter), _field_count_reason(row)))
            if _holds_a_row(row.text, delimiter, len(header)):
                swallowing.append(True)
        return "skip"

    positions = [f"c{i}" for i in range(len(header))]
    read = pacsv.ReadOptions(use_threads=use_threads, block_size=BLOCK_SIZE, encoding=spec.encoding,
                             column_names=positions, skip_rows=1)
    parse = pacsv.ParseOptions(delimiter=delimiter, invalid_row_handler=on_invalid, ignore_empty_lines=False,
                               quote_char='"' if quoted else False, newlines_in_values=quoted)
    convert = pacsv.ConvertOptions(column_types={name: pa.string() for name in positions},
                                   strings_can_be_null=False, quoted_strings_can_be_null=False)
    try:
        table = pacsv.read_csv(spec.path, read_options=read, parse_options=parse, convert_options=convert)
    except (pa.ArrowInvalid, UnicodeDecodeError, EOFError, gzip.BadGzipFile) as exc:
        raise SourceFileError(_decode_hint(spec, exc)) from exc
    if unnumbered:
        return None
    lines = _line_numbers(table.num_rows, skipped)
    table = table.append_column("line", pa.array(lines, pa.int64()))
    return _Parsed(_drop_blank_rows(table, positions), bad, bool(swallowing))


def _swallowed_rows(parsed: _Parsed, delimiter: str, width: int) -> bool:
    """True when a value or a rejected row holds, after a line break, a line with a whole row's separators."""
    if parsed.swallowing:
        return True
    for column in parsed.table.columns[:-1]:
        broken = pc.filter(column, pc.match_substring(column, "\n"))
        if any(_holds_a_row(value, delimiter, width) for value in broken.to_pylist()):
            return True
    return False


def _holds_a_row(text: str, delimiter: str, width: int) -> bool:
    return width > 1 and any(line.count(delimiter) >= width - 1 for line in text.splitlines()[1:])


def _drop_blank_rows(table: pa.Table, positions: list[str]) -> pa.Table:
    """A line of only separators or whitespace is not a row (ignore_empty_lines is off to keep line numbers)."""
    blank = None
    for name in positions:
        empty = pc.equal(pc.utf8_trim_whitespace(table[name]), "")
        blank = empty if blank is None else pc.and_(blank, empty)
    return table.filter(pc.invert(blank)) if blank is not None else table


def _open_text(spec: FileSpec) -> IO[str]:
    if file_format(spec.path) == "csv.gz":
        return gzip.open(spec.path, "rt", encoding=spec.encoding, newline="")
    return open(spec.path, encoding=spec.encoding, newline="")


def _header(spec: FileSpec) -> tuple[list[str], str]:
    """The header's column names (stripped; empty names kept empty) and the delimiter."""
    try:
        with _open_text(spec) as handle:
            first = handle.readline()
    except (UnicodeDecodeError, EOFError, gzip.BadGzipFile) as exc:
        raise SourceFileError(_decode_hint(spec, exc)) from exc
    first = first.lstrip("\ufeff")  # a byte-order mark would keep a quoted first name from reading as quoted
    delimiter = _delimiter(first)
    names = _clean_names(next(csv.reader([first], delimiter=delimiter), []))
    if not names or not any(names):
        raise SourceFileError(f"{_who(spec)}: {spec.path.name} is empty or has no header row")
    return names, delimiter


def _delimiter(header_line: str) -> str:
    """Comma unless the header only splits on tab, ; or |."""
    if "," in header_line:
        return ","
    return next((d for d in ("\t", ";", "|") if d in header_line), ",")


def _line_numbers(rows: int, skipped_lines: list[int]) -> np.ndarray:
    """Line of each parsed row: data starts at line 2; lines the parser skipped are left out."""
    every = np.arange(2, rows + len(skipped_lines) + 2, dtype=np.int64)
    return np.setdiff1d(every, np.asarray(skipped_lines, dtype=np.int64), assume_unique=True)


def _first_field(text: str, delimiter: str) -> str:
    try:
        return next(csv.reader([text], delimiter=delimiter), [""])[0].strip()[:64]
    except csv.Error:
        return text.split(delimiter, 1)[0].strip()[:64]


def _field_count_reason(row: pacsv.InvalidRow) -> str:
    return (f"row has {row.actual_columns} fields, the header has {row.expected_columns} "
            f"(a stray separator or quote, or a truncated line)")


def _decode_hint(spec: FileSpec, exc: Exception) -> str:
    if isinstance(exc, (EOFError, gzip.BadGzipFile)):
        return (f"{_who(spec)}: {spec.path.name} is not a whole gzip file ({exc}); deliver the whole file again "
                f"or name it without .gz if it is not compressed")
    if _ends_inside_a_character(spec):
        return (f"{_who(spec)}: {spec.path.name} ends in the middle of a {spec.encoding} character: the file is "
                f"truncated (cut short in transfer?); deliver the whole file again")
    other = "gb18030" if spec.encoding.replace("_", "-") in ("utf-8", "utf8") else "utf-8"
    return (f"{_who(spec)}: {spec.path.name} cannot be read as {spec.encoding} ({str(exc)[:200]}); "
            f"if the file is {other}, set encoding = \"{other}\" for it in round.toml")


def _ends_inside_a_character(spec: FileSpec) -> bool:
    """True when the file decodes cleanly except that its last bytes are an unfinished character (a cut file,
    not a wrong encoding). Streams the file once; only called when reading has already failed."""
    try:
        decoder = codecs.getincrementaldecoder(spec.encoding)()
        for chunk in _chunks(spec.path):
            decoder.decode(chunk)
    except (UnicodeDecodeError, LookupError, OSError, EOFError):
        return False
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return True
    return False


def _chunks(path: Path) -> Iterator[bytes]:
    opener = gzip.open if file_format(path) == "csv.gz" else open
    with opener(path, "rb") as handle:
        while chunk := handle.read(BLOCK_SIZE):
            yield chunk


def _who(spec: FileSpec) -> str:
    return "registry" if spec.kind == "registry" else f"source '{spec.name}'"
