"""`silentcert serve --processes N`: N server processes on one port, the kernel spreading connections among them.
Neo4j only: the embedded store's file opens in one process.

One Python process answers calls under one GIL; on a machine with more cores than that process can use, several
processes bound with SO_REUSEPORT to the same address serve more calls. Each child is a fresh interpreter
(``spawn``: gRPC and the Neo4j driver must not cross a fork) that opens its own store connection and serves as a
one-process ``silentcert serve`` would. What stays per process:

- rate-limit buckets: a caller's connection lands in one process, so its limit is enforced there; a caller with
  connections in several processes gets up to N times its rate;
- the token file is read by each process (all notice a change on their next call);
- the access log is one file, appended by every process: each line is one ``write`` on an ``O_APPEND`` file, so
  lines never interleave.

The parent announces the port once every child listens, stops them all on SIGTERM / SIGINT (each gets its grace
period), and stops them all, exiting 1, when one of them dies.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import threading
from collections.abc import Sequence
from dataclasses import replace
from multiprocessing.process import BaseProcess
from queue import Empty

from silentcert.graph.connect import StoreSettings, open_store
from silentcert.graph.errors import InvalidInput
from silentcert.services.serving import ServeSettings, announce_serving, model_engines, serve
from silentcert.services.signals import on_signals

log = logging.getLogger(__name__)

START_TIMEOUT_S = 120.0


def serve_processes(settings: ServeSettings, store_settings: StoreSettings) -> int:
    """Run `settings.processes` servers on `settings.address` until a signal; 0 when stopped, 1 when one died."""
    if settings.address.rsplit(":", 1)[-1] in ("", "0"):
        raise InvalidInput(f"--processes {settings.processes} needs a fixed port, not {settings.address}",
                           field="processes")
    if not store_settings.uses_neo4j:
        raise InvalidInput(f"--processes {settings.processes} needs --neo4j: the embedded store file opens in one "
                           "process only", field="processes")
    ctx = mp.get_context("spawn")
    ready = ctx.Queue()
    one = replace(settings, processes=1, reuse_port=True)
    children = [ctx.Process(target=_child, args=(one, store_settings, ready), name=f"silentcert-serve-{i}")
                for i in range(settings.processes)]
    stop = threading.Event()
    restore = on_signals(lambda *_: stop.set())
    try:
        for child in children:
            child.start()
        listening = _wait_ready(children, ready, stop)
        if listening is None:
            return 1
        announce_serving(listening[1], listening[0], settings.processes)
        return _watch(children, stop)
    finally:
        _stop_all(children, settings.grace_seconds)
        restore()


def _child(settings: ServeSettings, store_settings: StoreSettings, ready: mp.Queue) -> None:
    engines = model_engines(settings)
    with open_store(store_settings) as store:
        serve(settings, [store], engines, announce=lambda running: ready.put((running.port, running.services)))


def _wait_ready(children: Sequence[BaseProcess], ready: mp.Queue,
                stop: threading.Event) -> tuple[int, tuple[str, ...]] | None:
    """(port, service names) once every child listens; None when one died first or a signal came."""
    answers: list[tuple[int, tuple[str, ...]]] = []
    while len(answers) < len(children) and not stop.is_set():
        try:
            answers.append(ready.get(timeout=0.5))
        except Empty:
            dead = [c.name for c in children if not c.is_alive()]
            if dead:
                log.error("server process %s exited before listening", ", ".join(dead))
                return None
    return None if stop.is_set() else answers[0]


def _watch(children: Sequence[BaseProcess], stop: threading.Event) -> int:
    while not stop.wait(0.5):
        dead = [c for c in children if not c.is_alive()]
        if dead:
            log.error("server process %s exited (code %s); stopping the others", dead[0].name, dead[0].exitcode)
            return 1
    return 0


def _stop_all(children: Sequence[BaseProcess], grace_seconds: float) -> None:
    """SIGTERM every live child (each stops gracefully), then SIGKILL what outlives its grace."""
    for child in children:
        if child.is_alive():
            child.terminate()
    for child in children:
        if child.pid is not None:
            child.join(grace_seconds + 10)
        if child.is_alive():
            child.kill()
            child.join(5)
