"""Assembling a Neo4j home: jars from Maven Central, neo4j.conf, the initial password."""

from __future__ import annotations

import os
import secrets
import subprocess
from importlib import resources
from pathlib import Path

from silentcert.graph.errors import InvalidInput, StoreUnavailable
from silentcert.graph.neo4j_local import jvm
from silentcert.graph.neo4j_local.settings import LocalNeo4jSettings
from silentcert.graph.neo4j_local.tools import java_executable, mvn_executable

LIB_MARKER = ".silentcert-complete"
SUBDIRS = ("conf", "data", "logs", "run", "import", "plugins")


def lib_complete(settings: LocalNeo4jSettings) -> bool:
    """True when HOME/lib holds the jars of exactly these versions (written after a whole fetch)."""
    marker = settings.lib_dir / LIB_MARKER
    return marker.is_file() and marker.read_text() == _lib_signature(settings)


def fetch_jars(settings: LocalNeo4jSettings) -> None:
    """Copy the server's runtime jars and the Browser jar into HOME/lib with Maven."""
    mvn = mvn_executable()
    settings.lib_dir.mkdir(parents=True, exist_ok=True)
    pom = resources.files("silentcert.graph.neo4j_local") / "pom.xml"
    with resources.as_file(pom) as pom_path:
        command = [
            mvn, "-q", "-B", "-f", str(pom_path),
            "dependency:copy-dependencies",
            "-DincludeScope=runtime",
            f"-DoutputDirectory={settings.lib_dir}",
            f"-Dneo4j.version={settings.version}",
            f"-Dneo4j.browser.version={settings.browser_version}",
        ]
        result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        tail = (result.stdout + result.stderr).strip().splitlines()[-15:]
        raise StoreUnavailable("mvn could not fetch the Neo4j jars:\n" + "\n".join(tail))
    (settings.lib_dir / LIB_MARKER).write_text(_lib_signature(settings))


def make_dirs(settings: LocalNeo4jSettings) -> None:
    for name in SUBDIRS:
        (settings.home / name).mkdir(parents=True, exist_ok=True)


def write_config(settings: LocalNeo4jSettings) -> Path:
    """Write HOME/conf/neo4j.conf from the settings (rewritten on every install)."""
    path = settings.conf_dir / "neo4j.conf"
    path.write_text(render_config(settings))
    return path


def render_config(settings: LocalNeo4jSettings) -> str:
    """The text of neo4j.conf: loopback only, auth on, memory sized by the settings."""
    lines = {
        "server.default_listen_address": settings.host,
        "server.default_advertised_address": settings.host,
        "server.bolt.enabled": "true",
        "server.bolt.listen_address": f":{settings.bolt_port}",
        "server.http.enabled": "true",
        "server.http.listen_address": f":{settings.http_port}",
        "server.https.enabled": "false",
        "dbms.security.auth_enabled": "true",
        "server.memory.heap.initial_size": settings.heap_initial,
        "server.memory.heap.max_size": settings.heap_max,
        "server.memory.pagecache.size": settings.pagecache,
        "dbms.memory.transaction.total.max": settings.transaction_memory_max,
        "dbms.usage_report.enabled": "false",
        "server.databases.default_to_read_only": "true" if settings.read_only else "false",
        **browser_config(settings),
        "server.directories.import": "import",
        "db.tx_log.rotation.retention_policy": "2 days 2G",
    }
    header = "# Written by graph/neo4j_local/home.py on every install; edit LocalNeo4jSettings instead.\n"
    return header + "".join(f"{key}={value}\n" for key, value in lines.items())


def browser_config(settings: LocalNeo4jSettings) -> dict[str, str]:
    """Neo4j Browser set up for investigators (the names are Neo4j 5.26 Community's, as SHOW SETTINGS lists them):
    on connect it loads the style and plays the guide that graph/browser/serve_guide.py serves; remote content
    only from that local server; no product analytics (no consent banner, nothing sent out)."""
    return {
        "browser.post_connect_cmd": f"style {settings.guide_url}/style.grass; play {settings.guide_url}/guide.html",
        "browser.remote_content_hostname_whitelist": "localhost",
        "client.allow_telemetry": "false",
    }


def ensure_password(settings: LocalNeo4jSettings) -> str:
    """The neo4j user's password: read from HOME/password, or configured/generated and stored there."""
    path = settings.password_file
    if path.is_file():
        stored = path.read_text().strip()
        if settings.password is not None and settings.password != stored:
            raise InvalidInput(
                f"{settings.home} was initialised with the password in {path}, not the configured one; "
                f"use that password or delete {settings.home} to start over",
                field="password",
            )
        return stored
    password = settings.password or secrets.token_urlsafe(18)
    if len(password) < 8:
        raise InvalidInput("the Neo4j password needs at least 8 characters", field="password")
    settings.home.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(password + "\n")
    return password


def read_password(settings: LocalNeo4jSettings) -> str:
    """The stored password; the home must have been installed."""
    if not settings.password_file.is_file():
        raise InvalidInput(f"no password at {settings.password_file}: run `silentcert neo4j start` first")
    return settings.password_file.read_text().strip()


def never_started(settings: LocalNeo4jSettings) -> bool:
    """True until the server has created its system database (when the initial password is applied)."""
    return not (settings.data_dir / "databases" / "system").exists()


def set_initial_password(settings: LocalNeo4jSettings, password: str) -> None:
    """neo4j-admin dbms set-initial-password; only effective before the first start. `--` ends the options: a
    generated password may start with "-" (token_urlsafe), which the command would read as an option."""
    command = jvm.admin_command(java_executable(), settings, ["dbms", "set-initial-password", "--", password],
                                heap="256m")
    result = subprocess.run(
        command, env=jvm.admin_environment(settings), capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        output = (result.stdout + result.stderr).replace(password, "***").strip()
        raise StoreUnavailable(f"neo4j-admin dbms set-initial-password failed:\n{output}")


def _lib_signature(settings: LocalNeo4jSettings) -> str:
    return f"neo4j={settings.version} browser={settings.browser_version}\n"
