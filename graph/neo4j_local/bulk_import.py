"""Initial loads with ``neo4j-admin database import full``, against a stopped local server.

The import tool writes store files directly (millions of nodes a minute) instead of going
through transactions. It replaces the whole ``neo4j`` database: Community has only that one
user database. CSV headers follow the import tool's format (``person_id:ID(Pensioner)``,
``:START_ID(Pensioner)``, ``:END_ID(IdNumber)``, ...).
"""

from __future__ import annotations

import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from silentcert.graph.errors import Conflict, StageFailed
from silentcert.graph.neo4j_local import jvm
from silentcert.graph.neo4j_local.server import running_pid
from silentcert.graph.neo4j_local.settings import LocalNeo4jSettings
from silentcert.graph.neo4j_local.tools import java_executable

DATABASE = "neo4j"
IMPORT_LOG = "import.log"  # the tool's output, in the server's logs directory


@dataclass(frozen=True)
class ImportResult:
    report_file: Path  # rows the tool skipped (bad relationships, duplicates), one per line
    output: str  # the tool's summary (counts, time)
    log_file: Path  # the same output, kept in the server's logs directory


def bulk_import(
    settings: LocalNeo4jSettings,
    nodes: Mapping[str, Sequence[Path]],
    relationships: Mapping[str, Sequence[Path]],
    *,
    heap: str = "1g",
    threads: int = 2,
    id_type: str = "string",
    array_delimiter: str = ";",
) -> ImportResult:
    """Replace the ``neo4j`` database with the given CSV files; the server must be stopped. `id_type` is the
    tool's ``--id-type``: ``integer`` when every ``:ID`` column holds whole numbers (faster to map than strings);
    `array_delimiter` the one character between the elements of a list value (``name:string[]`` columns)."""
    pid = running_pid(settings)
    if pid is not None:
        raise Conflict(f"Neo4j (pid {pid}) is running; stop it before a bulk import into {settings.home}")
    report = settings.logs_dir / "import.report"
    if len(array_delimiter) != 1:
        raise ValueError(f"array_delimiter must be one character, not {array_delimiter!r}")
    args = import_arguments(nodes, relationships, report, threads) + [
        f"--id-type={id_type}", f"--array-delimiter=U+{ord(array_delimiter):04X}"]
    command = jvm.admin_command(java_executable(), settings, args, heap=heap)
    result = subprocess.run(command, env=jvm.admin_environment(settings), capture_output=True, text=True, check=False)
    output = (result.stdout + result.stderr).strip()
    log_file = settings.logs_dir / IMPORT_LOG
    log_file.write_text(output + "\n", encoding="utf-8")
    if result.returncode != 0:
        raise StageFailed(f"neo4j-admin database import failed (exit {result.returncode}; its output is in "
                          f"{log_file}):\n{_tail(output)}")
    return ImportResult(report_file=report, output=output, log_file=log_file)


def import_arguments(
    nodes: Mapping[str, Sequence[Path]],
    relationships: Mapping[str, Sequence[Path]],
    report: Path,
    threads: int,
) -> list[str]:
    """The neo4j-admin arguments: one ``--nodes=Label=a.csv,b.csv`` per label, likewise per type."""
    args = ["database", "import", "full", "--overwrite-destination=true", f"--threads={threads}"]
    args += [f"--nodes={label}={_files(paths)}" for label, paths in nodes.items()]
    args += [f"--relationships={kind}={_files(paths)}" for kind, paths in relationships.items()]
    args += [f"--report-file={report}", DATABASE]
    return args


def _files(paths: Sequence[Path]) -> str:
    if not paths:
        raise StageFailed("bulk import given a label or relationship type with no files")
    return ",".join(str(Path(path).resolve()) for path in paths)


def _tail(text: str, lines: int = 25) -> str:
    return "\n".join(text.splitlines()[-lines:])
