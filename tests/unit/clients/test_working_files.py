"""The README's commands leave `git status` clean: what they write in the working directory is ignored (issue 15)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]


def _git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


def _readme_outputs() -> list[str]:
    """The --out and --store paths of the README's examples (relative to where they are run); placeholders such as
    SERVER_DIR name a directory on a server, not here."""
    found = re.findall(r"--(?:out|store) ([\w./-]+)", (REPO / "README.md").read_text(encoding="utf-8"))
    return [p for p in found if not p.isupper()]


def _serve_briefly(work: Path, env: dict[str, str]) -> None:
    """`silentcert serve` with its default store and access log, in `work`, until it says it is serving."""
    server = subprocess.Popen([sys.executable, "-m", "silentcert.clients.cli", "serve", "--insecure-dev", "--address",
                               "127.0.0.1:0"], cwd=work, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                              text=True)
    try:
        assert server.stdout is not None
        assert "silentcert serving" in server.stdout.readline()
    finally:
        server.terminate()
        server.wait(timeout=60)


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_demo_and_readme_commands_leave_git_status_clean(tmp_path: Path) -> None:
    work = tmp_path / "clone"
    work.mkdir()
    shutil.copy(REPO / ".gitignore", work / ".gitignore")
    _git(work, "init", "-q")
    _git(work, "add", ".gitignore")
    _git(work, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "ignore")
    env = {**os.environ, "HOME": str(tmp_path / "home"), "PYTHONPATH": str(REPO)}
    subprocess.run([sys.executable, "-m", "silentcert.clients.cli", "demo", "--pensioners", "600"], cwd=work, env=env,
                   check=True, capture_output=True, timeout=600)
    assert (work / "silentcert-demo").is_dir()
    _serve_briefly(work, env)
    assert (work / "access-log.jsonl").exists() and (work / "graph.duckdb").exists()
    written = [f"{p}/written.csv" for p in _readme_outputs()]
    assert {w.split("/")[0] for w in written} >= {"rounds", "out", "state"}, written
    for name in written:
        (work / name).parent.mkdir(parents=True, exist_ok=True)
        (work / name).write_text("x")
    assert _git(work, "status", "--porcelain", "--untracked-files=all") == ""
