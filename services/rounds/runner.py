"""A round submitted over gRPC (the resolver's SubmitRound), run by the round pipeline: the `RunRound` the
composition root (services/serving.py) gives the resolver servicer."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

from silentcert.graph.errors import Forbidden
from silentcert.graph.store import GraphStore
from silentcert.services.resolver.batch import RoundEvent, RoundOutcome, RunRound
from silentcert.services.rounds.pipeline import run_round
from silentcert.services.rounds.progress import CallbackProgress
from silentcert.services.rounds.roundfile import load_round
from silentcert.services.security.round_paths import RoundRoots
from silentcert.services.settings import RoundSettings

DEFAULT_SPARK_MASTER = "local[*]"


def pipeline_runner(stores: list[GraphStore], roots: RoundRoots | None = None,
                    spark_master: str = DEFAULT_SPARK_MASTER) -> RunRound:
    """A RunRound over the round pipeline, publishing into the served stores.

    round.toml is parsed once, here, and the run uses that parse. With `roots`, every file it names and every path
    setting ([linkage] model_path, ...) must resolve inside them, checked before any input is opened. A submitted
    round cannot choose where its registry is shipped: `[linkage] spark_master` is refused, the server's is used."""

    def run(round_file: Path, out_dir: Path, emit: Callable[[RoundEvent], None]) -> RoundOutcome:
        spec = load_round(round_file, roots=roots.readable if roots is not None else None)
        if "spark_master" in spec.settings.get("linkage", {}):
            raise Forbidden("round_file: [linkage] spark_master is set by the server (`silentcert serve "
                            "--spark-master`), not by a submitted round file", field="round_file")
        settings = RoundSettings.of_round(spec)
        if roots is not None:
            roots.setting_paths(settings, RoundSettings())
        settings = dataclasses.replace(settings, linkage=dataclasses.replace(settings.linkage,
                                                                             spark_master=spark_master))
        progress = CallbackProgress(lambda event, stage, done, total, stats: emit(_event(event, stage, done, total,
                                                                                         stats)))
        summary = run_round(spec, out_dir, settings, stores, progress=progress)
        return RoundOutcome(summary.round_id, summary.out_dir, _counts(summary.stages), _figures(summary.stages))

    return run


def _event(event: str, stage: str, done: int, total: int | None, stats: dict[str, Any]) -> RoundEvent:
    figures = ", ".join(f"{k} {v}" for k, v in stats.items() if isinstance(v, (int, float, str)))
    return RoundEvent(stage, done, total or 0, f"{stage} {event}" + (f": {figures}" if figures else ""))


def _counts(stages: dict[str, dict[str, Any]]) -> dict[str, int]:
    return {f"{stage}.{key}": value for stage, stats in stages.items() for key, value in stats.items()
            if isinstance(value, int) and not isinstance(value, bool)}


def _figures(stages: dict[str, dict[str, Any]]) -> dict[str, float]:
    return {f"{stage}.{key}": value for stage, stats in stages.items() for key, value in stats.items()
            if isinstance(value, float)}
