"""A province round as checkpointed stages over one DuckDB working database.

    ingest → resolve → score → deathcheck → forecast → publish

Each stage replaces its own tables (``CREATE OR REPLACE``) and, when it has finished, records itself in the
``stages`` table. A run killed anywhere (even ``kill -9``) leaves no row for the unfinished stage, so the next run
resumes there and ends with the same outputs. A finished round is not run again; changed inputs (a different
fingerprint of round.toml and its files) start the round afresh. Settings that bound how a round runs, not what it
computes (``[resources]``, ``[linkage] predict_chunk_records``), are left out of the fingerprint: a round stopped by
its memory limit resumes with a larger one.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import resource
import sys
import time
import tomllib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from silentcert.graph import sql
from silentcert.graph.errors import SilentcertError, StageFailed
from silentcert.graph.store import GraphStore
from silentcert.services.rounds import stages as round_stages
from silentcert.services.rounds.context import DB_NAME, STATE_DIR, RoundContext, Stage
from silentcert.services.rounds.progress import Progress, silent_progress
from silentcert.services.rounds.roundfile import RoundSpec
from silentcert.services.settings import RoundSettings

log = logging.getLogger(__name__)

STRING_COMPRESSION = "dict_fsst"  # DuckDB's string compression (dictionary + FSST), slow to write


@dataclass
class RoundSummary:
    round_id: str
    out_dir: Path
    stages: dict[str, dict[str, Any]] = field(default_factory=dict)
    resumed_from: str | None = None
    seconds: float = 0.0
    already_finished: bool = False  # every stage had finished in an earlier run: this one did nothing


def default_stages() -> list[Stage]:
    return [
        Stage("ingest", round_stages.ingest),
        Stage("resolve", round_stages.resolve),
        Stage("score", round_stages.score),
        Stage("deathcheck", round_stages.deathcheck),
        Stage("forecast", round_stages.forecast),
        Stage("publish", round_stages.publish),
    ]


def run_round(
    spec: RoundSpec,
    out_dir: Path,
    settings: RoundSettings,
    stores: list[GraphStore],
    progress: Progress = silent_progress,
    stages: list[Stage] | None = None,
) -> RoundSummary:
    """Run (or resume) a round into `out_dir`; returns each stage's statistics."""
    stages = stages or default_stages()
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / STATE_DIR).mkdir(exist_ok=True)
    started = time.monotonic()
    con = _open(out_dir, spec)
    _bound(con, settings, out_dir)
    try:
        ctx = RoundContext(con, spec, settings, out_dir, stores, progress)
        summary = RoundSummary(spec.round_id, out_dir)
        done = _finished_stages(con)
        for stage in stages:
            if stage.name in done:
                summary.stages[stage.name] = done[stage.name]
                continue
            summary.resumed_from = summary.resumed_from or (stage.name if done else None)
            summary.stages[stage.name] = _run_stage(ctx, stage)
        summary.seconds = time.monotonic() - started
        summary.already_finished = all(stage.name in done for stage in stages)
        return summary
    finally:
        con.close()


_STAGE_DONE = "INSERT OR REPLACE INTO stages VALUES (?, ?, ?)"
_CHECKPOINT = "CHECKPOINT"


def _run_stage(ctx: RoundContext, stage: Stage) -> dict[str, Any]:
    ctx.progress.stage_started(stage.name)
    started = time.monotonic()
    try:
        stats = stage.run(ctx)
    except SilentcertError:
        raise
    except Exception as exc:  # an unexpected failure: the round can resume from this stage
        log.exception("stage %s failed", stage.name)
        hint = _OUT_OF_MEMORY_HINT if _out_of_memory(exc) else ""
        raise StageFailed(f"stage '{stage.name}' failed: {exc}; {hint}rerun the round to resume from it") from exc
    stats = {**stats, "seconds": round(time.monotonic() - started, 3), "peak_rss_mib": peak_rss_mib()}
    sql.run(ctx.con, "stage_done", _STAGE_DONE, [stage.name, datetime.now(UTC), json.dumps(stats, default=str)])
    sql.run(ctx.con, "checkpoint", _CHECKPOINT)
    ctx.progress.stage_finished(stage.name, stats)
    return stats


def peak_rss_mib() -> int:
    """The process's peak resident memory so far, in MiB, as the kernel counts it (what `/usr/bin/time -v` shows
    as "Maximum resident set size" at the end). Recorded with each stage, so the stage that set a round's peak is
    the first whose figure reaches it; a resumed round starts counting again."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux, bytes on macOS
    return peak // (2 ** 20 if sys.platform == "darwin" else 2 ** 10)


_SPILL = "SET temp_directory = $spill"
_NO_INSERTION_ORDER = "SET preserve_insertion_order = false"
_ALLOWED_DIRECTORIES = "SET allowed_directories = $allowed"
_NO_EXTERNAL_ACCESS = "SET enable_external_access = false"
_DISABLED_COMPRESSION = "SET disabled_compression_methods = $methods"
_THREADS = "SET threads = $threads"


def _bound(con: duckdb.DuckDBPyConnection, settings: RoundSettings, out_dir: Path) -> None:
    """Memory and threads of the working database; order is always explicit, so insertion order need not be kept.

    Then the connection is confined to `out_dir`: the inputs are read by Python (readers.py), so DuckDB needs no
    file outside it, and once external access is off it cannot be turned back on nor the directories widened."""
    resources = settings.resources
    sql.set_memory_limit(con, "memory_limit", resources.memory_limit)
    sql.run(con, "spill", _SPILL, {"spill": str(out_dir / STATE_DIR / "spill")})
    sql.run(con, "no_insertion_order", _NO_INSERTION_ORDER)
    if not resources.compress_strings:
        sql.run(con, "disabled_compression", _DISABLED_COMPRESSION, {"methods": STRING_COMPRESSION})
    if resources.threads:
        sql.run(con, "threads", _THREADS, {"threads": int(resources.threads)})
    allowed = sorted({str(out_dir.absolute()) + "/", os.path.realpath(out_dir) + "/"})
    sql.run(con, "allowed_directories", _ALLOWED_DIRECTORIES, {"allowed": allowed})
    sql.run(con, "no_external_access", _NO_EXTERNAL_ACCESS)


_STAGES_TABLE = ("CREATE TABLE IF NOT EXISTS stages (stage VARCHAR PRIMARY KEY, finished_at TIMESTAMPTZ, "
                "stats VARCHAR)")
_FINGERPRINT_TABLE = "CREATE TABLE IF NOT EXISTS fingerprint (value VARCHAR)"
_INSERT_FINGERPRINT = "INSERT INTO fingerprint VALUES (?)"
_FINGERPRINT = "SELECT value FROM fingerprint"


def _open(out_dir: Path, spec: RoundSpec) -> duckdb.DuckDBPyConnection:
    """Open the working database; start afresh when the inputs differ from the ones it was made from."""
    path = out_dir / STATE_DIR / DB_NAME
    fingerprint = round_fingerprint(spec)
    con = duckdb.connect(str(path))
    sql.run(con, "stages_table", _STAGES_TABLE)
    sql.run(con, "fingerprint_table", _FINGERPRINT_TABLE)
    stored = sql.run(con, "fingerprint", _FINGERPRINT).fetchall()
    if stored and stored[0][0] != fingerprint:
        log.warning("inputs of round %s changed since the last run: starting it afresh", spec.round_id)
        con.close()
        path.unlink()
        path.with_suffix(".duckdb.wal").unlink(missing_ok=True)
        return _open(out_dir, spec)
    if not stored:
        sql.run(con, "insert_fingerprint", _INSERT_FINGERPRINT, [fingerprint])
    return con


_OUT_OF_MEMORY_HINT = ("DuckDB ran out of memory: raise [resources] memory_limit in round.toml (the round's "
                       "budget, shared by the working database, Splink's and the embedded store's), or the share "
                       "of the stage that failed: linkage_memory_limit (resolve), store_memory_limit (publish); "
                       "a changed [resources] does not restart the round, ")


def _out_of_memory(exc: BaseException | None) -> bool:
    """DuckDB's out-of-memory error, or one it wraps (a commit that could not allocate a block), anywhere in the
    chain of exceptions: a statement after an aborted transaction reports only that it was aborted."""
    while exc is not None:
        if isinstance(exc, duckdb.OutOfMemoryException) or "could not allocate block" in str(exc):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


_FINISHED_STAGES = "SELECT stage, stats FROM stages"


def _finished_stages(con: duckdb.DuckDBPyConnection) -> dict[str, dict[str, Any]]:
    return {name: json.loads(stats) for name, stats in sql.run(con, "finished_stages", _FINISHED_STAGES).fetchall()}


# Settings besides [resources] that change how a round runs but not its outputs (chunked scoring gives the same
# pairs: tests/unit/services/resolver/test_resolve_stage.py).
_HOW_NOT_WHAT = {"linkage": ("predict_chunk_records",)}


def round_fingerprint(spec: RoundSpec) -> str:
    """A digest of round.toml (as load_round read it) without the settings of how it runs, and of the size and
    mtime of every file it names."""
    doc = tomllib.loads(spec.text.decode("utf-8"))
    doc.pop("resources", None)
    for table, keys in _HOW_NOT_WHAT.items():
        for key in keys:
            doc.get(table, {}).pop(key, None)
        if doc.get(table) == {}:  # a table that held only such settings is as good as absent
            del doc[table]
    return _digest(json.dumps(doc, sort_keys=True, ensure_ascii=False, default=str).encode(), spec)


def _digest(round_file: bytes, spec: RoundSpec) -> str:
    digest = hashlib.sha256(round_file)
    for file in [spec.registry.path, *(s.path for s in spec.sources), *(o.path for o in spec.other_registries)]:
        stat = file.stat()
        digest.update(f"{file.name}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    return digest.hexdigest()
