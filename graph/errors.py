"""The one exception tree of silentcert: the leaf every layer may import, importing nothing of ours.

It lives at the bottom of `graph/`, the lowest layer, so that graph and services (and the clients above them)
share one tree without graph importing a service (docs/architecture.md, "Layers").

Every error the project raises on purpose derives from :class:`SilentcertError`; the gRPC
interceptor maps each class to a status code, the CLI prints its message on one line.

    SilentcertError
    ├── InvalidInput            a request or file the caller can fix        (INVALID_ARGUMENT)
    │   ├── RoundFileError      round.toml unusable
    │   └── SourceFileError     an input file unreadable as a whole
    ├── Forbidden               a path or resource outside what the server allows (PERMISSION_DENIED)
    ├── NotFound                no such person, flag, round                  (NOT_FOUND)
    ├── Conflict                a decision that contradicts the state        (FAILED_PRECONDITION)
    ├── StoreUnavailable        the graph store cannot be reached            (UNAVAILABLE)
    ├── Busy                    a limit on calls, streams or rounds reached  (RESOURCE_EXHAUSTED)
    ├── ToolMissing             Java, Maven or another local tool is absent
    └── StageFailed             a round stage failed; the round can resume
"""


class SilentcertError(Exception):
    """Base of every error silentcert raises on purpose."""


class InvalidInput(SilentcertError):
    """The caller sent something unusable; the message names the field or file."""

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.field = field


class RoundFileError(InvalidInput):
    """round.toml is missing, malformed or names something that does not exist."""


class SourceFileError(InvalidInput):
    """An input file cannot be read at all (missing, wrong encoding, truncated)."""


class Forbidden(SilentcertError):
    """The request names something this server does not let callers touch (a path outside the rounds roots)."""

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.field = field


class NotFound(SilentcertError):
    """The named person, flag or round does not exist."""


class Conflict(SilentcertError):
    """A request contradicts the current state (e.g. deciding an already decided flag)."""


class StoreUnavailable(SilentcertError):
    """The graph store (Neo4j or the embedded file) cannot be reached right now."""


class Busy(SilentcertError):
    """A server limit is reached (concurrent streams or rounds, lookups or lifetime of a stream); retry later."""


class ToolMissing(SilentcertError):
    """A local tool the command needs (java, mvn) is not installed."""


class StageFailed(SilentcertError):
    """A round stage failed; rerunning the round resumes from the last finished stage."""
