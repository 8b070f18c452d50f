"""Where the local Neo4j server lives and how it is sized.

One frozen dataclass, built by the caller (``from_env()`` in a ``main()``) and passed to every
function in this package. The home folder holds everything the server owns::

    HOME/lib        jars copied from Maven Central (cached: fetched once)
    HOME/conf       neo4j.conf, written on every install
    HOME/data       databases and the auth store
    HOME/logs       console.log (stdout/stderr of the JVM), neo4j.log, debug.log
    HOME/run        neo4j.pid
    HOME/import     CSV files for LOAD CSV
    HOME/password   the neo4j user's password, mode 0600
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from silentcert.graph.errors import InvalidInput

NEO4J_VERSION = "5.26.30"
BROWSER_VERSION = "5.24.0"
USER = "neo4j"


def _default_home() -> Path:
    return Path.home() / ".cache" / "silentcert" / f"neo4j-{NEO4J_VERSION}"


def _port(env: Mapping[str, str], name: str) -> int:
    value = env[name]
    if not value.isdigit() or not 0 < int(value) < 65536:
        raise InvalidInput(f"{name}={value!r} is not a TCP port (1-65535)", field=name)
    return int(value)


def _size(env: Mapping[str, str], name: str) -> str:
    """A memory size as neo4j.conf takes it: digits and a unit k, m or g (e.g. 512m, 6g)."""
    value = env[name].strip().lower()
    if not re.fullmatch(r"[1-9][0-9]*[kmg]", value):
        raise InvalidInput(f"{name}={env[name]!r} is not a memory size such as 512m or 6g", field=name)
    return value


@dataclass(frozen=True)
class LocalNeo4jSettings:
    """Settings of one local Neo4j Community server.

    Memory defaults suit a shared 2-core, 24 GiB machine: a 2 GiB heap and 2 GiB of page cache
    hold the graphs of the test suite and of a county-sized round, and leave room for the
    other processes (DuckDB, Splink, gRPC servers) running beside it.
    """

    home: Path = field(default_factory=_default_home)
    version: str = NEO4J_VERSION
    browser_version: str = BROWSER_VERSION
    host: str = "127.0.0.1"
    bolt_port: int = 7687
    http_port: int = 7474
    heap_initial: str = "1g"
    heap_max: str = "2g"
    pagecache: str = "2g"
    transaction_memory_max: str = "1g"
    password: str | None = None  # None: generate one on first install and keep it in HOME/password
    guide_port: int = 8001  # where graph/browser/serve_guide.py serves the investigators' guide and style
    read_only: bool = False  # every user database refuses writes: the investigators' copy (docs/investigation.md)
    start_timeout_s: float = 180.0
    stop_grace_s: float = 60.0

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> LocalNeo4jSettings:
        """Defaults, with SILENTCERT_NEO4J_HOME, _PASSWORD, _BOLT_PORT, _HTTP_PORT, _READ_ONLY (1 or true) and
        SILENTCERT_GUIDE_PORT applied when set; SILENTCERT_NEO4J_HEAP (the heap's maximum size) and
        SILENTCERT_NEO4J_PAGECACHE size the server's memory for a province bigger than the defaults suit."""
        env = os.environ if environ is None else environ
        settings = cls()
        if env.get("SILENTCERT_NEO4J_HOME"):
            settings = replace(settings, home=Path(env["SILENTCERT_NEO4J_HOME"]).expanduser())
        if env.get("SILENTCERT_NEO4J_PASSWORD"):
            settings = replace(settings, password=env["SILENTCERT_NEO4J_PASSWORD"])
        if env.get("SILENTCERT_NEO4J_BOLT_PORT"):
            settings = replace(settings, bolt_port=_port(env, "SILENTCERT_NEO4J_BOLT_PORT"))
        if env.get("SILENTCERT_NEO4J_HTTP_PORT"):
            settings = replace(settings, http_port=_port(env, "SILENTCERT_NEO4J_HTTP_PORT"))
        if env.get("SILENTCERT_NEO4J_READ_ONLY", "").lower() in ("1", "true"):
            settings = replace(settings, read_only=True)
        if env.get("SILENTCERT_NEO4J_HEAP"):
            settings = replace(settings, heap_max=_size(env, "SILENTCERT_NEO4J_HEAP"))
        if env.get("SILENTCERT_NEO4J_PAGECACHE"):
            settings = replace(settings, pagecache=_size(env, "SILENTCERT_NEO4J_PAGECACHE"))
        if env.get("SILENTCERT_GUIDE_PORT"):
            settings = replace(settings, guide_port=_port(env, "SILENTCERT_GUIDE_PORT"))
        return settings

    @property
    def lib_dir(self) -> Path:
        return self.home / "lib"

    @property
    def conf_dir(self) -> Path:
        return self.home / "conf"

    @property
    def data_dir(self) -> Path:
        return self.home / "data"

    @property
    def logs_dir(self) -> Path:
        return self.home / "logs"

    @property
    def run_dir(self) -> Path:
        return self.home / "run"

    @property
    def import_dir(self) -> Path:
        return self.home / "import"

    @property
    def password_file(self) -> Path:
        return self.home / "password"

    @property
    def pid_file(self) -> Path:
        return self.run_dir / "neo4j.pid"

    @property
    def console_log(self) -> Path:
        return self.logs_dir / "console.log"

    @property
    def bolt_uri(self) -> str:
        return f"bolt://{self.host}:{self.bolt_port}"

    @property
    def browser_url(self) -> str:
        return f"http://{self.host}:{self.http_port}/browser/"

    @property
    def guide_url(self) -> str:
        """Browser plays remote content only from allow-listed host names, so `localhost`, never the IP."""
        return f"http://localhost:{self.guide_port}"
