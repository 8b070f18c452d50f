"""Signal handling of the server processes: SIGTERM or SIGINT asks a server to stop gracefully."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from typing import Any


def on_signals(handler: Callable[..., Any]) -> Callable[[], None]:
    """Install `handler` for SIGTERM and SIGINT (main thread only); returns a function restoring the old ones."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    old = {sig: signal.signal(sig, handler) for sig in (signal.SIGTERM, signal.SIGINT)}

    def restore() -> None:
        for sig, previous in old.items():
            signal.signal(sig, previous)

    return restore


def wait_until_set(event: threading.Event, poll_seconds: float = 0.5) -> None:
    """Block the main thread until `event` is set by a handler of on_signals. A wait without a timeout can miss the
    signal: the kernel may deliver it to another thread (DuckDB's, grpc's, a warming's), and Python runs the handler
    in the main thread only once that thread wakes. A timed wait wakes it to run the handler."""
    while not event.wait(poll_seconds):
        pass
