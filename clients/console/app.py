"""The review console's Flask application: login, the queue, a case, a decision. See clients/console/__init__.py.

Every rpc is made with the logged-in investigator's own token (``Services.as_investigator``), so the DeathCheck
service authorizes, logs and records each call under their name. Only the reviewer role may log in. Forms that
change something (a decision, logout) carry the session's CSRF token; the login form a token of its own, in a
cookie and a hidden field (double submit), so another site cannot log a browser in under a planted token.
"""

from __future__ import annotations

import hmac
import logging
import re
import secrets
from dataclasses import dataclass
from itertools import islice
from typing import Any

import grpc
from flask import Flask, Response, abort, g, redirect, render_template, request, url_for
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response as BaseResponse

from silentcert.clients.console import pages
from silentcert.clients.console.browser import browser_link, neighbourhood_query
from silentcert.clients.console.sessions import Session, Sessions
from silentcert.clients.grpc_client import BearerToken, SilentcertClient
from silentcert.graph.errors import Conflict, Forbidden, InvalidInput, NotFound, SilentcertError
from silentcert.services.deathcheck.effects import EFFECTS
from silentcert.services.rounds.county_names import COUNTIES
from silentcert.services.security.roles import REVIEWER
from silentcert.services.security.tokens import TokenBook, TokenRejected

log = logging.getLogger(__name__)

PAGE_SIZE = 50
CASE_FLAGS = 200  # a person's flags shown on a case (one page of ListFlags)
_COUNTY = re.compile(r"\d{6}")
_LOGIN_CSRF = re.compile(r"[A-Za-z0-9_-]{43}")
_PUBLIC = {"login", "login_post", "static"}
LOGIN_REASONS = {
    "login": "log in with your reviewer token",
    "logout": "logged out",
    "token": "your token is no longer accepted (revoked or expired); log in with a valid one",
    "role": "your token no longer has the reviewer role",
    "service": "the DeathCheck service no longer accepts your token",
}


@dataclass(frozen=True)
class Services:
    """One channel to the silentcert services, shared; each request calls through it with its own token."""

    target: str
    channel: grpc.Channel
    timeout: float = 30.0

    def as_investigator(self, token: str) -> SilentcertClient:
        return SilentcertClient(self.target, channel=grpc.intercept_channel(self.channel, BearerToken(token)),
                                timeout=self.timeout)


@dataclass(frozen=True)
class ConsoleOptions:
    secure: bool  # served over TLS: the session cookie is Secure and __Host- prefixed, HSTS is sent
    browser_url: str = ""  # Neo4j Browser of the investigators' read-only copy; "" for no link

    @property
    def cookie(self) -> str:
        return "__Host-silentcert-console" if self.secure else "silentcert-console"

    @property
    def login_cookie(self) -> str:
        return "__Host-silentcert-login" if self.secure else "silentcert-login"


def create_app(services: Services, tokens: TokenBook, sessions: Sessions, options: ConsoleOptions) -> Flask:
    app = Flask(__name__)
    app.config.update(MAX_CONTENT_LENGTH=64 * 1024)
    query = neighbourhood_query()

    @app.before_request
    def require_session() -> BaseResponse | None:
        g.session = None
        if request.endpoint in _PUBLIC or request.endpoint is None:  # None: no such page, a 404 follows
            return None
        session = sessions.get(request.cookies.get(options.cookie))
        reason = _still_valid(session, tokens) if session else "login"
        if reason:
            if session:
                sessions.end(session.sid)
            return _to_login(reason)
        assert session is not None  # a missing session has a reason above
        g.session = session
        g.client = services.as_investigator(session.token)
        return None

    @app.after_request
    def headers(response: Response) -> BaseResponse:
        response.headers["Cache-Control"] = "no-store"
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["Content-Security-Policy"] = ("default-src 'none'; style-src 'self'; img-src 'self'; "
                                                       "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
        if options.secure:
            response.headers["Strict-Transport-Security"] = "max-age=31536000"
        return response

    @app.get("/login")
    def login() -> BaseResponse:
        return _login_page(options, LOGIN_REASONS.get(request.args.get("reason", ""), ""), 200)

    @app.post("/login")
    def login_post() -> BaseResponse:
        if not _same(request.cookies.get(options.login_cookie), request.form.get("login_csrf")):
            return _login_page(options, "the login form expired; try again", 403)
        token = request.form.get("token", "").strip()
        refused = _refusal(token, tokens, services)
        if refused:
            log.warning("console login refused: %s", refused[0])
            return _login_page(options, refused[0], refused[1])
        session = sessions.start(token, tokens.verify(token).name)
        log.info("console login: %s", session.name)
        response = redirect(url_for("queue"), 303)
        response.set_cookie(options.cookie, session.sid, httponly=True, secure=options.secure, samesite="Strict",
                            path="/")
        response.delete_cookie(options.login_cookie, path="/", secure=options.secure, samesite="Strict")
        return response

    @app.post("/logout")
    def logout() -> BaseResponse:
        _check_csrf(g.session)
        sessions.end(g.session.sid)
        response = _to_login("logout")
        response.delete_cookie(options.cookie, path="/", secure=options.secure, samesite="Strict")
        return response

    @app.get("/")
    def home() -> BaseResponse:
        return redirect(url_for("queue"))

    @app.get("/queue")
    def queue() -> str:
        filters, chosen = _queue_filters(request.args)
        page = g.client.list_flags(page_size=PAGE_SIZE, page_token=request.args.get("page", ""), **filters)
        return render_template("queue.html", rows=[pages.queue_row(f) for f in page.flags], chosen=chosen,
                               next_page=page.next_page_token, kinds=sorted(EFFECTS), severities=pages.SEVERITIES,
                               statuses=pages.STATUSES, counties=_counties(), me=g.session)

    @app.get("/case")
    def case() -> str:
        return _case_page(request.args.get("flag", ""), error="", recorded=request.args.get("recorded", ""))

    @app.post("/case/decide")
    def decide() -> BaseResponse | tuple[str, int]:
        _check_csrf(g.session)
        flag_id, action = request.form.get("flag", ""), request.form.get("action", "")
        if action not in pages.ACTIONS:
            return _case_page(flag_id, error="choose confirm, clear or escalate"), 400
        try:
            answer = g.client.decide_flag(flag_id, pages.ACTIONS[action], g.session.name,
                                          request.form.get("note", "").strip())
        except (InvalidInput, Conflict) as refused:
            return _case_page(flag_id, error=str(refused)), 409 if isinstance(refused, Conflict) else 400
        log.info("decision recorded: %s %s by %s (audit #%d)", flag_id, action, g.session.name,
                 answer.audit_entry.seq)
        return redirect(url_for("case", flag=flag_id, recorded=answer.audit_entry.seq), 303)

    def _case_page(flag_id: str, *, error: str, recorded: str = "") -> str:
        if not flag_id:
            abort(400, "which flag? /case?flag=FLAG_ID")
        client: SilentcertClient = g.client
        detail = client.get_flag(flag_id)
        person_id = detail.flag.person_id
        flags = list(islice(client.iter_flags(person_id=person_id, page_size=CASE_FLAGS), CASE_FLAGS))
        try:
            liveness = client.get_liveness(person_id=person_id)
        except NotFound:
            liveness = None
        the_case = pages.case(detail, flags, liveness, client.audit_trail(person_id))
        return render_template("case.html", case=the_case, error=error, recorded=recorded, me=g.session,
                               browser_link=browser_link(options.browser_url, person_id, query))

    @app.errorhandler(grpc.RpcError)
    def rpc_failed(error: grpc.RpcError) -> BaseResponse | tuple[str, int]:
        code = error.code() if isinstance(error, grpc.Call) else None
        if code == grpc.StatusCode.UNAUTHENTICATED:
            if g.get("session"):
                sessions.end(g.session.sid)
            return _to_login("service")
        if code == grpc.StatusCode.PERMISSION_DENIED:
            return _error_page(403, "The DeathCheck service refused this call for your role.")
        log.warning("rpc failed: %s", code)
        return _error_page(503, "The DeathCheck service did not answer; try again in a moment.")

    @app.errorhandler(SilentcertError)
    def refused(error: SilentcertError) -> tuple[str, int]:
        status = 404 if isinstance(error, NotFound) else 403 if isinstance(error, Forbidden) else \
            400 if isinstance(error, InvalidInput) else 409 if isinstance(error, Conflict) else 503
        return _error_page(status, str(error))

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> tuple[str, int]:
        return _error_page(error.code or 500, error.description or error.name)

    return app


def _still_valid(session: Session, tokens: TokenBook) -> str:
    """'' while the session's token is valid and a reviewer's; else why the session ends (a LOGIN_REASONS key)."""
    try:
        entry = tokens.verify(session.token)
    except TokenRejected as rejected:
        log.warning("session of %s ended: %s", session.name, rejected)
        return "token"
    return "" if entry.role == REVIEWER else "role"


def _refusal(token: str, tokens: TokenBook, services: Services) -> tuple[str, int] | None:
    """Why this token may not log in (and the HTTP status), or None."""
    if not token:
        return "paste your token (silentcert security issue-token prints it once)", 401
    try:
        entry = tokens.verify(token)
    except TokenRejected as rejected:
        return f"token refused: {rejected}", 401
    if entry.role != REVIEWER:
        return f"the review console is for the reviewer role; this token's role is {entry.role}", 403
    try:
        services.as_investigator(token).list_flags(page_size=1)
    except grpc.RpcError as error:
        code = error.code().name if isinstance(error, grpc.Call) else "UNAVAILABLE"
        return f"the DeathCheck service refused the token ({code})", 401 if code == "UNAUTHENTICATED" else 503
    return None


def _same(expected: str | None, sent: str | None) -> bool:
    return bool(expected) and bool(sent) and hmac.compare_digest(str(expected).encode(), str(sent).encode())


def _check_csrf(session: Session) -> None:
    if not session.csrf_matches(request.form.get("csrf")):
        log.warning("CSRF check failed for %s on %s", session.name, request.path)
        abort(403, "The form did not carry this session's CSRF token; nothing was changed. Reload the page and "
                   "try again.")


def _login_page(options: ConsoleOptions, reason: str, status: int) -> BaseResponse:
    # kept while the browser has one: a second login page (another tab) must not void the first one's form
    held = request.cookies.get(options.login_cookie, "")
    login_csrf = held if _LOGIN_CSRF.fullmatch(held) else secrets.token_urlsafe(32)
    response = Response(render_template("login.html", reason=reason, login_csrf=login_csrf), status=status)
    response.set_cookie(options.login_cookie, login_csrf, httponly=True, secure=options.secure, samesite="Strict",
                        path="/", max_age=15 * 60)
    return response


def _to_login(reason: str) -> BaseResponse:
    """To the login page, saying why by a key of LOGIN_REASONS (a page never shows text taken from its address)."""
    return redirect(url_for("login", reason=reason), 303)


def _error_page(status: int, message: str) -> tuple[str, int]:
    return render_template("error.html", status=status, message=message, me=g.get("session")), status


def _queue_filters(args: Any) -> tuple[dict[str, Any], dict[str, str]]:
    """ListFlagsRequest fields from the query string, and the choices as the form shows them; 400 on a bad one."""
    chosen = {name: args.get(name, "").strip() for name in ("kind", "severity", "county", "status")}
    chosen["status"] = chosen["status"] or "open"
    if chosen["kind"] and chosen["kind"] not in EFFECTS:
        abort(400, f"unknown flag kind {chosen['kind']!r}")
    if chosen["severity"] and chosen["severity"] not in pages.SEVERITIES:
        abort(400, f"severity must be one of {', '.join(pages.SEVERITIES)}")
    if chosen["county"] and not _COUNTY.fullmatch(chosen["county"]):
        abort(400, f"a county code is 6 digits, e.g. 360729; got {chosen['county']!r}")
    if chosen["status"] not in pages.STATUSES:
        abort(400, f"status must be one of {', '.join(pages.STATUSES)}")
    filters: dict[str, Any] = {"kind": chosen["kind"], "county_code": chosen["county"]}
    if chosen["severity"]:
        filters["severity"] = f"FLAG_SEVERITY_{chosen['severity'].upper()}"
    if chosen["status"] != "any":
        filters["status"] = f"FLAG_STATUS_{chosen['status'].upper()}"
    return filters, chosen


def _counties() -> list[tuple[str, str]]:
    return sorted(COUNTIES.items())
