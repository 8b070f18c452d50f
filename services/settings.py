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


_UNITS = {"kb": 1000, "mb": 1000**2, "gb": 1000**3, "tb": 1000**4,
          "kib": 1024, "mib": 1024**2, "gib": 1024**3, "tib": 1024**4}


def memory_bytes(value: str) -> int:
    """The bytes a memory size stands for, as DuckDB reads it (KB, MB, GB: powers of 1000; KiB, MiB, GiB of 1024)."""
    match = MEMORY_SIZE.fullmatch(value)
    if match is None:
        raise ValueError(f"not a memory size: {value[:40]!r}")
    unit = value[match.end("number"):].strip().lower()
    return int(float(match["number"]) * _UNITS[unit])


def _memory_size(size: int) -> str:
    """`size` bytes (at least 1KiB) as a memory size MEMORY_SIZE accepts, rounded down to its unit."""
    for unit, factor in (("KiB", 1024), ("MiB", 1024**2), ("GiB", 1024**3)):
        if size // factor < 10**7:
            return f"{max(size // factor, 1)}{unit}"
    return f"{size // 1024**4}TiB"


@dataclass(frozen=True)
class ResourceSettings:
    """The round's memory (DuckDB spills to `state/spill` beyond it) and cores.

    `memory_limit` is one budget for every DuckDB the round process opens, so its peak memory stays near the
    budget plus what Python holds (docs/scaling.md): the working database has all of it, except while Splink's own
    DuckDB links (resolve) and while the embedded graph store writes (publish), when each takes its share out of it."""

    memory_limit: str = "3GB"
    threads: int = 0  # 0: one per core
    # DuckDB's dict+FSST string compression: off by default, because it once made writing the round's tables much
    # slower (a later A/B found no difference); on, the files are about a third the size, for rounds short of disk
    # (see docs/benchmarks.md, "String compression"). Applies to the embedded graph file `round run` opens too.
    compress_strings: bool = False
    # The working database's share while the graph stores are written: it only streams the round's tables out then
    # (at 1M pensioners no slower with 512MB than with the earlier 2GB, within run-to-run noise).
    publish_memory_limit: str = "512MB"
    # The embedded graph store's own DuckDB while the round writes it (its indexes are rebuilt in memory, so it
    # grows with the province); None: memory_limit less publish_memory_limit.
    store_memory_limit: str | None = None
    # Splink's own DuckDB while it trains and scores pairs (resolve); None: half of memory_limit, the working
    # database keeping the other half.
    linkage_memory_limit: str | None = None

    def __post_init__(self) -> None:
        memory_size(self.memory_limit, "memory_limit")
        memory_size(self.publish_memory_limit, "publish_memory_limit")
        if self.store_memory_limit is not None:
            memory_size(self.store_memory_limit, "store_memory_limit")
        elif memory_bytes(self.publish_memory_limit) >= memory_bytes(self.memory_limit):
            raise InvalidInput(f"publish_memory_limit ({self.publish_memory_limit}) must be less than memory_limit "
                               f"({self.memory_limit}), or store_memory_limit given: the embedded store's share is "
                               "the difference", field="publish_memory_limit")
        if self.linkage_memory_limit is not None:
            memory_size(self.linkage_memory_limit, "linkage_memory_limit")
            if memory_bytes(self.linkage_memory_limit) >= memory_bytes(self.memory_limit):
                raise InvalidInput(f"linkage_memory_limit ({self.linkage_memory_limit}) must be less than "
                                   f"memory_limit ({self.memory_limit}): it is taken out of it while Splink runs",
                                   field="linkage_memory_limit")
        if self.threads < 0:
            raise InvalidInput(f"threads must be 0 (one per core) or more, got {self.threads}", field="threads")

    @property
    def store_limit(self) -> str:
        """The embedded graph store's bound while the round writes it."""
        if self.store_memory_limit is not None:
            return self.store_memory_limit
        return _memory_size(memory_bytes(self.memory_limit) - memory_bytes(self.publish_memory_limit))

    @property
    def linkage_limit(self) -> str:
        """Splink's own DuckDB's bound (resolve)."""
        if self.linkage_memory_limit is not None:
            return self.linkage_memory_limit
        return _memory_size(memory_bytes(self.memory_limit) // 2)

    @property
    def linking_limit(self) -> str:
        """The working database's bound while Splink runs: memory_limit less Splink's share."""
        return _memory_size(memory_bytes(self.memory_limit) - memory_bytes(self.linkage_limit))


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
