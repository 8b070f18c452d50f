"""Per-caller rate limits: a token bucket per caller name (`rate` calls a second, bursts up to `burst`).

A call that finds its caller's bucket empty is refused with RESOURCE_EXHAUSTED; a stream counts once.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class RateLimit:
    rate: float = 200.0  # calls a second, sustained
    burst: float = 400.0  # calls at once after a quiet spell


class RateLimiter:
    def __init__(self, limit: RateLimit, clock: Callable[[], float] = time.monotonic):
        self.limit = limit
        self.clock = clock
        self._lock = threading.Lock()
        self._buckets: dict[str, tuple[float, float]] = {}  # caller -> (tokens, when counted)

    def allow(self, caller: str) -> bool:
        """Take one token from the caller's bucket; False when it is empty."""
        now = self.clock()
        with self._lock:
            tokens, then = self._buckets.get(caller, (self.limit.burst, now))
            tokens = min(self.limit.burst, tokens + (now - then) * self.limit.rate)
            allowed = tokens >= 1.0
            self._buckets[caller] = (tokens - 1.0 if allowed else tokens, now)
        return allowed

    def retry_after(self, caller: str) -> float:
        """Seconds until the caller's bucket holds one token again."""
        with self._lock:
            tokens, _ = self._buckets.get(caller, (self.limit.burst, 0.0))
        return max(0.0, (1.0 - tokens) / self.limit.rate)
