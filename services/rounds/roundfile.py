"""Parse and validate a round's `round.toml` (CONTRACT section 2) into a :class:`RoundSpec`.

Every problem is a :class:`RoundFileError` whose message names the file, the table and the key, so an operator can
fix the file without reading code.

The file is read once: the spec keeps its bytes (the pipeline's fingerprint digests them), so nothing later reads a
round.toml that may have changed since. Every input path is normalised (the name stripped, ``..`` and symlinks
resolved) before anything looks at the file, and the spec holds the resolved path: what a caller confines (``roots``,
the server's rounds roots) is exactly what the readers open.
"""

from __future__ import annotations

import codecs
import datetime as dt
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from silentcert.graph.errors import Forbidden, RoundFileError

KINDS = ("strong", "weak", "death", "face", "in_person")

REGISTRY_COLUMNS = (
    "person_id", "id_number", "name", "sex", "birth_date", "phone", "card_no", "county_code", "unit_id",
    "monthly_pension", "certified_until",
)
SOURCE_COLUMNS = (
    "record_id", "occurred_at", "id_number", "name", "sex", "birth_date", "phone", "card_no", "county_code",
)
CHANNEL_COLUMNS = SOURCE_COLUMNS + ("person_id", "passed")

# Optional tables of settings a round file may carry; their contents are validated by the settings loader.
SETTINGS_TABLES = ("linkage", "liveness", "deathcheck", "resources")

# The file formats a round reads, by how the file's name ends (checked longest first).
FORMATS = {".csv.gz": "csv.gz", ".tsv.gz": "csv.gz", ".txt.gz": "csv.gz", ".parquet": "parquet",
           ".xlsx": "xlsx", ".csv": "csv", ".tsv": "csv", ".txt": "csv"}


def file_format(path: Path) -> str | None:
    """`csv`, `csv.gz`, `parquet` or `xlsx` by the file's name; None for a name no reader knows."""
    name = path.name.lower()
    return next((kind for ending, kind in FORMATS.items() if name.endswith(ending)), None)


@dataclass(frozen=True)
class FileSpec:
    """One input file: where it is, how it is encoded, and how its columns map to canonical names."""

    name: str
    kind: str  # registry | strong | weak | death | face | in_person
    path: Path
    encoding: str = "utf-8"
    columns: dict[str, str] = field(default_factory=dict)  # canonical name -> column name in the file
    sheet: str | None = None  # the .xlsx sheet to read; None reads the first

    @property
    def canonical_columns(self) -> tuple[str, ...]:
        return allowed_columns(self.kind)

    @property
    def required_columns(self) -> tuple[str, ...]:
        return ("person_id",) if self.kind == "registry" else ("record_id", "occurred_at")


@dataclass(frozen=True)
class RoundSpec:
    """A validated round: its id, reference date, registry and sources."""

    round_id: str
    as_of: dt.date
    path: Path
    registry: FileSpec
    sources: tuple[FileSpec, ...]
    settings: dict[str, dict[str, Any]] = field(default_factory=dict)
    text: bytes = b""  # round.toml as it was read
    # Further registries, read-only ([[other_registries]]: another scheme's recipients, a neighbouring province's
    # list): their people are looked for among ours (services/resolver/dedupe.py), never certified or flagged.
    other_registries: tuple[FileSpec, ...] = ()

    def source(self, name: str) -> FileSpec:
        for spec in self.sources:
            if spec.name == name:
                return spec
        raise KeyError(name)


def allowed_columns(kind: str) -> tuple[str, ...]:
    if kind == "registry":
        return REGISTRY_COLUMNS
    return CHANNEL_COLUMNS if kind in ("face", "in_person") else SOURCE_COLUMNS


def load_round(path: str | Path, roots: tuple[Path, ...] | None = None) -> RoundSpec:
    """Read round.toml (or a directory holding one) and validate everything it names.

    With `roots` (resolved directories), every input file must resolve inside one of them, or :class:`Forbidden`
    (field ``round_file``) is raised before the file is looked at; None: the local operator's round, anywhere."""
    path = Path(path)
    try:  # a name too long or holding a NUL byte is a path that cannot exist, not a crash
        if path.is_dir():
            path = path / "round.toml"
        found = path.is_file()
    except (OSError, ValueError) as exc:
        raise RoundFileError(f"round file not usable: {str(path)[:200]!r} ({exc.__class__.__name__})") from None
    if not found:
        raise RoundFileError(f"round file not found: {path}")
    text = path.read_bytes()
    try:
        doc = tomllib.loads(text.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise RoundFileError(f"{path}: not valid TOML: {exc}") from exc
    return _parse(doc, path, roots, text)


def _parse(doc: dict[str, Any], path: Path, roots: tuple[Path, ...] | None, text: bytes) -> RoundSpec:
    known = {"round", "registry", "sources", "other_registries", *SETTINGS_TABLES}
    unknown = sorted(set(doc) - known)
    if unknown:
        raise RoundFileError(f"{path}: unknown table(s) {unknown}; expected {sorted(known)}")
    round_table = _table(doc, "round", path)
    round_id = _required_str(round_table, "id", "[round]", path)
    as_of = _date(round_table.get("as_of"), "[round] as_of", path)
    base = path.parent
    registry = _file_spec(_table(doc, "registry", path), "registry", "registry", base, path, roots)
    sources = tuple(_source(entry, i, base, path, roots) for i, entry in enumerate(_sources(doc, path)))
    _check_unique_names(sources, path)
    settings = {name: dict(doc[name]) for name in SETTINGS_TABLES if name in doc}
    others = _other_registries(doc, base, path, roots)
    return RoundSpec(round_id, as_of, path, registry, sources, settings, text, others)


def _other_registries(doc: dict[str, Any], base: Path, path: Path,
                      roots: tuple[Path, ...] | None) -> tuple[FileSpec, ...]:
    """``[[other_registries]]``: name, file, encoding, columns — the registry's columns."""
    entries = doc.get("other_registries", [])
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise RoundFileError(f"{path}: other_registries must be an array of tables ([[other_registries]])")
    specs: list[FileSpec] = []
    for i, entry in enumerate(entries):
        name = _required_str(entry, "name", f"[[other_registries]] #{i + 1}", path)
        if name in {"registry", *(s.name for s in specs)}:
            raise RoundFileError(f"{path}: other registry name '{name}' is used twice (or clashes with 'registry')")
        specs.append(_file_spec(entry, name, "registry", base, path, roots))
    return tuple(specs)


def _table(doc: dict[str, Any], name: str, path: Path) -> dict[str, Any]:
    value = doc.get(name)
    if not isinstance(value, dict):
        raise RoundFileError(f"{path}: missing [{name}] table")
    return value


def _sources(doc: dict[str, Any], path: Path) -> list[dict[str, Any]]:
    entries = doc.get("sources", [])
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise RoundFileError(f"{path}: sources must be an array of tables ([[sources]])")
    return entries


def _source(entry: dict[str, Any], index: int, base: Path, path: Path, roots: tuple[Path, ...] | None) -> FileSpec:
    where = f"[[sources]] #{index + 1}"
    name = _required_str(entry, "name", where, path)
    kind = _required_str(entry, "kind", f"source '{name}'", path)
    if kind not in KINDS:
        raise RoundFileError(f"{path}: source '{name}' has unknown kind '{kind}'; expected one of {', '.join(KINDS)}")
    return _file_spec(entry, name, kind, base, path, roots)


def _file_spec(entry: dict[str, Any], name: str, kind: str, base: Path, path: Path,
               roots: tuple[Path, ...] | None = None) -> FileSpec:
    where = ("[registry]" if name == "registry" else f"other registry '{name}'") if kind == "registry" \
        else f"source '{name}'"
    unknown_keys = sorted(set(entry) - {"name", "kind", "file", "encoding", "columns", "sheet"})
    if unknown_keys:
        raise RoundFileError(f"{path}: {where} has unknown key(s) {unknown_keys}")
    file = _input_file(base, _required_str(entry, "file", where, path), where, path, roots)
    if not file.is_file():
        raise RoundFileError(f"{path}: {where} file not found: {file}")
    if file_format(file) is None:
        raise RoundFileError(f"{path}: {where} file {file.name} is not a format the round reads; name it "
                             f"{', '.join(sorted(FORMATS))}")
    encoding = _encoding(entry.get("encoding", "utf-8"), where, path)
    columns = _columns(entry.get("columns", {}), kind, where, path)
    return FileSpec(name, kind, file, encoding, columns, _sheet(entry.get("sheet"), file, where, path))


def _sheet(value: Any, file: Path, where: str, path: Path) -> str | None:
    if value is None:
        return None
    if file_format(file) != "xlsx":
        raise RoundFileError(f"{path}: {where} names a sheet, but {file.name} is not an .xlsx workbook")
    if not isinstance(value, str) or not value.strip():
        raise RoundFileError(f"{path}: {where} sheet must be a sheet's name (a non-empty string)")
    return value


def _input_file(base: Path, name: str, where: str, path: Path, roots: tuple[Path, ...] | None) -> Path:
    """`name` (stripped) resolved against `base`, with ``..`` and every symlink followed; inside `roots` if given."""
    try:
        real = Path(os.path.realpath(base / name))
    except (OSError, ValueError):  # a NUL byte or a symlink loop: a path no file can have
        raise RoundFileError(f"{path}: {where} file {name[:200]!r} is not a usable path") from None
    if roots is not None and not any(real == root or real.is_relative_to(root) for root in roots):
        raise Forbidden(f"round_file: {where} file {name[:200]!r} is outside the rounds root(s) of this server",
                        field="round_file")
    return real


def _encoding(value: Any, where: str, path: Path) -> str:
    if not isinstance(value, str):
        raise RoundFileError(f"{path}: {where} encoding must be a string")
    try:
        return codecs.lookup(value).name
    except LookupError:
        raise RoundFileError(f"{path}: {where} has unknown encoding '{value}' (use utf-8 or gb18030)") from None


def _columns(value: Any, kind: str, where: str, path: Path) -> dict[str, str]:
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise RoundFileError(f"{path}: {where} columns must map canonical names to column names (strings)")
    allowed = allowed_columns(kind)
    for canonical in value:
        if canonical not in allowed:
            raise RoundFileError(
                f"{path}: {where} maps unknown column '{canonical}'; a {kind} file may map {', '.join(allowed)}"
            )
    return dict(value)


def _check_unique_names(sources: tuple[FileSpec, ...], path: Path) -> None:
    seen: set[str] = set()
    for spec in sources:
        if spec.name in seen or spec.name == "registry":
            raise RoundFileError(f"{path}: source name '{spec.name}' is used twice (or clashes with 'registry')")
        seen.add(spec.name)


def _required_str(table: dict[str, Any], key: str, where: str, path: Path) -> str:
    value = table.get(key)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value.strip():
        raise RoundFileError(f"{path}: {where} needs '{key}' (a non-empty string)")
    return value.strip()


def _date(value: Any, where: str, path: Path) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise RoundFileError(f"{path}: {where} must be a date like 2021-10-31, got {value!r}")
