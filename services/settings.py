"""Typed settings of a round, read once by the caller (CLI or server) and passed down.

Each stage owns its settings dataclass (`LinkageSettings`, `LivenessSettings`, `DeathCheckSettings`); a round file
may override any field in its `[linkage]`, `[liveness]`, `[deathcheck]` or `[resources]` table. Unknown keys and values of the
wrong type are errors naming the key, not silent defaults. Values that reach DuckDB (memory sizes) are checked
against a pattern here, and settings naming the round's sources must name one of them: a round file is input from
whoever submits it, not trusted configuration.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from silentcert.graph.errors import InvalidInput, RoundFileError
from silentcert.services.deathcheck.settings import DeathCheckSettings
from silentcert.services.liveness.settings import LivenessSettings
from silentcert.services.resolver.settings import LinkageSettings
from silentcert.services.rounds.roundfile import RoundSpec

T = TypeVar("T")

# A DuckDB memory size: a positive number and a unit (1000^i or 1024^i), e.g. 4GB, 512MiB, 1.5 GB.
MEMORY_SIZE = re.compile(r"(?P<number>[0-9]{1,7}(?:\.[0-9]{1,3})?) ?(?:KB|MB|GB|TB|KiB|MiB|GiB|TiB)", re.IGNORECASE)


def memory_size(value: str, key: str) -> str:
    """`value` if it is a memory size DuckDB reads (MEMORY_SIZE); InvalidInput naming `key` otherwise."""
    match = MEMORY_SIZE.fullmatch(value) if isinstance(value, str) else None
    if match is None or float(match["number"]) <= 0:
        raise InvalidInput(f"{key} must be a memory size like 4GB or 512MiB, got {str(value)[:40]!r}", field=key)
    return value


@dataclass(frozen=True)
class ResourceSettings:
    """Bounds of the round's working database (DuckDB spills to `state/spill` beyond the memory limit)."""

    memory_limit: str = "4GB"
    threads: int = 0  # 0: one per core
    # DuckDB's dict+FSST string compression: off by default, because it once made writing the round's tables much
    # slower (a later A/B found no difference); on, the files are about a third the size, for rounds short of disk
    # (see docs/benchmarks.md, "String compression"). Applies to the embedded graph file `round run` opens too.
    compress_strings: bool = False
    # The working database's bound while the graph stores are written: the embedded store's own connection holds
    # up to 2GB (its default) besides, so the process stays near memory_limit (peak RSS: docs/benchmarks.md,
    # "Whole round, embedded store").
    publish_memory_limit: str = "2GB"
    # The embedded graph store's own connection (a second DuckDB) while the round writes it; None: the store's
    # default (SILENTCERT_GRAPH_MEMORY_LIMIT, else 2GB). It has to grow with the province: the default runs out at
    # millions of pensioners (the settings each size needed: docs/benchmarks.md, "Whole round, embedded store").
    store_memory_limit: str | None = None

    def __post_init__(self) -> None:
        memory_size(self.memory_limit, "memory_limit")
        memory_size(self.publish_memory_limit, "publish_memory_limit")
        if self.store_memory_limit is not None:
            memory_size(self.store_memory_limit, "store_memory_limit")
        if self.threads < 0:
            raise InvalidInput(f"threads must be 0 (one per core) or more, got {self.threads}", field="threads")


@dataclass(frozen=True)
class RoundSettings:
    """Everything a round's stages can be tuned with."""

    resources: ResourceSettings = field(default_factory=ResourceSettings)
    linkage: LinkageSettings = field(default_factory=LinkageSettings)
    liveness: LivenessSettings = field(default_factory=LivenessSettings)
    deathcheck: DeathCheckSettings = field(default_factory=DeathCheckSettings)

    @classmethod
    def from_tables(cls, tables: dict[str, dict[str, Any]], base: Path | None = None) -> RoundSettings:
        """Build from the `[linkage]`, `[liveness]`, `[deathcheck]` tables of a round file."""
        return cls(
            resources=dataclass_from_table(ResourceSettings, tables.get("resources", {}), "resources", base),
            linkage=dataclass_from_table(LinkageSettings, tables.get("linkage", {}), "linkage", base),
            liveness=dataclass_from_table(LivenessSettings, tables.get("liveness", {}), "liveness", base),
            deathcheck=dataclass_from_table(DeathCheckSettings, tables.get("deathcheck", {}), "deathcheck", base),
        )

    @classmethod
    def of_round(cls, spec: RoundSpec) -> RoundSettings:
        """The settings of a parsed round (paths relative to its round.toml), checked against the round itself."""
        settings = cls.from_tables(spec.settings, base=spec.path.parent)
        _check_death_sources(spec, settings.deathcheck)
        return settings


def _check_death_sources(spec: RoundSpec, deathcheck: DeathCheckSettings) -> None:
    """Each entry of `decisive_sources` / `dating_sources` given in the round file names one of its death sources
    (DeathCheckSettings' rule: the name itself or a prefix before "_"); the default `dating_sources` may name none."""
    deaths = sorted(s.name for s in spec.sources if s.kind == "death")
    given = spec.settings.get("deathcheck", {})
    for key in ("decisive_sources", "dating_sources"):
        for entry in getattr(deathcheck, key) if key in given else ():
            if not isinstance(entry, str) or not any(
                    DeathCheckSettings(decisive_sources=(entry,)).is_decisive(name) for name in deaths):
                raise RoundFileError(f"{spec.path}: [deathcheck] {key} entry {str(entry)[:60]!r} names no death "
                                     f"source of this round ({', '.join(deaths) or 'none'})")


def dataclass_from_table(cls: type[T], table: dict[str, Any], section: str, base: Path | None = None) -> T:
    """Instantiate dataclass `cls` from a TOML table, converting values to the field types."""
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(table) - names)
    if unknown:
        raise RoundFileError(f"[{section}] has unknown key(s) {unknown}; known: {', '.join(sorted(names))}")
    values = {key: _convert(value, hints[key], f"[{section}] {key}", base) for key, value in table.items()}
    try:
        return cls(**values)
    except InvalidInput as exc:  # a dataclass's own check (a range, a pattern) names the key; say where it is
        if isinstance(exc, RoundFileError):
            raise
        raise RoundFileError(f"[{section}] {exc}") from None


def _convert(value: Any, hint: Any, where: str, base: Path | None) -> Any:
    options = [a for a in typing.get_args(hint) if a is not type(None)] if _is_optional(hint) else [hint]
    target = options[0] if options else hint
    origin = typing.get_origin(target) or target
    try:
        if origin is Path:
            path = Path(value)
            return base / path if base is not None and not path.is_absolute() else path
        if origin is tuple:
            return tuple(value)
        if origin is dict:
            return dict(value)
        if origin is float:  # a number, never text: some reach SQL
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                return float(value)
            raise TypeError
        if origin is dt.date and isinstance(value, str):
            return dt.date.fromisoformat(value)
        if origin in (int, str, bool) and not isinstance(value, origin):
            raise TypeError
        return value
    except (TypeError, ValueError):
        raise RoundFileError(f"{where} must be of type {getattr(target, '__name__', target)}, got {value!r}") from None


def _is_optional(hint: Any) -> bool:
    return type(None) in typing.get_args(hint)
