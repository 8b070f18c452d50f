"""The local Neo4j server: running, answering Cypher over Bolt with its password, serving Browser, bulk-importing."""

from __future__ import annotations

import datetime as dt
import logging
import urllib.request
from dataclasses import replace
from pathlib import Path

import neo4j
import pytest

from silentcert.graph import catalog
from silentcert.graph.errors import Conflict
from silentcert.graph.neo4j_local import LocalNeo4jSettings, bolt_settings, bulk_import, install, server
from silentcert.graph.neo4j_store import Neo4jStore


def test_status_reports_the_running_server(neo4j_settings: LocalNeo4jSettings):
    state = server.status(neo4j_settings)
    assert state.running and state.pid is not None
    assert state.bolt_uri == f"bolt://127.0.0.1:{neo4j_settings.bolt_port}"
    assert state.browser_url == f"http://127.0.0.1:{neo4j_settings.http_port}/browser/"
    assert state.rss_mib is not None and state.rss_mib > 100


def test_start_is_idempotent(neo4j_settings: LocalNeo4jSettings):
    before = server.status(neo4j_settings).pid
    assert server.start(neo4j_settings).pid == before


def test_cypher_round_trip(neo4j_driver: neo4j.Driver):
    value = {"name": "张伟", "born": dt.date(1950, 3, 1), "pension": 3120, "ids": ["110101195003010012"]}
    records, _, _ = neo4j_driver.execute_query(catalog.query("server_echo"), value=value)
    assert records[0]["value"]["name"] == "张伟"
    assert records[0]["value"]["born"].to_native() == dt.date(1950, 3, 1)
    assert records[0]["value"]["pension"] == 3120 and records[0]["value"]["ids"] == ["110101195003010012"]


def test_wrong_password_is_refused(neo4j_settings: LocalNeo4jSettings):
    uri, user, _ = bolt_settings(neo4j_settings)
    with neo4j.GraphDatabase.driver(uri, auth=(user, "not-the-password")) as driver:
        with pytest.raises(neo4j.exceptions.AuthError):
            driver.verify_connectivity()


def test_password_file_is_private(neo4j_settings: LocalNeo4jSettings):
    assert neo4j_settings.password_file.stat().st_mode & 0o777 == 0o600


def test_browser_answers_over_http(neo4j_settings: LocalNeo4jSettings):
    with urllib.request.urlopen(neo4j_settings.browser_url, timeout=10) as response:
        assert response.status == 200
        assert "<title>Neo4j Browser</title>" in response.read().decode("utf-8")


def test_bulk_import_into_a_second_home(throwaway_neo4j_home, tmp_path: Path, caplog: pytest.LogCaptureFixture):
    """stop, import, start, count — on a throwaway home so the session's server keeps its data. The store's counts
    of a database that never held most of the model's labels come without the server's unknown-label warnings."""
    settings = throwaway_neo4j_home(tmp_path / "home")
    install(settings)
    nodes, relationships = _tiny_graph(tmp_path)
    try:
        result = bulk_import(settings, nodes, relationships)
        assert "IMPORT DONE" in result.output
        assert result.log_file.read_text(encoding="utf-8").strip() == result.output  # for `neo4j import` to point at
        server.start(settings)
        with pytest.raises(Conflict, match="stop it before a bulk import"):
            bulk_import(settings, nodes, relationships)
        uri, user, password = bolt_settings(settings)
        with neo4j.GraphDatabase.driver(uri, auth=(user, password)) as driver:
            labels = {r["label"]: r["n"] for r in driver.execute_query(catalog.query("count_nodes")).records if r["n"]}
            types = {r["type"]: r["n"] for r in driver.execute_query(catalog.query("count_relationships")).records
                     if r["n"]}
            caplog.clear()
            with caplog.at_level(logging.INFO, logger="neo4j.notifications"):
                counted = Neo4jStore(driver).counts()
    finally:
        server.stop(settings)
    assert labels == {"Pensioner": 3, "IdNumber": 2}
    assert types == {"HAS_ID": 2}
    assert {k: n for k, n in counted.items() if n} == {"Pensioner": 3, "IdNumber": 2, "HAS_ID": 2}
    assert not [r.getMessage() for r in caplog.records if r.name == "neo4j.notifications"]


def test_a_password_starting_with_a_dash_is_set(throwaway_neo4j_home, tmp_path: Path):
    """token_urlsafe begins with "-" once in 64 passwords; neo4j-admin must not read it as an option."""
    settings = replace(throwaway_neo4j_home(tmp_path / "home"), password="-dash-first-Xy12")
    install(settings)
    try:
        server.start(settings)
        uri, user, password = bolt_settings(settings)
        assert password == "-dash-first-Xy12"
        with neo4j.GraphDatabase.driver(uri, auth=(user, password)) as driver:
            driver.verify_authentication()
    finally:
        server.stop(settings)


def _tiny_graph(folder: Path) -> tuple[dict[str, list[Path]], dict[str, list[Path]]]:
    pensioners = folder / "pensioners.csv"
    pensioners.write_text("person_id:ID(Pensioner),name\nP1,王芳\nP2,李娜\nP3,张伟\n", encoding="utf-8")
    id_numbers = folder / "id_numbers.csv"
    id_numbers.write_text("value:ID(IdNumber)\n110101195003010012\n11010119500301001X\n", encoding="utf-8")
    has_id = folder / "has_id.csv"
    has_id.write_text(":START_ID(Pensioner),:END_ID(IdNumber)\nP1,110101195003010012\nP2,11010119500301001X\n",
                      encoding="utf-8")
    return {"Pensioner": [pensioners], "IdNumber": [id_numbers]}, {"HAS_ID": [has_id]}

