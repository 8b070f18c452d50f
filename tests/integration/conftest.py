"""Fixtures shared by the integration tests: real servers, started once per test session.

Add a fixture here when more than one test module needs the same running thing.
"""

from __future__ import annotations

import neo4j
import pytest

from graph.neo4j_local import LocalNeo4jSettings, bolt_settings, server

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
