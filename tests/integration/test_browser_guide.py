"""The investigators' Browser guide against the local Neo4j: every saved query in graph/browser/queries.cypher
(the human-facing file under test, parsed here as Browser users paste it) runs on a published round with real
parameter values and finds rows; Browser answers on its port; the guide is served the way Browser can load it.
"""

from __future__ import annotations

import http.client
import importlib.util
import re
import threading
import urllib.request
from pathlib import Path

import neo4j
import pytest

from graph import catalog
from graph.model import FlagFilter
from graph.neo4j_local import LocalNeo4jSettings
from graph.neo4j_store import Neo4jStore

BROWSER = Path(__file__).resolve().parents[2] / "graph" / "browser"
PARAM = re.compile(r"^//\s*:param\s+(\w+)\s*=>")


def saved_queries() -> list[tuple[str, set[str], str]]:
    """(title, :param names, query) per block of queries.cypher, split as make_guide.py splits it."""
    text = (BROWSER / "queries.cypher").read_text(encoding="utf-8")
    found = []
    for block in (b.strip() for b in text.split("\n\n")[1:] if b.strip()):
        lines = block.splitlines()
        params = {m.group(1) for line in lines if (m := PARAM.match(line.strip()))}
        query = "\n".join(line for line in lines if not line.startswith("//")).strip().rstrip(";")
        found.append((lines[0].lstrip("/ ").strip(), params, query))
    return found


def _values(store: Neo4jStore) -> dict[str, str]:
    """A real value for every parameter the saved queries take, from the round just published."""
    (post_death,) = store.flags(FlagFilter(kind="activity_after_death", limit=1))
    person = store.flag(post_death.flag_id).person
    (ring,) = store.flags(FlagFilter(kind="shared_identifier_ring", limit=1))
    return {"who": person.id_number, "county": post_death.county_code, "flag_id": post_death.flag_id,
            "ring_id": ring.ring_id, "person_id": person.person_id}


def test_the_saved_queries_are_the_guide_and_each_names_its_parameters():
    queries = saved_queries()
    assert len(queries) == 8
    for title, params, query in queries:
        assert set(re.findall(r"\$(\w+)", query)) == params, title


def test_every_saved_query_runs_on_a_published_round_and_finds_rows(published_round, neo4j_driver):
    values = _values(Neo4jStore(neo4j_driver, retry_seconds=5))
    assert all(values.values()), values
    for title, params, query in saved_queries():
        with neo4j_driver.session(database="neo4j") as session:  # auto-commit, as Browser runs a query
            rows = list(session.run(query, {p: values[p] for p in params}))
        assert rows, f"no rows: {title}"


def _get(url: str) -> tuple[int, dict[str, str], str]:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.status, dict(response.headers), response.read().decode("utf-8")


def test_browser_answers_on_the_local_server(neo4j_settings: LocalNeo4jSettings):
    status, _, page = _get(neo4j_settings.browser_url)
    assert status == 200 and "<title>Neo4j Browser</title>" in page


def test_browser_may_play_localhost_guides(neo4j_driver: neo4j.Driver):
    records, _, _ = neo4j_driver.execute_query(catalog.query("browser_settings"), database_="system")
    settings = {r["name"]: r["value"] for r in records}
    (hosts,) = [v for k, v in settings.items() if k.startswith("browser.remote_content_hostname")]
    assert "localhost" in hosts.split(",") or "*" in hosts.split(","), settings


def _load_serve_guide():
    spec = importlib.util.spec_from_file_location("serve_guide", BROWSER / "serve_guide.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def guide_url():
    server = _load_serve_guide().guide_server(port=0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://localhost:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_the_guide_is_served_with_the_cors_header_browser_needs(guide_url):
    status, headers, page = _get(f"{guide_url}/guide.html")
    assert status == 200 and headers.get("Access-Control-Allow-Origin") == "*"
    assert page.count("<slide") == len(saved_queries()) + 1 and '<article class="guide">' in page
    assert _get(f"{guide_url}/style.grass")[2] == (BROWSER / "style.grass").read_text(encoding="utf-8")


def test_the_guide_server_answers_the_cors_preflight_browser_sends(guide_url):
    """Neo4j Browser 5.24 fetches a guide with cache-control, pragma and sentry-trace headers: Chromium sends an
    OPTIONS preflight first and drops the guide ("Not found") unless it is allowed."""
    asked = "cache-control,pragma,sentry-trace"
    connection = http.client.HTTPConnection(guide_url.removeprefix("http://"), timeout=10)
    connection.request("OPTIONS", "/guide.html", headers={
        "Origin": "http://127.0.0.1:7474", "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": asked})
    response = connection.getresponse()
    response.read()
    connection.close()
    assert response.status in (200, 204)
    assert response.getheader("Access-Control-Allow-Origin") == "*"
    assert "GET" in response.getheader("Access-Control-Allow-Methods", "").replace(" ", "").split(",")
    allowed = {h.strip().lower() for h in response.getheader("Access-Control-Allow-Headers", "").split(",")}
    assert allowed >= set(asked.split(","))
