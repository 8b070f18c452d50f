"""`silentcert serve --processes 2`: two real server processes on one port (SO_REUSEPORT) over the local Neo4j,
answering, writing one access log, and all stopping on SIGTERM."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

from silentcert.clients.cli import main as cli_main
from silentcert.clients.grpc_client import SilentcertClient
from silentcert.graph.neo4j_local import bolt_settings
from silentcert.graph.neo4j_store import Neo4jStore
from silentcert.services.security.access_log import read_lines
from tests.integration.test_servers import sample_export

REPO = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _listeners(port: int) -> set[int]:
    """Pids listening on the port (ss shows one socket per process with SO_REUSEPORT)."""
    out = subprocess.run(["ss", "-ltnpH", f"sport = :{port}"], capture_output=True, text=True).stdout
    return {int(part.split(",")[0]) for part in out.split("pid=")[1:]}


def test_two_processes_share_one_port_and_stop_together(tmp_path, neo4j_driver, neo4j_settings):
    log_file, port = tmp_path / "access.jsonl", _free_port()
    store = Neo4jStore(neo4j_driver, retry_seconds=5)
    store.clear()  # the test server's database is this test's alone
    store.apply_schema()
    store.publish_round(sample_export())
    uri, user, password = bolt_settings(neo4j_settings)
    proc = subprocess.Popen([sys.executable, "-m", "silentcert.clients.cli", "serve", "--service", "liveness", "--neo4j", uri,
                             "--address", f"127.0.0.1:{port}", "--processes", "2", "--grace", "1",
                             "--insecure-dev", "--access-log", str(log_file)],
                            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(REPO), "NEO4J_USER": user,
                                 "NEO4J_PASSWORD": password})
    try:
        line = proc.stdout.readline()
        assert line.strip().endswith(f"on port {port} (2 processes)"), (line, proc.poll())
        assert len(_listeners(port)) == 2
        for _ in range(3):  # a new connection each time: the kernel picks a process
            with SilentcertClient(f"127.0.0.1:{port}") as client:
                assert client.get_liveness(person_id="P1").person_id == "P1"
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0
    assert not _listeners(port)
    assert [line["person_id"] for line in read_lines(log_file)] == ["P1", "P1", "P1"]


def test_several_processes_need_a_fixed_port_and_neo4j(tmp_path, capsys):
    flags = ["--processes", "2", "--insecure-dev", "--access-log", str(tmp_path / "a.jsonl")]
    assert cli_main(["serve", "--neo4j", "bolt://127.0.0.1:1", "--address", "127.0.0.1:0", *flags]) == 2
    assert "--processes 2 needs a fixed port" in capsys.readouterr().err
    assert cli_main(["serve", "--store", str(tmp_path / "g.duckdb"), "--address", "127.0.0.1:50999", *flags]) == 2
    assert "--processes 2 needs --neo4j" in capsys.readouterr().err
