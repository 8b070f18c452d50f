"""The investigators' Browser guide against the local Neo4j: every saved query in graph/browser/queries.cypher
(the human-facing file under test, parsed here as Browser users paste it) runs on a published round with the
parameter values the guide itself takes from the round, and finds rows; the local server configures Browser for
investigators; the guide is served the way Browser can load it; and an investigator's walk through Neo4j Browser
5.24 in a real Chromium (login, the guide and style on connect, a ring, a pensioner's neighbourhood).

Set SILENTCERT_DOC_SCREENSHOTS=docs/images to refresh the screenshots docs/investigation.md shows.
"""

from __future__ import annotations

import csv
import http.client
import importlib.util
import os
import re
import shutil
import threading
import time
import urllib.request
from dataclasses import dataclass, replace
from pathlib import Path

import neo4j
import pytest

from silentcert.graph import catalog
from silentcert.graph.model import FlagFilter
from silentcert.graph.neo4j_local import LocalNeo4jSettings, bolt_settings, server
from silentcert.graph.neo4j_local.home import render_config
from silentcert.graph.neo4j_store import Neo4jStore
from silentcert.services.rounds.bulk_publish import import_round

BROWSER = Path(__file__).resolve().parents[2] / "graph" / "browser"
PARAM = re.compile(r"^//\s*:param\s+(\w+)\s*=>\s*(.+)$")
START = "Where to start"


@dataclass(frozen=True)
class SavedQuery:
    title: str
    params: dict[str, str]  # name -> the expression its :param line sets it to
    query: str


def _load(name: str):
    spec = importlib.util.spec_from_file_location(name, BROWSER / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def saved_queries() -> list[SavedQuery]:
    """One per block of queries.cypher, split as make_guide.py splits it."""
    text = (BROWSER / "queries.cypher").read_text(encoding="utf-8")
    found = []
    for block in (b.strip() for b in text.split("\n\n")[1:] if b.strip()):
        lines = block.splitlines()
        params = {m.group(1): m.group(2) for line in lines if (m := PARAM.match(line.strip()))}
        query = "\n".join(line for line in lines if not line.startswith("//")).strip().rstrip(";")
        found.append(SavedQuery(lines[0].lstrip("/ ").strip(), params, query))
    return found


def test_the_guide_is_generated_from_the_saved_queries_and_each_names_its_parameters():
    text = (BROWSER / "queries.cypher").read_text(encoding="utf-8")
    assert (BROWSER / "guide.html").read_text(encoding="utf-8") == _load("make_guide").guide(text), \
        "guide.html is stale: python graph/browser/make_guide.py"
    for saved in saved_queries():
        assert set(re.findall(r"\$(\w+)", saved.query)) == set(saved.params), saved.title


def test_the_guide_starts_from_the_round_not_from_made_up_values():
    queries = saved_queries()
    starts = [q for q in queries if q.title.startswith(START)]
    assert queries[:len(starts)] == starts and len(starts) == 3, "the starting points come first"
    assert all(not q.params for q in starts)
    expressions = [e for q in queries for e in q.params.values()]
    assert expressions and all(e.startswith("COLLECT {") and "(f:Flag" in e for e in expressions), \
        "every :param takes its value from the round's flags, never a literal example"


def _browser_param(driver: neo4j.Driver, expression: str):
    """The value Browser's `:param name => expression` sets: it runs RETURN expression."""
    records, _, _ = driver.execute_query(f"RETURN {expression} AS value", database_="neo4j")
    return records[0]["value"]


def test_every_saved_query_runs_on_a_published_round_and_finds_rows(published_round, neo4j_driver):
    for saved in saved_queries():
        values = {name: _browser_param(neo4j_driver, e) for name, e in saved.params.items()}
        assert all(v is not None for v in values.values()), f"{saved.title}: {values}"
        with neo4j_driver.session(database="neo4j") as session:  # auto-commit, as Browser runs a query
            rows = list(session.run(saved.query, values))
        assert rows, f"no rows: {saved.title}"


def test_the_local_server_sets_browser_up_for_investigators():
    settings = LocalNeo4jSettings(guide_port=18001)
    config = dict(line.split("=", 1) for line in render_config(settings).splitlines() if "=" in line)
    assert config["browser.post_connect_cmd"] == (
        "style http://localhost:18001/style.grass; play http://localhost:18001/guide.html")
    assert config["browser.remote_content_hostname_whitelist"] == "localhost"
    assert config["client.allow_telemetry"] == "false" and config["dbms.usage_report.enabled"] == "false"


def _get(url: str) -> tuple[int, dict[str, str], str]:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.status, dict(response.headers), response.read().decode("utf-8")


def test_browser_answers_on_the_local_server(neo4j_settings: LocalNeo4jSettings):
    status, _, page = _get(neo4j_settings.browser_url)
    assert status == 200 and "<title>Neo4j Browser</title>" in page


def test_the_running_server_plays_the_guide_on_connect_from_localhost_only(
        neo4j_settings: LocalNeo4jSettings, neo4j_driver: neo4j.Driver):
    """The names are the ones Neo4j 5.26 accepts: a setting it did not know would stop the server at start."""
    records, _, _ = neo4j_driver.execute_query(catalog.query("browser_settings"), database_="system")
    settings = {r["name"]: r["value"] for r in records}
    assert settings["browser.remote_content_hostname_whitelist"] == "localhost"
    assert f"play {neo4j_settings.guide_url}/guide.html" in settings["browser.post_connect_cmd"]


def _serve(port: int):
    try:
        server = _load("serve_guide").guide_server(port=port)
    except OSError as error:
        pytest.fail(f"cannot serve the guide on port {port} ({error}); stop what holds it or set "
                    "SILENTCERT_GUIDE_PORT for both the server and the tests")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return server


@pytest.fixture
def guide_url():
    server = _serve(0)
    yield f"http://localhost:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def served_guide(neo4j_settings: LocalNeo4jSettings):
    """The guide on the port the local server's browser.post_connect_cmd plays it from."""
    server = _serve(neo4j_settings.guide_port)
    yield neo4j_settings.guide_url
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
        """Put `command` into the editor (or keep what a click on a guide's snippet put there) and run it."""
        if command is not None:
            self.page.locator("[data-testid=activeEditor] .monaco-editor[role=code]").click()
            self.page.keyboard.insert_text(command)
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


DOC_SHOTS = {"02-guide": "browser-guide.png", "04-neighbourhood": "browser-neighbourhood.png",
             "05-read-only": "browser-read-only.png"}


def _copy_for_docs(shots: Path) -> None:
    """With SILENTCERT_DOC_SCREENSHOTS=DIR (e.g. docs/images), keep the screenshots docs/investigation.md shows."""
    target = os.environ.get("SILENTCERT_DOC_SCREENSHOTS")
    if not target:
        return
    for name, doc_name in DOC_SHOTS.items():
        if (shots / f"{name}.png").is_file():
            shutil.copyfile(shots / f"{name}.png", Path(target) / doc_name)


def _slide(carousel, title_starts: str):
    """Go to the guide slide whose title starts with `title_starts`; returns its runnable snippets (the :param
    lines first, the query last)."""
    titles = [saved.title for saved in saved_queries()]
    (number,) = [i + 2 for i, title in enumerate(titles) if title.startswith(title_starts)]  # 1: the introduction
    carousel.locator(f"li[aria-label='{number}']").click()
    carousel.get_by_text(titles[number - 2]).wait_for()
    return carousel.locator("pre.runnable")


def _run_slide(session: BrowserSession, snippets):
    """Click each snippet of the slide (which puts it in the editor) and run it, as an investigator would, each
    after the one before has answered; returns the last one's frame."""
    from playwright.sync_api import expect

    for i in range(snippets.count()):
        text = " ".join(snippets.nth(i).inner_text().split())
        frames = session.page.get_by_test_id("frame").filter(has_text=text[:60])  # the guide's own frame too
        before = frames.count()
        snippets.nth(i).click()
        session.run()
        expect(frames).to_have_count(before + 1)
        if text.startswith(":param"):
            frames.first.get_by_test_id("rawParamData").wait_for()
    return frames.first


CAPTION_DATE = re.compile(r'^"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d"$')


def test_an_investigator_connects_to_the_guide_and_the_style_then_draws_a_ring_and_a_neighbourhood(
        published_round, neo4j_settings, neo4j_driver, served_guide, browser_session):
    flags = Neo4jStore(neo4j_driver, retry_seconds=5).flags(FlagFilter(limit=10_000))
    ring_sizes = {r: sum(f.ring_id == r for f in flags) for r in {f.ring_id for f in flags if f.ring_id}}
    biggest = max(ring_sizes, key=lambda r: (ring_sizes[r], r))
    (who,) = next(q for q in saved_queries() if q.title.startswith("9. One pensioner's whole")).params.values()
    neighbour_flags = [f for f in flags if f.person_id == _browser_param(neo4j_driver, who)]
    session = browser_session
    _, user, password = bolt_settings(neo4j_settings)
    session.login(neo4j_settings, user, password)

    # on connect: the style applied and the guide played (browser.post_connect_cmd), no analytics consent banner
    carousel = session.page.get_by_test_id("carousel")
    carousel.get_by_text("silentcert: investigating death-check flags").wait_for()
    assert carousel.get_by_text(f"1 / {len(saved_queries()) + 1}").is_visible()
    session.page.get_by_test_id("frameCommand").filter(has_text=f":style {served_guide}/style.grass").wait_for()
    assert session.page.get_by_text("To help make Neo4j Browser better").count() == 0
    session.shot("02-guide", session.latest_frame())

    # where to start: the round's rings, listed from the graph
    rings_table = _run_slide(session, _slide(carousel, f"{START} 2"))
    rings_table.get_by_text(biggest).first.wait_for()

    # the ring slide: its :param picks the biggest ring; the graph holds every member's flag
    graph = _run_slide(session, _slide(carousel, "6. A whole ring"))
    overview = graph.get_by_test_id("property-details-overview-node-label-Flag")
    overview.wait_for()
    assert overview.inner_text().strip() == f"Flag ({ring_sizes[biggest]})"
    nodes = graph.locator("svg g.node")
    deadline = time.monotonic() + 30  # the layout adds nodes after the overview shows the labels
    while nodes.count() <= 2 * ring_sizes[biggest] and time.monotonic() < deadline:
        time.sleep(0.2)
    assert nodes.count() > 2 * ring_sizes[biggest], "flags, pensioners and what they share"
    session.shot("03-ring", graph)

    # one pensioner's whole neighbourhood, captions whole: a flag's kind and severity, a record's source and date
    graph = _run_slide(session, _slide(carousel, "9. One pensioner's whole neighbourhood"))
    for label in ("Pensioner", "Flag", "DeathRecord", "Event"):
        graph.get_by_test_id(f"property-details-overview-node-label-{label}").wait_for()
    captions = graph.locator("svg g.node text").evaluate_all("texts => texts.map(t => t.textContent.trim())")
    words = {word for caption in captions for word in caption.split()}
    assert neighbour_flags and all({f.kind, f.severity} <= words for f in neighbour_flags), captions
    assert any(CAPTION_DATE.match(c) for c in captions), captions
    assert not any(c.endswith("\u2026") for c in captions), f"a caption is cut: {captions}"
    session.shot("04-neighbourhood", graph)


# ---- the investigators' copy: a second local server whose database refuses writes ----------------------------

@pytest.fixture(scope="module")
def read_only_copy(published_round, throwaway_neo4j_home, tmp_path_factory):
    """The module's round imported into a second local server on its own ports, then restarted read-only."""
    settings = replace(throwaway_neo4j_home(tmp_path_factory.mktemp("investigators") / "home"), read_only=True)
    import_round(settings, published_round.out, overwrite=False)
    yield settings
    server.stop(settings)


def test_the_investigators_copy_holds_the_round_and_refuses_writes_also_from_browser(
        published_round, read_only_copy, browser_session):
    with open(published_round.out / "flags.csv", newline="", encoding="utf-8") as handle:
        flags = sum(1 for _ in csv.DictReader(handle))
    uri, user, password = bolt_settings(read_only_copy)
    forgery = {"seq": 1, "actor": "forger"}
    with neo4j.GraphDatabase.driver(uri, auth=(user, password)) as driver:
        assert Neo4jStore(driver, retry_seconds=5).counts()["Flag"] == flags > 0
        with pytest.raises(neo4j.exceptions.ClientError, match="(?i)read.only"):
            driver.execute_query(catalog.query("tamper_audit_entry"), forgery, database_="neo4j")
        records, _, _ = driver.execute_query(catalog.query("audit_trail"), {"person_id": None}, database_="neo4j")
        assert records and "forger" not in {r["row"]["actor"] for r in records}

    session = browser_session
    session.login(read_only_copy, user, password)
    for name, value in forgery.items():
        session.run(f":param {name} => {value!r}")
        session.latest_frame().get_by_test_id("rawParamData").wait_for()
    session.run(" ".join(catalog.query("tamper_audit_entry").split()))
    refused = session.latest_frame()
    refused.get_by_text(re.compile("read.only", re.IGNORECASE)).first.wait_for()
    session.shot("05-read-only", refused)
