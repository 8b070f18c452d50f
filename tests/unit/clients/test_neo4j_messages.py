"""Neo4j errors say what to do (issue 15): no server, a missing password, refused credentials. Against a closed
port; no server is needed."""

from __future__ import annotations

import datetime as dt
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from neo4j.exceptions import AuthError, ServiceUnavailable

from silentcert.graph.connect import StoreSettings, connection_failure
from silentcert.synthetic import generate

REPO = Path(__file__).resolve().parents[3]
SECRET = "s3cret-Pa55word"


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_round_run_without_a_server_fails_in_seconds_before_any_work(tmp_path: Path) -> None:
    generate(pensioners=200, seed=3, as_of=dt.date(2021, 10, 31), out=tmp_path / "round")
    uri = f"bolt://127.0.0.1:{_closed_port()}"
    env = {**os.environ, "NEO4J_PASSWORD": SECRET}
    env.pop("SILENTCERT_NEO4J_RETRY_SECONDS", None)
    started = time.monotonic()
    run = subprocess.run([sys.executable, "-m", "silentcert.clients.cli", "round", "run", str(tmp_path / "round"), "--out",
                          str(tmp_path / "out"), "--neo4j", uri], cwd=REPO, env=env, capture_output=True, text=True,
                         timeout=120)
    seconds = time.monotonic() - started
    assert run.returncode == 2
    assert (f"silentcert: no Neo4j at {uri}: start the local one with `silentcert neo4j start` or check NEO4J_URI"
            in run.stderr), run.stderr
    assert seconds < 20, f"took {seconds:.0f} s"
    assert not (tmp_path / "out" / "graph.duckdb").exists()
    assert not (tmp_path / "out" / "state").exists(), "the round's work started"
    assert SECRET not in run.stderr


def test_a_missing_password_says_it_is_missing() -> None:
    settings = StoreSettings(neo4j_uri="bolt://db:7687", neo4j_password=None)
    message = connection_failure(settings, AuthError("The client is unauthorized due to authentication failure."))
    assert "NEO4J_PASSWORD is not set" in message and "bolt://db:7687" in message


def test_wrong_credentials_are_told_apart_from_a_missing_password() -> None:
    settings = StoreSettings(neo4j_uri="bolt://db:7687", neo4j_user="svc", neo4j_password=SECRET)
    message = connection_failure(settings, AuthError("The client is unauthorized due to authentication failure."))
    assert "refused user 'svc'" in message and "check NEO4J_USER and NEO4J_PASSWORD" in message
    assert "not set" not in message and SECRET not in message


def test_no_server_names_the_uri_and_the_way_to_start_one() -> None:
    settings = StoreSettings(neo4j_uri="bolt://db:7687", neo4j_password=SECRET)
    assert connection_failure(settings, ServiceUnavailable("Couldn't connect")) == (
        "no Neo4j at bolt://db:7687: start the local one with `silentcert neo4j start` or check NEO4J_URI")


def test_the_first_connection_has_its_own_budget() -> None:
    from silentcert.graph.connect import open_store
    from silentcert.graph.errors import StoreUnavailable

    settings = StoreSettings(neo4j_uri=f"bolt://127.0.0.1:{_closed_port()}", neo4j_password=SECRET,
                             retry_seconds=600, connect_seconds=0.5)
    started = time.monotonic()
    with pytest.raises(StoreUnavailable, match="no Neo4j at"):
        open_store(settings)
    assert time.monotonic() - started < 10
