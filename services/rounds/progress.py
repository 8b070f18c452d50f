"""Progress of a round: a bar per stage on a terminal, plain log lines elsewhere, callbacks for gRPC streams."""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, TextIO

log = logging.getLogger("silentcert.round")


class Progress(Protocol):
    def stage_started(self, stage: str) -> None: ...

    def advance(self, stage: str, done: int, total: int | None = None, unit: str = "rows") -> None: ...

    def stage_finished(self, stage: str, stats: dict[str, Any]) -> None: ...


class _Silent:
    def stage_started(self, stage: str) -> None:
        pass

    def advance(self, stage: str, done: int, total: int | None = None, unit: str = "rows") -> None:
        pass

    def stage_finished(self, stage: str, stats: dict[str, Any]) -> None:
        pass


silent_progress: Progress = _Silent()


@dataclass
class _StageClock:
    started: float
    last_print: float = 0.0


class ConsoleProgress:
    """A one-line bar per stage (rows, rate, ETA) on a terminal; a log line per step when not a terminal."""

    def __init__(self, stream: TextIO | None = None, interval: float = 0.2):
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.interval = interval
        self.clocks: dict[str, _StageClock] = {}

    def stage_started(self, stage: str) -> None:
        self.clocks[stage] = _StageClock(time.monotonic())
        if not self.tty:
            log.info("stage %s started", stage)

    def advance(self, stage: str, done: int, total: int | None = None, unit: str = "rows") -> None:
        clock = self.clocks.setdefault(stage, _StageClock(time.monotonic()))
        now = time.monotonic()
        if now - clock.last_print < self.interval and (total is None or done < total):
            return
        clock.last_print = now
        line = _progress_line(stage, done, total, unit, now - clock.started)
        if self.tty:
            self.stream.write("\r\x1b[2K" + line)
            self.stream.flush()
        else:
            log.info("%s", line)

    def stage_finished(self, stage: str, stats: dict[str, Any]) -> None:
        clock = self.clocks.pop(stage, _StageClock(time.monotonic()))
        seconds = time.monotonic() - clock.started
        line = f"{stage:<11} done in {seconds:6.1f}s  " + _stats_text(stats)
        if self.tty:
            self.stream.write("\r\x1b[2K" + line + "\n")
            self.stream.flush()
        else:
            log.info("%s", line)


class CallbackProgress(_Silent):
    """Forwards every event to one callable (the gRPC SubmitRound stream uses it)."""

    def __init__(self, emit: Callable[[str, str, int, int | None, dict[str, Any]], None]):
        self.emit = emit

    def stage_started(self, stage: str) -> None:
        self.emit("started", stage, 0, None, {})

    def advance(self, stage: str, done: int, total: int | None = None, unit: str = "rows") -> None:
        self.emit("progress", stage, done, total, {})

    def stage_finished(self, stage: str, stats: dict[str, Any]) -> None:
        self.emit("finished", stage, 0, None, stats)


def _progress_line(stage: str, done: int, total: int | None, unit: str, elapsed: float) -> str:
    rate = done / elapsed if elapsed > 0 else 0.0
    if not total:
        return f"{stage:<11} {done:>12,} {unit}  {rate:,.0f}/s"
    share = min(done / total, 1.0)
    bar = "█" * int(share * 30) + "·" * (30 - int(share * 30))
    eta = (total - done) / rate if rate > 0 else float("nan")
    return f"{stage:<11} {bar} {done:>12,}/{total:,} {unit}  {rate:,.0f}/s  ETA {eta:5.0f}s"


def _stats_text(stats: dict[str, Any]) -> str:
    shown = [f"{k}={v:,}" if isinstance(v, int) else f"{k}={v}" for k, v in stats.items()
             if isinstance(v, (int, float, str)) and k != "seconds"]
    return "  ".join(shown[:8])
