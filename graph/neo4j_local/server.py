"""Install, start, stop and inspect the local Neo4j Community server.

The server runs in the background in its own process group (so Ctrl-C in the shell that
started it does not reach it); its pid is kept in HOME/run/neo4j.pid and its console output
in HOME/logs/console.log. ``start`` returns once Bolt accepts the stored password.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from neo4j import GraphDatabase
from neo4j.exceptions import AuthError, ServiceUnavailable, SessionExpired

from silentcert.graph.errors import StoreUnavailable
from silentcert.graph.neo4j_local import home, jvm
from silentcert.graph.neo4j_local.settings import USER, LocalNeo4jSettings
from silentcert.graph.neo4j_local.tools import java_executable

# Servers started by this Python process, kept so they can be reaped (no zombie, no ResourceWarning).
_children: dict[int, subprocess.Popen[bytes]] = {}


@dataclass(frozen=True)
class ServerStatus:
    running: bool
    pid: int | None
    bolt_uri: str
    browser_url: str
    home: Path
    password_file: Path
    rss_mib: int | None  # resident memory of the server JVM


def install(settings: LocalNeo4jSettings) -> None:
    """Assemble HOME once (jars are skipped when lib/ is complete), rewrite neo4j.conf, set the password."""
    java_executable()
    if not home.lib_complete(settings):
        home.fetch_jars(settings)
    home.make_dirs(settings)
    home.write_config(settings)
    password = home.ensure_password(settings)
    if home.never_started(settings):
        home.set_initial_password(settings, password)


def start(settings: LocalNeo4jSettings) -> ServerStatus:
    """Start the server in the background and wait until Bolt answers; no-op when it already runs."""
    pid = running_pid(settings)
    if pid is None:
        install(settings)
        _refuse_taken_ports(settings)
        pid = _launch(settings)
    _wait_for_bolt(settings, pid)
    return status(settings)


def stop(settings: LocalNeo4jSettings) -> bool:
    """SIGTERM the server, SIGKILL it after the grace period; False when it was not running."""
    pid = running_pid(settings)
    if pid is None:
        settings.pid_file.unlink(missing_ok=True)
        return False
    os.killpg(pid, signal.SIGTERM)
    if not _wait_until_gone(pid, settings.stop_grace_s):
        os.killpg(pid, signal.SIGKILL)
        _wait_until_gone(pid, 10.0)
    settings.pid_file.unlink(missing_ok=True)
    return True


def status(settings: LocalNeo4jSettings) -> ServerStatus:
    """Whether the server process of this home is alive, and where to reach it."""
    pid = running_pid(settings)
    return ServerStatus(
        running=pid is not None,
        pid=pid,
        bolt_uri=settings.bolt_uri,
        browser_url=settings.browser_url,
        home=settings.home,
        password_file=settings.password_file,
        rss_mib=_rss_mib(pid) if pid is not None else None,
    )


def bolt_settings(settings: LocalNeo4jSettings) -> tuple[str, str, str]:
    """(uri, user, password) to connect to the local server."""
    return settings.bolt_uri, USER, home.read_password(settings)


def running_pid(settings: LocalNeo4jSettings) -> int | None:
    """The pid in HOME/run/neo4j.pid if that process is alive and is this home's server."""
    try:
        pid = int(settings.pid_file.read_text().strip())
    except (FileNotFoundError, ValueError):
        return None
    if not _alive(pid) or not _is_our_server(pid, settings):
        return None
    return pid


def _launch(settings: LocalNeo4jSettings) -> int:
    command = jvm.server_command(java_executable(), settings)
    with open(settings.console_log, "ab") as log:
        log.write(f"\n--- silentcert start {time.strftime('%Y-%m-%d %H:%M:%S')}\n".encode())
        log.flush()
        process = subprocess.Popen(
            command,
            cwd=settings.home,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    _children[process.pid] = process
    settings.pid_file.write_text(f"{process.pid}\n")
    return process.pid


def _wait_for_bolt(settings: LocalNeo4jSettings, pid: int) -> None:
    uri, user, password = bolt_settings(settings)
    deadline = time.monotonic() + settings.start_timeout_s
    while True:
        if not _alive(pid):
            raise StoreUnavailable(f"Neo4j exited during start-up; see {settings.console_log}:\n{_log_tail(settings)}")
        try:
            with GraphDatabase.driver(uri, auth=(user, password)) as driver:
                driver.verify_connectivity()
            return
        except AuthError as error:
            raise StoreUnavailable(
                f"Neo4j at {uri} rejected the password in {settings.password_file}: {error.message}"
            ) from error
        except (ServiceUnavailable, SessionExpired, OSError):
            if time.monotonic() > deadline:
                raise StoreUnavailable(
                    f"Neo4j did not answer on {uri} within {settings.start_timeout_s:.0f} s "
                    f"(pid {pid} still running); see {settings.console_log} and {settings.logs_dir / 'neo4j.log'}"
                ) from None
            time.sleep(1.0)


def _refuse_taken_ports(settings: LocalNeo4jSettings) -> None:
    for port in (settings.bolt_port, settings.http_port):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.settimeout(1.0)
            if probe.connect_ex((settings.host, port)) == 0:
                raise StoreUnavailable(
                    f"{settings.host}:{port} is already taken by another process (not the server of "
                    f"{settings.home}); stop it, or use other ports in LocalNeo4jSettings"
                )


def _alive(pid: int) -> bool:
    child = _children.get(pid)
    if child is not None:
        return child.poll() is None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return _proc_state(pid) not in ("Z", "X", None)


def _wait_until_gone(pid: int, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not _alive(pid):
            _children.pop(pid, None)
            return True
        time.sleep(0.2)
    return False


def _is_our_server(pid: int, settings: LocalNeo4jSettings) -> bool:
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return jvm.SERVER_MAIN.encode() in argv and f"--home-dir={settings.home}".encode() in argv


def _proc_state(pid: int) -> str | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[0]


def _rss_mib(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) // 1024
    except OSError:
        return None
    return None


def _log_tail(settings: LocalNeo4jSettings, lines: int = 20) -> str:
    try:
        return "\n".join(settings.console_log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no console log)"
