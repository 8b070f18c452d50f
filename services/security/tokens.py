"""The token file: bearer tokens stored only as SHA-256 hashes, each with a role, a name and an expiry.

    {"tokens": [{"name": "kiosk-12", "role": "certifier", "sha256": "…", "issued": "…", "expires": "…"}]}

A token is 32 random bytes (url-safe base64, prefix ``sct_``), so a plain SHA-256 is enough: there is nothing
to brute-force. The plain token is printed once by ``silentcert security issue-token`` and never stored.
The server re-reads the file when it changes, so a revoked line stops working without a restart. Revocation
fails closed: a token file deleted, unreadable or corrupt while the server runs refuses every token
(UNAUTHENTICATED, the path only in the server log) until a good file is back.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import secrets
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from silentcert.graph.errors import InvalidInput
from silentcert.services.security.roles import ROLES

log = logging.getLogger(__name__)

PREFIX = "sct_"
Clock = Callable[[], datetime]


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class TokenEntry:
    name: str
    role: str
    sha256: str
    issued: str
    expires: str

    def expired(self, now: datetime) -> bool:
        return self.expiry <= now

    @functools.cached_property
    def expiry(self) -> datetime:
        return datetime.fromisoformat(self.expires)


class TokenRejected(Exception):
    """The bearer token is unknown or expired (the message says which, never the token)."""


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def issue_token(path: Path, *, role: str, name: str, days: float = 90, clock: Clock = _now) -> str:
    """Add a new token for `name` with `role` to the file (created 0600) and return the plain token."""
    if role not in ROLES:
        raise InvalidInput(f"role must be one of {', '.join(ROLES)}, got {role!r}", field="role")
    if not name.strip():
        raise InvalidInput("name is required", field="name")
    if days <= 0:
        raise InvalidInput(f"days must be positive, got {days}", field="days")
    token = PREFIX + secrets.token_urlsafe(32)
    now = clock()
    entry = TokenEntry(name.strip(), role, token_hash(token), now.isoformat(), (now + timedelta(days=days)).isoformat())
    entries = load_entries(path) if path.exists() else []
    _write(path, [*entries, entry])
    return token


def load_entries(path: Path) -> list[TokenEntry]:
    """The entries of a token file; InvalidInput naming the file when it is not one."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        entries = [TokenEntry(**item) for item in data["tokens"]]
        for entry in entries:
            datetime.fromisoformat(entry.expires)
    except FileNotFoundError:
        raise InvalidInput(f"token file {path} does not exist", field="tokens") from None
    except OSError as exc:
        raise InvalidInput(f"token file {path} cannot be read ({exc.strerror or type(exc).__name__})",
                           field="tokens") from None
    except (ValueError, KeyError, TypeError) as exc:
        raise InvalidInput(f"token file {path} is not a silentcert token file ({type(exc).__name__})",
                           field="tokens") from None
    bad = sorted({e.role for e in entries} - set(ROLES))
    if bad:
        raise InvalidInput(f"token file {path} names unknown role(s) {bad}", field="tokens")
    return entries


def _write(path: Path, entries: list[TokenEntry]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump({"tokens": [asdict(e) for e in entries]}, handle, indent=1)
    os.replace(tmp, path)


class TokenBook:
    """Looks tokens up by hash; re-reads the file when its modification time changes."""

    def __init__(self, path: Path, clock: Clock = _now):
        self.path = path
        self._name = os.fspath(path)
        self.clock = clock
        self._lock = threading.Lock()
        self._stamp: int | None = None
        self._loaded = False
        self._unusable = False
        self._by_hash: dict[str, TokenEntry] = {}
        self._reload()

    def verify(self, token: str) -> TokenEntry:
        """The entry of a valid token; TokenRejected when it is unknown or expired, or when the file cannot be read
        now (then every token is)."""
        self._reload()
        if self._unusable:
            raise TokenRejected("the server cannot check tokens right now; every token is refused")
        entry = self._by_hash.get(token_hash(token))
        if entry is None:
            raise TokenRejected("unknown token")
        if entry.expired(self.clock()):
            raise TokenRejected(f"token of {entry.name} expired at {entry.expires}")
        return entry

    def _reload(self) -> None:
        try:
            stamp: int | None = os.stat(self._name).st_mtime_ns  # every call: a revoked token stops at once
        except OSError:
            stamp = None
        if self._loaded and stamp == self._stamp:
            return
        with self._lock:
            try:
                entries = load_entries(self.path)
            except InvalidInput as unusable:
                if not self._loaded:
                    raise
                log.error("%s: refusing every token until the file is readable again", unusable)
                self._by_hash, self._unusable = {}, True
            else:
                self._by_hash = {e.sha256: e for e in entries}
                self._loaded, self._unusable = True, False
            self._stamp = stamp
