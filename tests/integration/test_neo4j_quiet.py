"""A Neo4j store says only what an operator must act on (issue 15): applying the schema at every start logs no
"index or constraint already exists" notification, and a missing password is named as missing."""

from __future__ import annotations

import logging

import neo4j
import pytest

from silentcert.graph.connect import StoreSettings, open_store
from silentcert.graph.errors import StoreUnavailable
from silentcert.graph.neo4j_local import LocalNeo4jSettings, bolt_settings
from silentcert.graph.neo4j_store import Neo4jStore


def test_applying_the_schema_again_logs_no_notification(neo4j_driver: neo4j.Driver,
                                                        caplog: pytest.LogCaptureFixture) -> None:
    store = Neo4jStore(neo4j_driver)
    store.apply_schema()
    caplog.clear()
    with caplog.at_level(logging.DEBUG, logger="neo4j.notifications"):
        store.apply_schema()
    assert not [r.getMessage() for r in caplog.records if r.name == "neo4j.notifications"]


def test_a_missing_password_is_named(neo4j_settings: LocalNeo4jSettings) -> None:
    uri, user, _ = bolt_settings(neo4j_settings)
    with pytest.raises(StoreUnavailable, match="NEO4J_PASSWORD is not set"):
        open_store(StoreSettings(neo4j_uri=uri, neo4j_user=user, neo4j_password=None, connect_seconds=2))
