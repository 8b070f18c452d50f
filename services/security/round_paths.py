"""Where batch rounds may read and write on the server.

SubmitRound and FetchRoundFile name paths on the server's file system. Each one must resolve, with ``..`` and every
symlink followed (``os.path.realpath``), inside the configured roots, or the call is refused with
:class:`~graph.errors.Forbidden` (PERMISSION_DENIED, the trailer names the field):

    round_file, and every file round.toml names        inside an input root or the output root
    (registry, sources, [linkage] model_path, ...)
    out_dir, and [linkage] save_model_path              inside the output root
    the file FetchRoundFile serves                     inside its out_dir, itself inside the output root

A relative path in a request is taken relative to the first input root (round_file) or the output root (out_dir),
so a batch client can say ``2021-10/round.toml --out out/2021-10``. Without any root the batch rpcs are refused:
`silentcert serve` only defaults to the current directory under ``--insecure-dev``.

The check is made when the call arrives; a symlink swapped in afterwards by someone who can write inside a root
is not caught. Keep the roots writable only by the service account (docs/security.md).
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from silentcert.graph.errors import Forbidden

NO_ROOTS = ("this server has no --rounds-root: batch rounds are disabled "
            "(start `silentcert serve --rounds-root DIR`)")


@dataclass(frozen=True)
class RoundRoots:
    """The directories rounds may be read from (``inputs``) and written to (``output``); resolved at creation."""

    inputs: tuple[Path, ...] = ()
    output: Path | None = None

    @classmethod
    def of(cls, *inputs: str | Path, output: str | Path | None = None) -> RoundRoots:
        """Roots from configured paths; the output root defaults to the first input root."""
        resolved = tuple(_real(Path(p)) for p in inputs)
        out = _real(Path(output)) if output is not None else (resolved[0] if resolved else None)
        return cls(resolved, out)

    @property
    def configured(self) -> bool:
        return bool(self.inputs) or self.output is not None

    @property
    def readable(self) -> tuple[Path, ...]:
        return self.inputs + ((self.output,) if self.output is not None else ())

    def round_file(self, requested: str) -> Path:
        """The resolved round.toml (or round directory) of a request; Forbidden outside the roots."""
        self._require()
        base = self.inputs[0] if self.inputs else self.output
        return _inside(_anchor(requested, base), self.readable, "round_file")

    def out_dir(self, requested: str) -> Path:
        """The resolved output directory of a request; Forbidden outside the output root."""
        self._require()
        if self.output is None:
            raise Forbidden("this server has no output root for rounds (--rounds-out)", field="out_dir")
        return _inside(_anchor(requested, self.output), (self.output,), "out_dir")

    def output_file(self, out_dir: Path, path: Path) -> Path:
        """`path` (an output file of `out_dir`) resolved; Forbidden when a symlink leads it out of `out_dir`."""
        return _inside(path, (_real(out_dir),), "name")

    def setting_paths(self, settings: Any, defaults: Any) -> None:
        """Refuse path settings of a round file ([linkage] model_path, ...) that lead outside the roots.

        `settings` and `defaults` are RoundSettings; a path left at its default (the package's templates) is fine."""
        for section, key, value in _changed_paths(settings, defaults):
            writes = key.startswith("save_")
            roots = (self.output,) if writes and self.output else self.readable
            _inside(value, roots, "round_file", f"[{section}] {key}")

    def _require(self) -> None:
        if not self.configured:
            raise Forbidden(NO_ROOTS, field="round_file")


def _real(path: Path) -> Path:
    return Path(os.path.realpath(path))


def _anchor(requested: str, base: Path | None) -> Path:
    path = Path(requested)
    return path if path.is_absolute() or base is None else base / path


def _inside(path: Path, roots: tuple[Path, ...], field: str, what: str | None = None) -> Path:
    """`path` resolved, if it is one of `roots` or below one; Forbidden naming `field` otherwise."""
    try:
        real = _real(path)
    except (OSError, ValueError):
        raise Forbidden(f"{field}: {what or 'path'} is not a usable path", field=field) from None
    if any(real == root or real.is_relative_to(root) for root in roots):
        return real
    shown = what or repr(str(path)[:200])
    raise Forbidden(f"{field}: {shown} is outside the rounds root(s) of this server", field=field)


def _changed_paths(settings: Any, defaults: Any) -> list[tuple[str, str, Path]]:
    found = []
    for section in dataclasses.fields(settings):
        current, default = getattr(settings, section.name), getattr(defaults, section.name)
        for item in dataclasses.fields(current):
            value = getattr(current, item.name)
            if isinstance(value, Path) and value != getattr(default, item.name):
                found.append((section.name, item.name, value))
    return found
