"""The console shows progress and this project's records; libraries' records go to the round's log file (issue 15)."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from silentcert.clients import logs

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture
def root_logging():
    """Give the test a bare root logger and put the real one back afterwards."""
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    root.handlers = []
    yield root
    for handler in root.handlers:
        handler.close()
    root.handlers, root.level = saved[0], saved[1]
    logging.captureWarnings(False)


def test_libraries_go_to_the_file_and_own_records_to_the_console(root_logging, tmp_path, capsys) -> None:
    logs.configure(verbose=False)
    path = logs.log_to_file(tmp_path / "out")
    logging.getLogger("splink.internals.estimate_u").warning("You are using the default value for `max_pairs`")
    logging.getLogger("silentcert.services.rounds.pipeline").warning("inputs of round X changed")
    logging.getLogger("silentcert.round").info("ingest done")
    logging.getLogger("neo4j").error("connection lost")
    console = capsys.readouterr().err
    assert "max_pairs" not in console
    assert "WARNING silentcert.services.rounds.pipeline: inputs of round X changed" in console
    assert "ingest done" in console and "INFO" not in console
    assert "connection lost" in console  # a library's error is never only in the file
    for handler in root_logging.handlers:
        handler.flush()
    written = path.read_text(encoding="utf-8")
    assert "max_pairs" in written and "inputs of round X changed" in written and "ingest done" in written


def test_without_a_log_file_library_warnings_stay_on_the_console(root_logging, capsys) -> None:
    logs.configure(verbose=False)
    logging.getLogger("grpc").warning("server shutting down")
    logging.getLogger("splink").info("training step")
    console = capsys.readouterr().err
    assert "WARNING grpc: server shutting down" in console and "training step" not in console


def test_verbose_puts_libraries_on_the_console_too(root_logging, tmp_path, capsys) -> None:
    logs.configure(verbose=True)
    # INFO, not DEBUG: Splink sets its own logger to INFO once a linker has run in this process (splink_logging)
    logging.getLogger("splink").info("training step")
    logging.getLogger("some.library").debug("a detail")
    err = capsys.readouterr().err
    assert "INFO splink: training step" in err and "DEBUG some.library: a detail" in err


def test_the_file_is_attached_once(root_logging, tmp_path) -> None:
    logs.log_to_file(tmp_path)
    logs.log_to_file(tmp_path)
    assert sum(isinstance(h, logging.FileHandler) for h in root_logging.handlers) == 1


def test_demo_console_is_progress_and_a_summary(tmp_path: Path) -> None:
    """The README's first command, as a newcomer runs it: no warning, a short console, the rest in the log file."""
    env = {**os.environ, "HOME": str(tmp_path / "home")}
    run = subprocess.run([sys.executable, "-m", "silentcert.clients.cli", "demo", "--dir", str(tmp_path / "demo"),
                          "--pensioners", "2000"], cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "WARNING" not in run.stderr, run.stderr
    assert len(run.stderr.splitlines()) < 40, run.stderr
    assert "report:" in run.stdout and "log:" in run.stdout
    assert "splink" in (tmp_path / "demo" / "out" / logs.LOG_FILE).read_text(encoding="utf-8")


def test_configuring_again_replaces_the_console_handler(root_logging) -> None:
    logs.configure(verbose=False)
    logs.configure(verbose=False)
    assert sum(type(h) is logging.StreamHandler for h in root_logging.handlers) == 1
