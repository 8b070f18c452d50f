"""The access log: one JSON line per read of one person's data — who, when, which person, which rpc.

    {"at": "2021-11-02T09:13:04.512+00:00", "caller": "kiosk-12", "role": "certifier",
     "rpc": "/silentcert.liveness.v1.LivenessService/GetLiveness", "person_id": "P1", "peer": "ipv4:10.0.0.7:51234"}

The file is opened in append mode and each line is written and flushed under a lock, so lines never interleave;
nothing in silentcert rewrites or truncates it (in production make it append-only for the service user too,
``chattr +a``). Which rpcs read whom is the table PERSON_READS: each entry names the person ids a call read,
from the request or from the response.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

_RESOLVER = "/silentcert.resolver.v1.ResolverService/"
_LIVENESS = "/silentcert.liveness.v1.LivenessService/"
_DEATHCHECK = "/silentcert.deathcheck.v1.DeathCheckService/"

PersonIds = Callable[[Any, Any], Iterable[str]]
"""(request, one response message) → the person ids it disclosed. Streaming requests arrive as None."""

PERSON_READS: dict[str, PersonIds] = {
    _RESOLVER + "ResolveRecord": lambda req, resp: (c.person_id for c in resp.candidates),
    _RESOLVER + "GetIdentifiers": lambda req, resp: [resp.person_id],
    _LIVENESS + "GetLiveness": lambda req, resp: [resp.liveness.person_id],
    _LIVENESS + "StreamLiveness": lambda req, resp: [resp.liveness.person_id] if resp.HasField("liveness") else [],
    _LIVENESS + "RecordCertification": lambda req, resp: [resp.liveness.person_id],
    _DEATHCHECK + "GetFlag": lambda req, resp: [resp.person.person_id or resp.flag.person_id],
    _DEATHCHECK + "DecideFlag": lambda req, resp: [resp.flag.person_id],
    _DEATHCHECK + "GetAuditTrail": lambda req, resp: [req.person_id],
}


class AccessLog:
    """Appends access lines to a file (created 0600 if absent)."""

    def __init__(self, path: Path, clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc)):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600, exist_ok=True)
        self.path = path
        self.clock = clock
        self._lock = threading.Lock()
        self._handle = open(path, "a", encoding="utf-8")

    def record(self, *, caller: str, role: str, rpc: str, person_ids: Iterable[str], peer: str) -> int:
        """Write one line per distinct non-empty person id; returns how many were written."""
        at = self.clock().isoformat(timespec="milliseconds")
        lines = [json.dumps({"at": at, "caller": caller, "role": role, "rpc": rpc, "person_id": pid, "peer": peer},
                            ensure_ascii=False) + "\n" for pid in dict.fromkeys(p for p in person_ids if p)]
        if lines:
            with self._lock:
                self._handle.writelines(lines)
                self._handle.flush()
        return len(lines)

    def close(self) -> None:
        with self._lock:
            self._handle.close()


def read_lines(path: Path) -> list[dict[str, str]]:
    """Every line of an access log, parsed (for audits and tests)."""
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
