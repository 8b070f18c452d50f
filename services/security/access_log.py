"""The access log: one JSON line per read of one person's data — who, when, which person, which rpc.

    {"at": "2021-11-02T09:13:04.512+00:00", "caller": "kiosk-12", "role": "certifier",
     "rpc": "/silentcert.liveness.v1.LivenessService/GetLiveness", "person_id": "P1", "peer": "ipv4:10.0.0.7:51234"}

The file is opened with O_APPEND and each call's lines go to it in one ``write`` (no buffer in this process: a
line is in the file before the rpc answers, and a crash of the server loses none), so lines never interleave;
nothing in silentcert rewrites or truncates it (in production make it append-only for the service user too,
``chattr +a``). A lookup by ID number also writes a line, found or not (``"lookup": "id_number"``, the number
masked, ``"found"``), so a stream of misses — someone walking the masked digits — is on record. Which rpcs read whom is the table PERSON_READS: each entry names the person ids a call read,
from the request or from the response.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from silentcert.services.security.masking import mask_id_number

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
    _DEATHCHECK + "ListFlags": lambda req, resp: (f.person_id for f in resp.flags),
    _DEATHCHECK + "GetFlag": lambda req, resp: [resp.person.person_id or resp.flag.person_id],
    _DEATHCHECK + "DecideFlag": lambda req, resp: [resp.flag.person_id],
    _DEATHCHECK + "GetAuditTrail": lambda req, resp: [req.person_id],
}


IdNumberOf = Callable[[Any], str]
"""A request (or one message of a request stream) → the ID number it looks a person up by, "" for none."""


def _by_id_number(request: Any) -> str:
    return request.id_number if request.WhichOneof("person") == "id_number" else ""


# rpc → (the ID number a request looks up, the person a response found ("" for none))
ID_LOOKUPS: dict[str, tuple[IdNumberOf, Callable[[Any], str]]] = {
    _RESOLVER + "ResolveRecord": (lambda req: req.record.id_number,
                                  lambda resp: resp.candidates[0].person_id if resp.candidates else ""),
    _LIVENESS + "GetLiveness": (_by_id_number, lambda resp: resp.liveness.person_id),
    _LIVENESS + "StreamLiveness": (_by_id_number,
                                   lambda resp: resp.liveness.person_id if resp.HasField("liveness") else ""),
    _LIVENESS + "RecordCertification": (_by_id_number, lambda resp: resp.liveness.person_id),
}


class AccessLog:
    """Appends access lines to a file (created 0600 if absent)."""

    def __init__(self, path: Path, clock: Callable[[], datetime] = lambda: datetime.now(UTC)):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600, exist_ok=True)
        self.path = path
        self.clock = clock
        self._lock = threading.Lock()
        self._fd: int | None = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CLOEXEC)

    def record(self, *, caller: str, role: str, rpc: str, person_ids: Iterable[str], peer: str) -> int:
        """Write one line per distinct non-empty person id; returns how many were written."""
        at = self.clock().isoformat(timespec="milliseconds")
        lines = [json.dumps({"at": at, "caller": caller, "role": role, "rpc": rpc, "person_id": pid, "peer": peer},
                            ensure_ascii=False) + "\n" for pid in dict.fromkeys(p for p in person_ids if p)]
        if lines:
            self._append("".join(lines))
        return len(lines)

    def lookup(self, *, caller: str, role: str, rpc: str, id_number: str, person_id: str, peer: str) -> None:
        """One line for a lookup by ID number, found (`person_id`) or not (""): the number masked, so a log of
        misses shows someone walking the hidden digits without holding the numbers themselves."""
        line = json.dumps({"at": self.clock().isoformat(timespec="milliseconds"), "caller": caller, "role": role,
                           "rpc": rpc, "lookup": "id_number", "id_number": mask_id_number(id_number),
                           "found": bool(person_id), "person_id": person_id, "peer": peer},
                          ensure_ascii=False) + "\n"
        self._append(line)

    def _append(self, text: str) -> None:
        data = text.encode("utf-8")
        with self._lock:
            if self._fd is None:
                raise ValueError(f"access log {self.path} is closed")
            written = os.write(self._fd, data)
            while written < len(data):  # a short write (disk nearly full): the rest, never a line lost silently
                written += os.write(self._fd, data[written:])

    def close(self) -> None:
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None


def read_lines(path: Path) -> list[dict[str, str]]:
    """Every line of an access log, parsed (for audits and tests)."""
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
