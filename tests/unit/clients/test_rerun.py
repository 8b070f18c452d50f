"""A rerun of a finished round says it did nothing and prints the first run's summary in the same order (issue 15)."""

from __future__ import annotations

import datetime as dt
import re
import subprocess
import sys
from pathlib import Path

from silentcert.synthetic import generate

REPO = Path(__file__).resolve().parents[3]


def _round_run(round_dir: Path, out: Path) -> str:
    run = subprocess.run([sys.executable, "-m", "silentcert.clients.cli", "round", "run", str(round_dir), "--out", str(out)],
                         cwd=REPO, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    return run.stdout


def _stage_rows(stdout: str) -> list[tuple[str, str]]:
    """(stage, figures) of the summary table, seconds left out."""
    return [(m[1], m[2]) for m in re.finditer(r"^(\w+) +[\d.]+  (.*)$", stdout, re.MULTILINE)]


def test_rerun_of_a_finished_round_says_so_and_keeps_the_order(tmp_path: Path) -> None:
    generate(pensioners=300, seed=5, as_of=dt.date(2021, 10, 31), out=tmp_path / "round")
    out = tmp_path / "out"
    first, second = _round_run(tmp_path / "round", out), _round_run(tmp_path / "round", out)
    where = out.resolve()
    assert "finished in" in first and "already finished" not in first
    assert (f"round 2021-10 already finished at {where}; nothing to do (delete {where} or use a new --out to run it "
            "again)") in second
    assert "finished in" not in second
    rows = _stage_rows(first)
    assert [stage for stage, _ in rows] == ["ingest", "resolve", "score", "deathcheck", "forecast", "publish"]
    assert _stage_rows(second) == rows


def test_the_demo_run_again_reuses_its_county_and_says_it_has_nothing_to_do(tmp_path: Path) -> None:
    def demo(*extra: str) -> subprocess.CompletedProcess:
        run = subprocess.run([sys.executable, "-m", "silentcert.clients.cli", "demo", "--dir", str(tmp_path), *extra],
                             cwd=REPO, capture_output=True, text=True, timeout=600)
        assert run.returncode == 0, run.stderr[-3000:]
        return run

    demo("--pensioners", "300")
    again = demo("--pensioners", "300")
    assert "already generated" in again.stdout and "already finished" in again.stdout
    other = demo("--pensioners", "400")  # another county: generated and run afresh, without a warning
    assert "generated a county of 400" in other.stdout and "finished in" in other.stdout
    assert "WARNING" not in again.stderr + other.stderr
