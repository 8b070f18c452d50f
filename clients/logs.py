"""Where the command line's log records go.

The console shows this project's own records (progress, warnings an operator should act on); libraries' records
(Splink's training narration, the drivers', Python warnings) go only to a log file beside the round's outputs, so a
normal run prints progress and a summary. A command that writes no round (`serve`) has no such file: libraries'
warnings and errors stay on its console. `-v` sends everything, at debug level, to the console too.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

LOG_FILE = "silentcert.log"
OWN_PACKAGES = frozenset({"silentcert", "benchmarks"})
_FILE_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
_OURS = "_silentcert_handler"  # marks the handlers this module added


class _OwnRecords(logging.Filter):
    """Passes this project's records and a library's errors; a library's warnings too while no log file takes
    them (a command without an output directory, such as `serve`)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name.split(".", 1)[0] in OWN_PACKAGES or record.levelno >= logging.ERROR:
            return True
        return record.levelno >= logging.WARNING and not _has_log_file(logging.getLogger())


class _ConsoleFormatter(logging.Formatter):
    """A time and the message; warnings and errors also say their level and where they come from."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(message)s", datefmt="%H:%M:%S")
        self._loud = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s", datefmt="%H:%M:%S")

    def format(self, record: logging.LogRecord) -> str:
        return self._loud.format(record) if record.levelno >= logging.WARNING else super().format(record)


def configure(verbose: bool) -> None:
    """The console handler, once per process (`silentcert` calls it in main)."""
    root = logging.getLogger()
    _remove_ours(root, logging.StreamHandler)  # main() called again in one process (tests) replaces, not adds
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    console = logging.StreamHandler(sys.stderr)
    setattr(console, _OURS, True)
    if verbose:
        console.setFormatter(logging.Formatter(_FILE_FORMAT))
    else:
        console.setFormatter(_ConsoleFormatter())
        console.addFilter(_OwnRecords())
    root.addHandler(console)
    logging.captureWarnings(True)  # a library's DeprecationWarning is chatter too: to the file


def log_to_file(directory: Path) -> Path:
    """Also write every record (libraries' too) to `directory/silentcert.log`; returns its path."""
    directory.mkdir(parents=True, exist_ok=True)
    path = (directory / LOG_FILE).resolve()
    root = logging.getLogger()
    if not any(isinstance(h, logging.FileHandler) and Path(h.baseFilename) == path for h in root.handlers):
        _remove_ours(root, logging.FileHandler)  # one log file a process: the round's
        handler = logging.FileHandler(path, encoding="utf-8")
        handler.setFormatter(logging.Formatter(_FILE_FORMAT))
        setattr(handler, _OURS, True)
        root.addHandler(handler)
    return path


def _has_log_file(root: logging.Logger) -> bool:
    return any(getattr(h, _OURS, False) and isinstance(h, logging.FileHandler) for h in root.handlers)


def _remove_ours(root: logging.Logger, kind: type[logging.Handler]) -> None:
    for handler in [h for h in root.handlers if getattr(h, _OURS, False) and type(h) is kind]:
        root.removeHandler(handler)
        handler.close()
