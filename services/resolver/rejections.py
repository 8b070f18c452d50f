"""What a normaliser returns instead of a value it cannot accept.

A rejection is a result, not an exception: a bad row goes to ``rejects.csv`` with ``reason`` and the
round goes on. ``reason`` is the clerk-facing sentence; the SQL face of every normaliser builds the
very same text so a row rejected in a batch and the same value resolved over gRPC read alike.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Rejection:
    """A value a normaliser refused, with the reason a clerk can act on."""

    field: str
    raw: str | None
    reason: str

    def __str__(self) -> str:
        return self.reason
