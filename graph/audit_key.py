"""The secret that keys the audit chain (HMAC-SHA256): whoever can write the store but not read this file cannot
rewrite the chain so that it verifies again.

A key file holds 32 random bytes as hex. ``load_audit_key(path)`` reads it, or creates it (mode 0600) the first
time; a file readable by group or others, or one that is not a key, is refused. A store opened without a key
(tests, library use) chains with :data:`DEVELOPMENT_KEY`, which is public: `open_store` always passes a real one.
"""

from __future__ import annotations

import os
import secrets
import stat
from pathlib import Path

from silentcert.graph.errors import InvalidInput

DEVELOPMENT_KEY = b"silentcert development audit key (public: never for real data)"
KEY_BYTES = 32


def load_audit_key(path: Path) -> bytes:
    """The key in `path`, created with fresh random bytes (0600) when the file does not exist."""
    if not path.exists():
        _create(path)
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise InvalidInput(f"audit key file {path} is readable by others (mode {stat.S_IMODE(mode):o}); "
                           f"chmod 600 it", field="audit-key")
    try:
        key = bytes.fromhex(path.read_text(encoding="ascii").strip())
    except (ValueError, UnicodeDecodeError):
        key = b""
    if len(key) < KEY_BYTES:
        raise InvalidInput(f"audit key file {path} does not hold a key of {KEY_BYTES} hex-encoded bytes",
                           field="audit-key")
    return key


def _create(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process created it first: use theirs
        return
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(secrets.token_hex(KEY_BYTES) + "\n")
