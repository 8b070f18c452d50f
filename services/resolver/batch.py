"""What the resolver's batch rpcs (SubmitRound, FetchRoundFile) are given, as plain types.

The servicer translates requests into calls of these; the composition root (services/serving.py) passes the round
pipeline's implementations in (services/rounds/runner.py, services/rounds/outputs.py), so the servicer imports
nothing of the batch pipeline.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class RoundEvent:
    """One progress event of a running round."""

    stage: str
    rows_done: int = 0
    rows_total: int = 0
    message: str = ""


@dataclass(frozen=True)
class RoundOutcome:
    """What a finished round reports back: its id, where it wrote, named counts and other figures."""

    round_id: str
    out_dir: Path
    counts: Mapping[str, int] = field(default_factory=dict)
    figures: Mapping[str, float] = field(default_factory=dict)


# (round_file, out_dir, emit) -> outcome; emit(RoundEvent) reports progress
RunRound = Callable[[Path, Path, Callable[[RoundEvent], None]], RoundOutcome]

# (out_dir, name) -> the path of a finished round's output file; InvalidInput for a name that is not an output,
# NotFound when the round has not written it
OutputFile = Callable[[Path, str], Path]
