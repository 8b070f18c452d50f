"""Fixtures shared by the integration tests: real servers, started once per test session.

Add a fixture here when more than one test module needs the same running thing.
"""

from __future__ import annotations

import os
import shutil
import socket
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path

import neo4j
import pytest

from silentcert.graph.neo4j_local import LocalNeo4jSettings, bolt_settings, server
from silentcert.graph.neo4j_local.server import install

NEO4J_FIXTURES = {"neo4j_driver", "neo4j_settings"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test that touches the local Neo4j carries the `neo4j` mark (deselect with -m "not neo4j")."""
    for item in items:
        if NEO4J_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.neo4j)


@pytest.fixture(scope="session")
def neo4j_settings() -> LocalNeo4jSettings:
    """The local server's settings (SILENTCERT_NEO4J_HOME moves its home), running for the whole session.

    .ci/run starts the server before pytest; when it is not running the fixture starts it and stops it
    again at the end of the session.
    """
    settings = LocalNeo4jSettings.from_env()
    started_here = not server.status(settings).running
    server.start(settings)
    yield settings
    if started_here:
        server.stop(settings)


@pytest.fixture(scope="session")
def neo4j_driver(neo4j_settings: LocalNeo4jSettings) -> neo4j.Driver:
    """A driver connected to the local server with its password; closed at the end of the session."""
    uri, user, password = bolt_settings(neo4j_settings)
    with neo4j.GraphDatabase.driver(uri, auth=(user, password)) as driver:
        driver.verify_connectivity()
        yield driver


@dataclass(frozen=True)
class PublishedRound:
    round_dir: Path
    out: Path
    bolt_uri: str
    audit_key_file: Path  # the key the round's audit entries were chained with


@pytest.fixture(scope="module")
def published_round(neo4j_settings: LocalNeo4jSettings, neo4j_driver: neo4j.Driver,
                    tmp_path_factory: pytest.TempPathFactory) -> PublishedRound:
    """A small synthetic round (1,500 pensioners) run and published into the emptied local Neo4j, once per
    module. Other modules clear the database, so a module checks it within its own tests."""
    from silentcert.clients.rounds import run_round_files
    from silentcert.graph.neo4j_store import Neo4jStore
    from silentcert.synthetic import generate

    uri, user, password = bolt_settings(neo4j_settings)
    base = tmp_path_factory.mktemp("published")
    generate(pensioners=1500, seed=11, as_of=date(2021, 10, 31), out=base / "round", duplicate_share=0.002)
    Neo4jStore(neo4j_driver, retry_seconds=5).clear()
    with pytest.MonkeyPatch.context() as env:
        env.setenv("NEO4J_USER", user)
        env.setenv("NEO4J_PASSWORD", password)
        env.setenv("SILENTCERT_AUDIT_KEY_FILE", str(base / "audit.key"))
        run_round_files(base / "round" / "round.toml", base / "out", store=None, neo4j_uri=uri)
    return PublishedRound(base / "round", base / "out", uri, base / "audit.key")


@pytest.fixture(scope="session")
def throwaway_neo4j_home() -> Callable[[Path], LocalNeo4jSettings]:
    """Makes extra Neo4j homes on free ports that reuse the cached jars (not started), for tests that stop,
    bulk-import or clear their server freely; the shared server is neither started nor touched."""
    shared = LocalNeo4jSettings.from_env()
    install(shared)

    def make(folder: Path) -> LocalNeo4jSettings:
        folder.mkdir(parents=True, exist_ok=True)
        os.symlink(shared.lib_dir, folder / "lib")
        return replace(shared, home=folder, bolt_port=_free_port(), http_port=_free_port(), heap_initial="256m",
                       heap_max="768m", pagecache="128m", transaction_memory_max="256m", password=None)

    return make


@dataclass(frozen=True)
class Chromium:
    """The machine's own Chromium (Debian's package; .ci/run installs it) and the flags that keep a headless run
    from reaching out on its own (sync, component updates, background networking)."""

    executable: str
    flags: tuple[str, ...] = ("--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                              "--disable-background-networking", "--disable-component-update", "--disable-sync")


@pytest.fixture(scope="session")
def chromium() -> Chromium:
    """The Chromium the browser tests drive; they are skipped when the machine has none (no browser is ever
    downloaded at run time)."""
    found = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if found is None:
        pytest.skip("chromium not installed (.ci/run installs Debian's chromium; no browser is downloaded)")
    return Chromium(found)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
