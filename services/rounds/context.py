"""What the stages of a round share: the working database's place and the context each stage receives.

A leaf of `services/rounds`: the pipeline, the stages, publish, the output lookup and the bulk publish import it,
and it imports none of them, so none of them imports another to learn where the round lives.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from silentcert.graph.store import GraphStore
from silentcert.services.rounds.progress import Progress
from silentcert.services.rounds.roundfile import RoundSpec
from silentcert.services.settings import RoundSettings

STATE_DIR = "state"  # under the round's output directory
DB_NAME = "round.duckdb"  # the working database, in STATE_DIR


@dataclass
class RoundContext:
    """What every stage receives: the working database, the round, its settings, where outputs go."""

    con: duckdb.DuckDBPyConnection
    spec: RoundSpec
    settings: RoundSettings
    out_dir: Path
    stores: list[GraphStore]
    progress: Progress

    @property
    def state_dir(self) -> Path:
        return self.out_dir / STATE_DIR


@dataclass(frozen=True)
class Stage:
    """A named step of the round: runs over the context, returns its statistics (recorded with it)."""

    name: str
    run: Callable[[RoundContext], dict[str, Any]]
