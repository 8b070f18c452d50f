"""The review console end to end in a real browser: a generated county's round in the embedded store, the three
services on a real port behind TLS and bearer tokens, `silentcert console` in front of them over HTTPS with the
same certificate and token file, and the machine's Chromium driven by Playwright (no browser is downloaded).

An investigator logs in with their token, filters the queue (escalated too), opens a case, escalates it with a
note, and finds the decision in the audit trail under their name and the flag in the escalated queue. A wrong
token and a certifier's token are refused at login; a forged post without the session's CSRF token changes
nothing. With SILENTCERT_DOC_SCREENSHOTS=docs/images the screenshots docs/investigation.md shows are refreshed.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from silentcert.clients.console import server as console
from silentcert.graph.embedded import EmbeddedStore
from silentcert.graph.model import FlagFilter
from silentcert.services.rounds.county_names import county_name
from silentcert.services.security import roles
from silentcert.services.security.access_log import read_lines
from silentcert.services.security.tokens import issue_token
from tests.integration.reviewed_round import reviewed_round

REVIEWER = "zhang.wei"
FULL_ID_NUMBER = re.compile(r"(?<![0-9])[0-9]{17}[0-9Xx](?![0-9])")
DOC_SHOTS = {"login": "console-login.png", "queue": "console-queue.png", "case": "console-case.png",
             "decided": "console-decided.png", "escalated": "console-escalated.png"}


@dataclass(frozen=True)
class Console:
    store: EmbeddedStore
    url: str
    reviewer_token: str
    certifier_token: str
    access_log: Path
    tokens: Path


@pytest.fixture(scope="module")
def running_console(tmp_path_factory) -> Console:
    base = tmp_path_factory.mktemp("console")
    access_log = base / "access-log.jsonl"
    with reviewed_round(base, REVIEWER, access_log) as served:
        web = console.start(console.ConsoleSettings(
            target=f"localhost:{served.port}", tokens=served.tokens, address="127.0.0.1:0",
            tls_cert=served.pki / "server.pem", tls_key=served.pki / "server-key.pem", ca=served.pki / "ca.pem",
            browser_url="http://127.0.0.1:7475/browser/"))
        yield Console(served.store, web.url, served.reviewer_token, served.certifier_token, access_log,
                      served.tokens)
        web.stop()


@pytest.fixture
def browser(chromium, tmp_path):
    """A fresh browser context (no cookies). The console's certificate is signed by the test's own development
    CA, which this Chromium does not know: certificate errors are ignored, TLS itself is not (the URL is https)."""
    from playwright.sync_api import sync_playwright

    shots = tmp_path / "shots"
    shots.mkdir()
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium.executable, args=list(chromium.flags))
        context = launched.new_context(viewport={"width": 1366, "height": 900}, ignore_https_errors=True)
        page = context.new_page()
        page.set_default_timeout(30_000)
        yield page, shots
        launched.close()
    target = os.environ.get("SILENTCERT_DOC_SCREENSHOTS")
    for name, doc_name in DOC_SHOTS.items():
        if target and (shots / f"{name}.png").is_file():
            shutil.copyfile(shots / f"{name}.png", Path(target) / doc_name)


def log_in(page, url: str, token: str):
    page.goto(f"{url}/login")
    page.fill("#token", token)
    with page.expect_response(lambda r: r.url.endswith("/login") and r.request.method == "POST") as answer:
        page.click("button[type=submit]")
    return answer.value


def listed_flags(page) -> list[str]:
    return page.locator("[data-testid=queue] tbody tr").evaluate_all("rows => rows.map(r => r.dataset.flag)")


def test_an_investigator_goes_from_login_to_a_recorded_decision(running_console: Console, browser):
    page, shots = browser
    store, url = running_console.store, running_console.url
    open_flags = store.flags(FlagFilter(status="open", limit=100_000))

    page.goto(f"{url}/queue")
    assert page.url.startswith(f"{url}/login"), "no session: the queue sends you to log in"
    page.fill("#token", running_console.reviewer_token)
    page.screenshot(path=str(shots / "login.png"))
    page.click("button[type=submit]")
    page.wait_for_url(f"{url}/queue")
    assert page.get_by_test_id("reviewer").inner_text() == REVIEWER
    cookie = next(c for c in page.context.cookies() if c["name"] == "__Host-silentcert-console")
    assert (cookie["httpOnly"], cookie["secure"], cookie["sameSite"]) == (True, True, "Strict")

    # the open queue, most severe first, as the store orders it
    assert listed_flags(page) == [f.flag_id for f in open_flags[:50]]
    # filtered by kind, then by county: the county shown with its name
    page.select_option("select[name=kind]", "unconfirmed_death")
    page.click("form.filters button")
    deaths = [f for f in open_flags if f.kind == "unconfirmed_death"]
    assert listed_flags(page) == [f.flag_id for f in deaths[:50]] and deaths
    page.screenshot(path=str(shots / "queue.png"))
    the_flag = deaths[0]
    page.fill("input[name=county]", the_flag.county_code)
    page.click("form.filters button")
    in_county = [f.flag_id for f in deaths if f.county_code == the_flag.county_code]
    assert listed_flags(page) == in_county[:50]
    name = county_name(the_flag.county_code)
    assert f"{the_flag.county_code} {name}" in page.locator("[data-testid=queue]").inner_text()
    person = store.person(person_id=the_flag.person_id)
    queue_html = page.content()
    assert not FULL_ID_NUMBER.search(queue_html) and person.name not in queue_html, "the queue shows no one in full"

    # the case: the person in full, the cited records with their fields, the timeline, the audit trail
    page.locator(f"tr[data-flag='{the_flag.flag_id}'] a").click()
    page.get_by_test_id("person").wait_for()
    assert person.id_number in page.get_by_test_id("person").inner_text()
    cited = [n for n in store.flag(the_flag.flag_id).nodes if n.label in ("DeathRecord", "Event")]
    records = page.get_by_test_id("records").inner_text()
    assert cited and all(n.properties["record_id"] in records for n in cited)
    assert all(n.properties["source"] in records for n in cited)
    timeline = page.get_by_test_id("timeline").locator("tbody tr")
    assert timeline.count() == len(store.evidence(the_flag.person_id))
    assert page.get_by_test_id("timeline").locator("tr.cited").count() >= 1
    trail_before = page.get_by_test_id("audit").locator("tbody tr").count()
    assert trail_before == len(store.audit_trail(the_flag.person_id)) >= 1
    link = page.get_by_test_id("browser-link").get_attribute("href")
    assert link.startswith("http://127.0.0.1:7475/browser/?cmd=edit&arg=") and the_flag.person_id in link
    their_flags = [f.kind for f in store.flags(FlagFilter(person_id=the_flag.person_id))]
    shown = page.get_by_test_id("flags").locator("tbody tr td:first-child").all_inner_texts()
    assert shown == their_flags and the_flag.kind in shown, "this person's flags, and only theirs"
    page.screenshot(path=str(shots / "case.png"), full_page=True)

    # the decision, with a note, recorded under the investigator's own name
    note = "register entry names another man of the same name; asked the county office"
    page.check("input[name=action][value=escalate]")
    page.fill("#note", note)
    page.click("[data-testid=decide] button[type=submit]")
    page.get_by_test_id("recorded").wait_for()
    decided = store.flag(the_flag.flag_id).flag
    assert (decided.status, decided.decided_by, decided.note) == ("escalated", REVIEWER, note)
    audit = page.get_by_test_id("audit").locator("tbody tr")
    assert audit.count() == trail_before + 1
    last = audit.last.inner_text()
    assert REVIEWER in last and "decide_flag:escalate" in last and f"flag:{the_flag.flag_id}" in last
    seq = store.audit_trail(the_flag.person_id)[-1].seq
    assert f"audit entry #{seq}" in page.get_by_test_id("recorded").inner_text()
    page.screenshot(path=str(shots / "decided.png"), full_page=True)

    # out of the open queue, into the escalated one
    page.goto(f"{url}/queue?kind=unconfirmed_death&county={the_flag.county_code}")
    assert the_flag.flag_id not in listed_flags(page)
    page.get_by_role("link", name="Escalated", exact=True).click()
    page.wait_for_url(re.compile(r"status=escalated"))
    assert the_flag.flag_id in listed_flags(page)
    assert f"by {REVIEWER}" in page.locator(f"tr[data-flag='{the_flag.flag_id}']").inner_text()
    page.screenshot(path=str(shots / "escalated.png"), full_page=True)

    # a senior clears it from the escalated queue: a note is required, then the person is restored
    page.locator(f"tr[data-flag='{the_flag.flag_id}'] a").click()
    page.check("input[name=action][value=clear]")
    page.click("[data-testid=decide] button[type=submit]")
    assert "note" in page.get_by_test_id("error").inner_text()
    assert store.flag(the_flag.flag_id).flag.status == "escalated", "refused: nothing changed"
    page.check("input[name=action][value=clear]")
    page.fill("#note", "seen alive at the township office on 2021-11-02")
    page.click("[data-testid=decide] button[type=submit]")
    page.get_by_test_id("recorded").wait_for()
    assert store.flag(the_flag.flag_id).flag.status == "dismissed"
    assert page.get_by_test_id("person-status").inner_text() == store.person(person_id=the_flag.person_id).status
    assert [e.action for e in store.audit_trail(the_flag.person_id)][-2:] == [
        "decide_flag:escalate", "decide_flag:dismiss"]
    assert page.get_by_test_id("decide").count() == 0, "a dismissed flag is not decided again"

    # every read went to the services under the investigator's name
    reads = [line for line in read_lines(running_console.access_log) if line["person_id"] == the_flag.person_id]
    assert {line["caller"] for line in reads} == {REVIEWER}
    assert {line["rpc"].rsplit("/", 1)[1] for line in reads} >= {"GetFlag", "GetAuditTrail", "DecideFlag"}


def test_a_wrong_token_and_a_non_reviewer_token_are_refused(running_console: Console, browser):
    page, _ = browser
    url = running_console.url
    answer = log_in(page, url, "sct_" + "x" * 43)
    assert answer.status == 401 and "token refused: unknown token" in page.get_by_test_id("reason").inner_text()
    answer = log_in(page, url, running_console.certifier_token)
    assert answer.status == 403
    assert "for the reviewer role; this token's role is certifier" in page.get_by_test_id("reason").inner_text()
    assert not any("console" in c["name"] and "login" not in c["name"] for c in page.context.cookies())
    page.goto(f"{url}/queue")
    assert page.url.startswith(f"{url}/login")


def test_a_forged_decision_without_the_sessions_csrf_token_changes_nothing(running_console: Console, browser):
    page, _ = browser
    store, url = running_console.store, running_console.url
    log_in(page, url, running_console.reviewer_token)
    page.wait_for_url(f"{url}/queue")
    target = store.flags(FlagFilter(status="open", limit=1))[0]
    # the session cookie goes along (the request shares the browser's cookies); the CSRF token does not
    for csrf in (None, "forged-" + "x" * 36):
        form = {"flag": target.flag_id, "action": "confirm", "note": "forged"}
        if csrf:
            form["csrf"] = csrf
        answer = page.context.request.post(f"{url}/case/decide", form=form, max_redirects=0)
        assert answer.status == 403 and "CSRF" in answer.text()
    assert store.flag(target.flag_id).flag.status == "open", "nothing was decided"
    # a logout without the token is refused too; the session goes on
    assert page.context.request.post(f"{url}/logout", form={}, max_redirects=0).status == 403
    page.goto(f"{url}/queue")
    assert page.url.startswith(f"{url}/queue")


def test_a_revoked_token_ends_its_session_at_the_next_page(running_console: Console, browser):
    page, _ = browser
    url = running_console.url
    temporary = issue_token(running_console.tokens, role=roles.REVIEWER, name="temp.reviewer")
    log_in(page, url, temporary)
    page.wait_for_url(f"{url}/queue")
    assert page.get_by_test_id("reviewer").inner_text() == "temp.reviewer"
    book = json.loads(running_console.tokens.read_text(encoding="utf-8"))
    book["tokens"] = [t for t in book["tokens"] if t["name"] != "temp.reviewer"]  # revoked: the line removed
    running_console.tokens.write_text(json.dumps(book), encoding="utf-8")
    page.goto(f"{url}/queue?status=escalated")
    assert page.url.startswith(f"{url}/login")
    assert "no longer accepted" in page.get_by_test_id("reason").inner_text()
