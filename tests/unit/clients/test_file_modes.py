"""Files holding ID numbers and phones are created readable by their owner only, unless SILENTCERT_UMASK says
otherwise (issue 15)."""

from __future__ import annotations

import datetime as dt
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from silentcert.clients.file_modes import PRIVATE, UMASK_VARIABLE, creating_files_with, umask_from_env
from silentcert.graph.errors import InvalidInput
from silentcert.services.security.access_log import AccessLog
from silentcert.synthetic import generate

REPO = Path(__file__).resolve().parents[3]
PERSONAL = ("verdicts.csv", "links.csv", "rejects.csv", "flags.csv", "notices.csv", "graph.duckdb",
            "state/round.duckdb")


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _round_run(tmp_path: Path, env: dict[str, str]) -> Path:
    round_dir, out = tmp_path / "round", tmp_path / "out"
    if not round_dir.exists():
        generate(pensioners=300, seed=5, as_of=dt.date(2021, 10, 31), out=round_dir)
    run = subprocess.run([sys.executable, "-m", "silentcert.clients.cli", "round", "run", str(round_dir), "--out", str(out)],
                         cwd=REPO, env={**os.environ, **env}, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    return out


def test_round_outputs_with_personal_data_are_private(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != UMASK_VARIABLE}
    out = _round_run(tmp_path, env)
    modes = {name: oct(_mode(out / name)) for name in PERSONAL}
    assert modes == {name: oct(0o600) for name in PERSONAL}
    assert _mode(out) == 0o700


def test_the_umask_is_a_setting(tmp_path: Path) -> None:
    out = _round_run(tmp_path, {UMASK_VARIABLE: "022"})
    assert _mode(out / "verdicts.csv") == 0o644 and _mode(out / "graph.duckdb") == 0o644


def test_the_access_log_is_private(tmp_path: Path) -> None:
    with creating_files_with(umask_from_env({})):
        log = AccessLog(tmp_path / "logs" / "access-log.jsonl")
        log.record(caller="clerk", role="reader", rpc="GetPerson", person_ids=["JX1"], peer="ipv4:127.0.0.1:1")
        log.close()
    assert _mode(tmp_path / "logs" / "access-log.jsonl") == 0o600


def test_a_bad_umask_names_the_setting() -> None:
    assert umask_from_env({}) == PRIVATE and umask_from_env({UMASK_VARIABLE: "027"}) == 0o027
    for bad in ("rw-------", "999", "1777"):
        with pytest.raises(InvalidInput, match=f"{UMASK_VARIABLE} must be an octal umask"):
            umask_from_env({UMASK_VARIABLE: bad})
