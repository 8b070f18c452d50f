"""The investigators' Browser guide against the local Neo4j: every saved query in graph/browser/queries.cypher
(the human-facing file under test, parsed here as Browser users paste it) runs on a published round with real
parameter values and finds rows; Browser answers on its port; the guide is served the way Browser can load it.
"""

from __future__ import annotations

import http.client
import importlib.util
import os
import re
import shutil
import threading
import urllib.request
from pathlib import Path

import neo4j
import pytest

from graph import catalog
from graph.model import FlagFilter
from graph.neo4j_local import LocalNeo4jSettings, bolt_settings
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


# ---- Neo4j Browser 5.24 in a real headless Chromium, as an investigator uses it ---------------------------------

LOCAL_ONLY = re.compile(r"^https?://(?!(127\.0\.0\.1|localhost)[:/])")  # fonts, telemetry, docs: never fetched


class BrowserSession:
    """One investigator's Neo4j Browser tab, driven by Playwright; screenshots go to `shots`."""

    def __init__(self, page, shots: Path):
        self.page = page
        self.shots = shots

    def login(self, settings: LocalNeo4jSettings, user: str, password: str) -> None:
        self.page.goto(settings.browser_url)
        self.page.get_by_test_id("boltaddress").fill(f"127.0.0.1:{settings.bolt_port}")
        self.page.get_by_test_id("username").fill(user)
        self.page.get_by_test_id("password").fill(password)
        self.shot("01-login")
        self.page.get_by_test_id("connect").click()
        self.page.get_by_test_id("activeEditor").get_by_text("neo4j$").wait_for()

    def run(self, command: str | None = None) -> None:
        """Type `command` into the editor (or keep what a click on a guide's snippet put there) and run it."""
        if command is not None:
            self.page.locator("[data-testid=activeEditor] .monaco-editor[role=code]").click()
            self.page.keyboard.type(command)
        self.page.get_by_test_id("editor-Run").click()

    def latest_frame(self):
        return self.page.get_by_test_id("frame").first

    def shot(self, name: str, element=None) -> Path:
        path = self.shots / f"{name}.png"
        (element or self.page).screenshot(path=str(path))
        return path


@pytest.fixture
def browser_session(chromium, tmp_path):
    from playwright.sync_api import sync_playwright

    shots = tmp_path / "screenshots"
    shots.mkdir()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium.executable, args=list(chromium.flags))
        context = browser.new_context(viewport={"width": 1280, "height": 860})
        context.route(LOCAL_ONLY, lambda route: route.abort())
        page = context.new_page()
        page.set_default_timeout(30_000)
        yield BrowserSession(page, shots)
        browser.close()
    _copy_for_docs(shots)


DOC_SHOTS = {"02-guide": "browser-guide.png", "03-ring": "browser-ring.png"}


def _copy_for_docs(shots: Path) -> None:
    """With SILENTCERT_DOC_SCREENSHOTS=DIR (e.g. docs/images), keep the screenshots docs/investigation.md shows."""
    target = os.environ.get("SILENTCERT_DOC_SCREENSHOTS")
    if not target:
        return
    for name, doc_name in DOC_SHOTS.items():
        if (shots / f"{name}.png").is_file():
            shutil.copyfile(shots / f"{name}.png", Path(target) / doc_name)


def _slide_titled(words: str) -> int:
    """The 1-based number of the guide slide whose title contains `words`."""
    titles = [title.split(". ", 1)[-1] for title, _, _ in saved_queries()]
    (number,) = [i + 2 for i, title in enumerate(titles) if words in title]  # slide 1 is the introduction
    return number


def test_an_investigator_logs_in_plays_the_guide_and_draws_a_ring(
        published_round, neo4j_settings, neo4j_driver, guide_url, browser_session):
    store = Neo4jStore(neo4j_driver, retry_seconds=5)
    (ring, *_) = store.flags(FlagFilter(kind="shared_identifier_ring", limit=1))
    members = store.flags(FlagFilter(kind="shared_identifier_ring", limit=1000))
    ring_flags = len([f for f in members if f.ring_id == ring.ring_id])
    session = browser_session
    _, user, password = bolt_settings(neo4j_settings)
    session.login(neo4j_settings, user, password)

    session.run(f":play {guide_url}/guide.html")
    carousel = session.page.get_by_test_id("carousel")
    carousel.get_by_text("silentcert: investigating death-check flags").wait_for()
    assert carousel.get_by_text(f"1 / {len(saved_queries()) + 1}").is_visible()
    session.shot("02-guide", session.latest_frame())

    carousel.locator(f"li[aria-label='{_slide_titled('A whole ring')}']").click()
    query = carousel.locator("pre.runnable", has_text="MATCH (f:Flag {ring_id: $ring_id})")
    query.wait_for()
    session.run(f":param ring_id => '{ring.ring_id}'")
    session.page.get_by_test_id("rawParamData").first.wait_for()
    query.click()  # a click puts the slide's query into the editor
    session.run()

    graph = session.latest_frame()
    flags = graph.get_by_test_id("property-details-overview-node-label-Flag")
    flags.wait_for()
    assert flags.inner_text().strip() == f"Flag ({ring_flags})"
    assert graph.locator("svg g.node").count() > ring_flags, "the flags, their pensioners and what they share"
    session.shot("03-ring", graph)
