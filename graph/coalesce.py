"""Concurrent single lookups answered together: one query for the lookups that arrive while others run.

GetLiveness asks for one person per call, and with many concurrent callers each call paid a query's fixed costs
alone: a round trip, a transaction, the driver's and the server's work per statement. Lookups that share one
``UNWIND`` query pay those costs once between them (where it serves: docs/scaling.md, "Serving GetLiveness: kept
answers, processes").

Batching is natural, with no timer: a call that finds fewer than ``max_in_flight`` batches running runs at once
(alone, when nothing else waits), so a lone caller waits for nothing. Calls arriving while the slots are busy
queue; a slot that finishes hands itself to the first queued call, whose batch takes everything queued by then.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Hashable, Sequence
from typing import Generic, TypeVar

G = TypeVar("G", bound=Hashable)
K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

Fetch = Callable[[G, Sequence[K]], dict[K, V]]


class _Call(Generic[G, K, V]):
    """One waiting lookup: its event is set once, when it is answered or when it is handed a slot to lead."""

    __slots__ = ("group", "key", "event", "leads", "value", "error")

    def __init__(self, group: G, key: K):
        self.group, self.key = group, key
        self.event = threading.Event()
        self.leads = False
        self.value: V | None = None
        self.error: BaseException | None = None

    def outcome(self) -> V | None:
        if self.error is not None:
            raise self.error
        return self.value


class Coalescer(Generic[G, K, V]):
    """``get(group, key)`` from threads; ``fetch(group, keys) -> {key: value}`` answers many keys at once.

    Keys of one group share a query (e.g. lookups by person_id with the same `since` and `limit`); a key
    ``fetch`` leaves out gets None; an exception from ``fetch`` is raised in every call of its batch.
    """

    def __init__(self, fetch: Fetch[G, K, V], *, max_batch: int = 64, max_in_flight: int = 2):
        if max_batch < 1 or max_in_flight < 1:
            raise ValueError("max_batch and max_in_flight must be at least 1")
        self._fetch = fetch
        self.max_batch = max_batch
        self.max_in_flight = max_in_flight
        self._lock = threading.Lock()
        self._queue: deque[_Call[G, K, V]] = deque()
        self._running = 0

    def get(self, group: G, key: K) -> V | None:
        call: _Call[G, K, V] = _Call(group, key)
        with self._lock:
            leads = self._running < self.max_in_flight
            if leads:
                self._running += 1
                batch = self._take(call)
            else:
                self._queue.append(call)
        if not leads:
            call.event.wait()
            if not call.leads:
                return call.outcome()
            with self._lock:
                batch = self._take(call)
        try:
            self._run(batch)
        finally:
            self._hand_on()
        return call.outcome()

    def _take(self, call: _Call[G, K, V]) -> list[_Call[G, K, V]]:
        """The leader's batch: its own call and the queued ones, up to max_batch (under the lock)."""
        batch = [call]
        while self._queue and len(batch) < self.max_batch:
            batch.append(self._queue.popleft())
        return batch

    def _hand_on(self) -> None:
        """Give the slot to the first queued call, or free it."""
        with self._lock:
            if self._queue:
                nxt = self._queue.popleft()
                nxt.leads = True
                nxt.event.set()
            else:
                self._running -= 1

    def _run(self, batch: list[_Call[G, K, V]]) -> None:
        groups: dict[G, list[_Call[G, K, V]]] = {}
        for call in batch:
            groups.setdefault(call.group, []).append(call)
        for group, calls in groups.items():
            try:
                found = self._fetch(group, list(dict.fromkeys(c.key for c in calls)))
                for call in calls:
                    call.value = found.get(call.key)
            except Exception as exc:  # every caller of the batch sees the store's error
                for call in calls:
                    call.error = exc
            for call in calls:
                call.event.set()
