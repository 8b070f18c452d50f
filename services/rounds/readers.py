"""Read one input file into an arrow table of strings with canonical column names and line numbers.

CSV (UTF-8, GB18030 or any codec Python knows) or Parquet. Rows the CSV parser cannot split (wrong number of
fields, a truncated last line) are returned as rejects with their line, never dropped. A file that cannot be read
as a whole raises :class:`SourceFileError` naming the file and what to change.
"""

from __future__ import annotations

import codecs
import csv
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from services.errors import SourceFileError
from services.rounds.roundfile import FileSpec

BLOCK_SIZE = 16 << 20


@dataclass(frozen=True)
class BadRow:
    """A physical CSV row the parser could not split into the header's fields."""

    line: int
    record_id: str
    reason: str


@dataclass(frozen=True)
class ReadResult:
    """The canonical-named string columns (plus `line`), the rows that could not be parsed, extra columns kept."""

    table: pa.Table
    bad_rows: list[BadRow]
    extra_columns: tuple[str, ...]


def read_file(spec: FileSpec) -> ReadResult:
    """Read `spec` into strings: canonical columns present in the file, `line` (header is line 1)."""
    if spec.path.suffix.lower() == ".parquet":
        table, bad_rows = _read_parquet(spec), []
    else:
        table, bad_rows = _read_csv(spec)
    table = _canonical(table, spec)
    return ReadResult(table, bad_rows, tuple(c for c in table.column_names if c not in spec.canonical_columns
                                             and c != "line"))


def _read_parquet(spec: FileSpec) -> pa.Table:
    try:
        table = pq.read_table(spec.path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise SourceFileError(f"{_who(spec)}: {spec.path.name} is not a readable Parquet file ({exc})") from exc
    columns = [pc.cast(col, pa.string()) if not pa.types.is_string(col.type) else col for col in table.columns]
    table = pa.table(columns, names=table.column_names)
    return table.append_column("line", pa.array(range(2, table.num_rows + 2), pa.int64()))


def _read_csv(spec: FileSpec) -> tuple[pa.Table, list[BadRow]]:
    # The threaded parser is fast but cannot number invalid rows; files with invalid rows are parsed again
    # on one thread so every rejected row carries its line.
    parsed = _parse_csv(spec, use_threads=True)
    return parsed if parsed is not None else _parse_csv(spec, use_threads=False)


def _parse_csv(spec: FileSpec, use_threads: bool) -> tuple[pa.Table, list[BadRow]] | None:
    bad: list[BadRow] = []
    skipped: list[int] = []
    unnumbered: list[bool] = []

    def on_invalid(row: pacsv.InvalidRow) -> str:
        if row.number is None:
            unnumbered.append(True)
            return "skip"
        skipped.append(row.number)
        if row.text.strip():  # a blank line is not a row; anything else is rejected with its reason
            bad.append(BadRow(row.number, _first_field(row.text), _field_count_reason(row)))
        return "skip"

    header, delimiter = _header(spec)
    read = pacsv.ReadOptions(use_threads=use_threads, block_size=BLOCK_SIZE, encoding=spec.encoding,
                             column_names=header, skip_rows=1)
    parse = pacsv.ParseOptions(delimiter=delimiter, invalid_row_handler=on_invalid, ignore_empty_lines=False)
    convert = pacsv.ConvertOptions(column_types={name: pa.string() for name in header},
                                   strings_can_be_null=False, quoted_strings_can_be_null=False)
    try:
        table = pacsv.read_csv(spec.path, read_options=read, parse_options=parse, convert_options=convert)
    except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
        raise SourceFileError(_decode_hint(spec, exc)) from exc
    if unnumbered:
        return None
    lines = _line_numbers(table.num_rows, skipped)
    table = table.append_column("line", pa.array(lines, pa.int64()))
    return _drop_blank_rows(table, header), bad


def _drop_blank_rows(table: pa.Table, header: list[str]) -> pa.Table:
    """A line of only separators or whitespace is not a row (ignore_empty_lines is off to keep line numbers)."""
    blank = None
    for name in header:
        empty = pc.equal(pc.utf8_trim_whitespace(table[name]), "")
        blank = empty if blank is None else pc.and_(blank, empty)
    return table.filter(pc.invert(blank)) if blank is not None else table


def _header(spec: FileSpec) -> tuple[list[str], str]:
    """The header's column names and the delimiter (comma unless the header only splits on tab, ; or |)."""
    try:
        with open(spec.path, encoding=spec.encoding, newline="") as handle:
            first = handle.readline()
    except UnicodeDecodeError as exc:
        raise SourceFileError(_decode_hint(spec, exc)) from exc
    delimiter = _delimiter(first)
    names = next(csv.reader([first], delimiter=delimiter), [])
    names = [name.strip().lstrip("\ufeff").strip() for name in names]
    if not names or not any(names):
        raise SourceFileError(f"{_who(spec)}: {spec.path.name} is empty or has no header row")
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise SourceFileError(f"{_who(spec)}: {spec.path.name} header repeats column(s) {duplicates}")
    return [name or f"column_{i + 1}" for i, name in enumerate(names)], delimiter


def _delimiter(header_line: str) -> str:
    if "," in header_line:
        return ","
    return next((d for d in ("\t", ";", "|") if d in header_line), ",")


def _line_numbers(rows: int, skipped_lines: list[int]) -> np.ndarray:
    """Physical line of each parsed row: data starts at line 2; lines the parser skipped are left out."""
    every = np.arange(2, rows + len(skipped_lines) + 2, dtype=np.int64)
    return np.setdiff1d(every, np.asarray(skipped_lines, dtype=np.int64), assume_unique=True)


def _canonical(table: pa.Table, spec: FileSpec) -> pa.Table:
    """Rename mapped and case-variant columns to canonical names; check the required ones are there."""
    renames = _renames(table.column_names, spec)
    table = table.rename_columns([renames.get(name, name) for name in table.column_names])
    missing = [c for c in spec.required_columns if c not in table.column_names]
    if spec.kind in ("face", "in_person") and not {"person_id", "id_number"} & set(table.column_names):
        missing.append("person_id or id_number")
    if missing:
        raise SourceFileError(
            f"{_who(spec)}: {spec.path.name} lacks required column(s) {', '.join(missing)}; "
            f"header has {', '.join(c for c in table.column_names if c != 'line')} "
            f"(map other names with [sources.columns] in round.toml)"
        )
    return table


def _renames(names: list[str], spec: FileSpec) -> dict[str, str]:
    renames: dict[str, str] = {}
    for canonical, column in spec.columns.items():
        if column not in names:
            raise SourceFileError(
                f"{_who(spec)}: column '{column}' (mapped to {canonical}) is not in {spec.path.name}; "
                f"header has {', '.join(n for n in names if n != 'line')}"
            )
        renames[column] = canonical
    mapped = set(renames.values())
    for name in names:
        lowered = name.lower()
        if name not in renames and lowered in spec.canonical_columns and lowered not in mapped:
            renames[name] = lowered
            mapped.add(lowered)
    return renames


def _first_field(text: str) -> str:
    try:
        return next(csv.reader([text]), [""])[0].strip()[:64]
    except csv.Error:
        return text.split(",", 1)[0].strip()[:64]


def _field_count_reason(row: pacsv.InvalidRow) -> str:
    return (f"row has {row.actual_columns} fields, the header has {row.expected_columns} "
            f"(a stray comma or quote, or a truncated line)")


def _decode_hint(spec: FileSpec, exc: Exception) -> str:
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
        with open(spec.path, "rb") as handle:
            while chunk := handle.read(BLOCK_SIZE):
                decoder.decode(chunk)
    except (UnicodeDecodeError, LookupError, OSError):
        return False
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return True
    return False


def _who(spec: FileSpec) -> str:
    return "registry" if spec.kind == "registry" else f"source '{spec.name}'"
