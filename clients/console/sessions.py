"""Server-side sessions of the review console, each with its CSRF token.

The browser holds only a random session id (an HttpOnly, SameSite=Strict cookie, Secure over TLS); the
investigator's bearer token stays in this process's memory, so neither page scripts nor a stolen cookie jar reveal
it. A session ends at logout, after ``idle`` without a request, after ``lifetime`` in all, or when the token file
no longer accepts its token (revoked or expired: checked on every request). Every form that changes something
carries the session's CSRF token, compared in constant time.
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class Session:
    sid: str
    token: str  # the investigator's bearer token, sent on every rpc made for them
    name: str  # as the token file names them: the reviewer DecideFlag records
    csrf: str
    started: float
    seen: float = field(default=0.0)

    def csrf_matches(self, sent: str | None) -> bool:
        return bool(sent) and hmac.compare_digest(self.csrf.encode(), str(sent).encode())


class Sessions:
    """The open sessions, by id; thread-safe (the WSGI server answers requests on several threads)."""

    def __init__(self, idle: float = 30 * 60, lifetime: float = 12 * 3600,
                 clock: Callable[[], float] = time.monotonic):
        self.idle = idle
        self.lifetime = lifetime
        self.clock = clock
        self._lock = threading.Lock()
        self._open: dict[str, Session] = {}

    def start(self, token: str, name: str) -> Session:
        now = self.clock()
        session = Session(secrets.token_urlsafe(32), token, name, secrets.token_urlsafe(32), now, now)
        with self._lock:
            self._drop_stale(now)
            self._open[session.sid] = session
        return session

    def get(self, sid: str | None) -> Session | None:
        """The live session with this id (its idle clock restarted), or None."""
        if not sid:
            return None
        now = self.clock()
        with self._lock:
            session = self._open.get(sid)
            if session is None:
                return None
            if now - session.seen > self.idle or now - session.started > self.lifetime:
                del self._open[sid]
                return None
            session.seen = now
            return session

    def end(self, sid: str | None) -> None:
        with self._lock:
            self._open.pop(sid or "", None)

    def _drop_stale(self, now: float) -> None:
        stale = [s.sid for s in self._open.values()
                 if now - s.seen > self.idle or now - s.started > self.lifetime]
        for sid in stale:
            del self._open[sid]
