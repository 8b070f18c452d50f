"""Bounds on what callers may hold: streaming rpcs (so no caller holds the server's worker threads) and rounds.

A streaming rpc holds one worker thread for as long as it is open (an idle ``StreamLiveness`` waits in the thread
for its next lookup). So:

    at most ``max_streams`` streaming calls at once per server (fewer than its workers: unary calls always
    find a thread), and ``max_streams_per_caller`` of them per caller    → RESOURCE_EXHAUSTED beyond
    a request stream ends after ``max_lookups`` requests or ``max_seconds``, idle or not
                                                                         → RESOURCE_EXHAUSTED
    every request of a request stream takes one token from the caller's rate-limit bucket, as a unary call does

The grpc.health.v1 Watch stream is not one of them: grpc serves it without a thread (and services.grpc_server
bounds how many may be open). A batch round holds a thread, memory and disk for minutes: at most ``max_rounds``
run at once (``bounded_rounds``), one more is refused with RESOURCE_EXHAUSTED.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from silentcert.graph.errors import Busy, InvalidInput


@dataclass(frozen=True)
class StreamLimits:
    max_streams: int = 8  # streaming calls open at once, per server process
    max_streams_per_caller: int = 2
    max_lookups: int = 1000  # requests in one request stream
    max_seconds: float = 300.0  # lifetime of one request stream

    def check(self, max_workers: int) -> None:
        """InvalidInput when the limits could let streams take every worker thread."""
        if not 1 <= self.max_streams < max_workers:
            raise InvalidInput(f"max streams must be between 1 and workers - 1 ({max_workers - 1}) so unary calls "
                               f"always find a thread, got {self.max_streams}", field="max-streams")
        if self.max_streams_per_caller < 1 or self.max_lookups < 1 or self.max_seconds <= 0:
            raise InvalidInput("stream limits must be positive", field="max-stream-lookups")


class StreamGate:
    """Counts the streaming calls open now, in all and per caller."""

    def __init__(self, limits: StreamLimits):
        self.limits = limits
        self._lock = threading.Lock()
        self._open: dict[str, int] = {}

    def enter(self, caller: str) -> Callable[[], None]:
        """Admit one stream of `caller`; returns the function (idempotent) that lets it go. Busy when full."""
        with self._lock:
            if sum(self._open.values()) >= self.limits.max_streams:
                raise Busy(f"{self.limits.max_streams} streams are open on this server; retry later")
            if self._open.get(caller, 0) >= self.limits.max_streams_per_caller:
                raise Busy(f"{caller} has {self.limits.max_streams_per_caller} streams open; close one first")
            self._open[caller] = self._open.get(caller, 0) + 1
        done = threading.Event()

        def leave() -> None:
            with self._lock:
                if done.is_set():
                    return
                done.set()
                self._open[caller] -= 1
                if not self._open[caller]:
                    del self._open[caller]

        return leave


_END = object()


def bounded_requests(requests: Iterator[Any], limits: StreamLimits, take_token: Callable[[Any], None],
                     clock: Callable[[], float] = time.monotonic) -> Iterator[Any]:
    """The requests of a stream, ending it with Busy after `max_lookups` of them or `max_seconds` (also while
    waiting for the next one); `take_token(request)` is called for each and raises when the caller's rate is
    spent.

    grpc's request iterator blocks without a timeout, so a daemon thread reads it into a queue; when the call
    ends, grpc ends that iterator and the thread with it."""
    deadline = clock() + limits.max_seconds
    arrived: queue.Queue[Any] = queue.Queue()
    threading.Thread(target=_read, args=(requests, arrived, limits.max_lookups + 1), daemon=True,
                     name="stream-requests").start()
    for count in range(1, limits.max_lookups + 2):
        try:
            item = arrived.get(timeout=max(0.0, deadline - clock()))
        except queue.Empty:
            raise Busy(f"stream open longer than {limits.max_seconds:g} s; open a new one") from None
        if item is _END:
            return
        if isinstance(item, BaseException):
            raise item
        if count > limits.max_lookups:
            raise Busy(f"more than {limits.max_lookups} lookups in one stream; open a new one")
        take_token(item)
        yield item


def _read(requests: Iterator[Any], arrived: queue.Queue[Any], most: int) -> None:
    try:
        for count, request in enumerate(requests, 1):
            arrived.put(request)
            if count >= most:
                return
        arrived.put(_END)
    except BaseException as error:  # noqa: BLE001 — the call ended (cancelled by the client): handed over
        arrived.put(error)


def bounded_rounds(run_round: Callable[..., Any], max_rounds: int) -> Callable[..., Any]:
    """`run_round` refusing (Busy) to start while `max_rounds` of its calls are running."""
    if max_rounds < 1:
        raise InvalidInput(f"max rounds must be at least 1, got {max_rounds}", field="max-rounds")
    slots = threading.BoundedSemaphore(max_rounds)

    def run(*args: Any, **kwargs: Any) -> Any:
        if not slots.acquire(blocking=False):
            raise Busy(f"{max_rounds} round(s) already running on this server; submit again when one finishes")
        try:
            return run_round(*args, **kwargs)
        finally:
            slots.release()

    return run
