"""The review console's parts that need no running service: sessions, the masking policy, the Browser link, what
a case page is built from, and the login's refusals (they happen before any rpc is made).

The whole console against real services in a real browser is tests/integration/test_console.py.
"""

from __future__ import annotations

import re
from pathlib import Path

import grpc
import pytest

from silentcert.clients.console import pages, policy
from silentcert.clients.console.app import ConsoleOptions, Services, create_app
from silentcert.clients.console.browser import browser_link, neighbourhood_query
from silentcert.clients.console.server import ConsoleSettings
from silentcert.clients.console.sessions import Sessions
from silentcert.deathcheck.v1 import deathcheck_pb2 as pb
from silentcert.graph.errors import InvalidInput
from silentcert.liveness.v1 import liveness_pb2 as lpb
from silentcert.services.security import roles
from silentcert.services.security.tokens import TokenBook, issue_token

ID_NUMBER = "360729196106153241"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_session_ends_when_idle_or_too_old_and_its_csrf_token_is_compared_exactly():
    clock = Clock()
    sessions = Sessions(idle=60, lifetime=300, clock=clock)
    one = sessions.start("sct_token", "zhang.wei")
    assert sessions.get(one.sid) is one and sessions.get("not-a-session") is None
    assert one.csrf_matches(one.csrf) and not one.csrf_matches(one.csrf[:-1] + "x") and not one.csrf_matches(None)
    clock.now += 59
    assert sessions.get(one.sid) is one, "a request restarts the idle clock"
    clock.now += 61
    assert sessions.get(one.sid) is None, "idle too long"
    two = sessions.start("sct_token", "zhang.wei")
    for _ in range(7):  # 350 s of requests 50 s apart
        clock.now += 50
        sessions.get(two.sid)
    assert sessions.get(two.sid) is None, "older than its lifetime, however busy"
    three = sessions.start("sct_token", "zhang.wei")
    sessions.end(three.sid)
    assert sessions.get(three.sid) is None


def test_the_queue_and_the_audit_trail_mask_identifiers_the_case_shows_in_full():
    sentence = f"duplicate of {ID_NUMBER}, phone 13800008000"
    assert policy.queue_text(sentence) == "duplicate of 3607**********3241, phone 138****8000"
    assert ID_NUMBER not in policy.audit_state(f'{{"id_number": "{ID_NUMBER}"}}')
    assert policy.audit_state("{}") == ""
    row = pages.queue_row(pb.Flag(flag_id="F1", person_id="P1", kind="duplicate_account", detail=sentence,
                                  county_code="360729", severity=pb.FLAG_SEVERITY_HIGH, status=pb.FLAG_STATUS_OPEN))
    assert ID_NUMBER not in row["detail"] and row["county"] == "360729 全南县"
    assert (row["severity"], row["status"]) == ("high", "open")


def _detail() -> pb.GetFlagResponse:
    flag = pb.Flag(flag_id="unconfirmed_death:P1:2019-05-16", person_id="P1", kind="unconfirmed_death",
                   status=pb.FLAG_STATUS_ESCALATED, detail=f"reported for {ID_NUMBER}")
    return pb.GetFlagResponse(
        flag=flag, person=pb.PersonSummary(person_id="P1", name="王满", id_number=ID_NUMBER, county_code="999999"),
        nodes=[pb.GraphNode(id="Flag:" + flag.flag_id, label="Flag"),
               pb.GraphNode(id="Pensioner:P1", label="Pensioner"),
               pb.GraphNode(id="DeathRecord:village/d1", label="DeathRecord",
                            properties={"source": "village", "record_id": "d1", "id_number": ID_NUMBER,
                                        "occurred_at": "2019-05-16T00:00:00"}),
               pb.GraphNode(id="Event:bus/b1", label="Event", properties={"source": "bus", "record_id": "b1"})],
        edges=[pb.GraphEdge(source="Flag:" + flag.flag_id, target="DeathRecord:village/d1", type="CITES"),
               pb.GraphEdge(source="DeathRecord:village/d1", target="Pensioner:P1", type="RESOLVED_TO",
                            properties={"probability": "0.998", "method": "deterministic"})])


def test_a_case_shows_the_cited_records_with_their_fields_marks_them_on_the_timeline_and_the_flags_entries():
    detail = _detail()
    liveness = lpb.Liveness(person_id="P1", evidence=[
        lpb.EvidenceEdge(source="bus", record_id="b9", kind=lpb.EVIDENCE_KIND_WEAK, link_probability=0.9),
        lpb.EvidenceEdge(source="village", record_id="d1", kind=lpb.EVIDENCE_KIND_DEATH, link_probability=0.998)])
    liveness.evidence[0].occurred_at.FromJsonString("2021-01-02T03:04:05Z")
    liveness.evidence[1].occurred_at.FromJsonString("2019-05-16T00:00:00Z")
    trail = [pb.AuditEntry(seq=1, actor="deathcheck", action="flag_raised", subject=f"flag:{detail.flag.flag_id}",
                           after_json=f'{{"id_number": "{ID_NUMBER}"}}'),
             pb.AuditEntry(seq=2, actor="deathcheck", action="verdict", subject="round:R/person:P1", after_json="{}"),
             pb.AuditEntry(seq=3, actor="deathcheck", action="flag_raised",
                           subject=f"round:R/flag:{detail.flag.flag_id}"),
             pb.AuditEntry(seq=4, actor="deathcheck", action="flag_raised", subject=f"round:R/flag:x{detail.flag.flag_id}")]
    case = pages.case(detail, [detail.flag], liveness, trail)
    assert [r["fields"]["record_id"] for r in case.records] == ["d1"], "only what the flag cites"
    assert case.records[0]["fields"]["id_number"] == ID_NUMBER and case.records[0]["resolved_to"] == "P1"
    assert case.person["id_number"] == ID_NUMBER and case.person["county"] == "999999"
    assert [(e["record_id"], e["cited"]) for e in case.timeline] == [("d1", True), ("b9", False)]
    assert [e["this_flag"] for e in case.trail] == [True, False, True, False] and ID_NUMBER not in case.trail[0]["after"]
    assert case.decidable, "an escalated flag can be decided again"
    assert [d["name"] for d in case.decisions] == ["Confirm death", "Clear (dismiss)", "Escalate"]


def test_the_browser_link_opens_the_saved_neighbourhood_query_for_plain_account_numbers_only():
    query = neighbourhood_query()
    assert "$person_id" in query and not query.startswith("//")
    link = browser_link("http://127.0.0.1:7475/browser/", "JX100004841", query)
    assert link.startswith("http://127.0.0.1:7475/browser/?cmd=edit&arg=MATCH+%28p%3APensioner+%7Bperson_id%3A+"
                           "%27JX100004841%27%7D%29")
    assert "%24person_id" not in link
    injected = "P1'}) RETURN 1 //"  # an id that would end the string and add its own clause
    assert browser_link("http://127.0.0.1:7475/browser/", injected, query) is None
    assert browser_link("", "JX100004841", query) is None


@pytest.fixture
def console(tmp_path: Path):
    tokens = tmp_path / "tokens.json"
    issued = {"reviewer": issue_token(tokens, role=roles.REVIEWER, name="zhang.wei"),
              "certifier": issue_token(tokens, role=roles.CERTIFIER, name="counter.7")}
    channel = grpc.insecure_channel("127.0.0.1:1")  # never reached: these refusals come before any rpc
    app = create_app(Services("127.0.0.1:1", channel, timeout=1), TokenBook(tokens), Sessions(),
                     ConsoleOptions(secure=True))
    yield app.test_client(), issued
    channel.close()


def _login(client, token: str, *, csrf: bool = True):
    page = client.get("/login", base_url="https://localhost")
    field = re.search(r'name="login_csrf" value="([^"]+)"', page.get_data(as_text=True)).group(1)
    return client.post("/login", base_url="https://localhost",
                       data={"token": token, "login_csrf": field if csrf else "forged"})


def test_login_refuses_an_unknown_token_a_non_reviewer_and_a_form_without_its_csrf_token(console):
    client, issued = console
    refused = _login(client, "sct_" + "x" * 43)
    assert refused.status_code == 401 and "token refused: unknown token" in refused.get_data(as_text=True)
    refused = _login(client, issued["certifier"])
    assert refused.status_code == 403 and "this token&#39;s role is certifier" in refused.get_data(as_text=True)
    refused = _login(client, issued["reviewer"], csrf=False)
    assert refused.status_code == 403 and "login form expired" in refused.get_data(as_text=True)
    cookie = refused.headers["Set-Cookie"]
    assert cookie.startswith("__Host-silentcert-login=") and all(
        part in cookie for part in ("HttpOnly", "Secure", "SameSite=Strict", "Path=/"))


def test_every_page_is_sent_uncached_and_unframed_and_the_queue_needs_a_session(console):
    client, _ = console
    answer = client.get("/queue", base_url="https://localhost")
    assert answer.status_code == 303 and "/login" in answer.headers["Location"]
    for header, value in {"Cache-Control": "no-store", "X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer",
                          "Strict-Transport-Security": "max-age=31536000"}.items():
        assert answer.headers[header] == value
    assert "frame-ancestors 'none'" in answer.headers["Content-Security-Policy"]
    assert client.get("/favicon.ico", base_url="https://localhost").status_code == 404
    # the login page says why by a fixed reason, never with text from its address
    page = client.get("/login?reason=send+your+token+to+evil.example", base_url="https://localhost")
    assert "evil.example" not in page.get_data(as_text=True)
    assert "logged out" in client.get("/login?reason=logout", base_url="https://localhost").get_data(as_text=True)


def test_the_console_refuses_to_serve_without_tls_or_to_send_tokens_in_plaintext(tmp_path: Path):
    tokens = tmp_path / "tokens.json"
    issue_token(tokens, role=roles.REVIEWER, name="zhang.wei")
    pem = tmp_path / "server.pem"
    cases = {
        "tls-cert": ConsoleSettings(target="localhost:50051", tokens=tokens, ca=pem),
        "ca": ConsoleSettings(target="localhost:50051", tokens=tokens, tls_cert=pem, tls_key=pem),
        "tokens": ConsoleSettings(target="localhost:50051", tokens=tmp_path / "none.json", tls_cert=pem,
                                  tls_key=pem, ca=pem),
    }
    for field, settings in cases.items():
        with pytest.raises(InvalidInput) as refused:
            settings.check()
        assert refused.value.field == field
    ConsoleSettings(target="localhost:50051", tokens=tokens, insecure_dev=True).check()  # development only
