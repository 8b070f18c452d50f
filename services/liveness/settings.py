"""Typed settings of the liveness stage: thresholds, windows and default likelihood ratios.

Built once by the caller (from the ``[liveness]`` table of round.toml) and passed down; nothing here reads the
environment. The meaning of every number is explained in docs/scoring.md.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from silentcert.graph.errors import InvalidInput

TEMPLATES_DIR = Path(__file__).parent / "templates"


@dataclass(frozen=True)
class SeenRates:
    """Prior belief about one weak source: P(seen | alive) and P(seen | dead) within the window."""

    alive: float
    dead: float

    def __post_init__(self) -> None:
        for name, value in (("alive", self.alive), ("dead", self.dead)):
            if not 0.0 < value < 1.0:
                raise InvalidInput(f"seen rate {name}={value} must lie strictly between 0 and 1", field=name)


@dataclass(frozen=True)
class LivenessSettings:
    """How evidence becomes a verdict and a certification period.

    Periods: ``period_months`` after the deciding evidence; ``expiring_days`` before the end the state is
    ``expiring``; ``grace_days`` after the end an overdue period becomes ``suspended``.
    Links: ``confident_link`` is the probability from which a strong or channel record certifies on its own;
    records linked below ``link_floor`` count for nothing (and death records below it set no cut-off).
    Weak model: ``prior_alive`` is P(alive) before any evidence; each weak source adds log-odds weighted by
    link probability and ``shared_discount`` for links through a shared identifier, capped at ``source_cap``
    full sightings; a source counts as seen from ``min_source_weight``; a weak certification dated D rests on the
    records dated on or after D and needs ``min_weak_sources`` seen sources and P(alive) >= ``certify_probability``,
    raised when needed so that at most ``max_dead_certified`` of the round's labelled dead would pass on their
    post-death records alone (see calibration.py).
    Reminders: besides everyone whose period is ``expiring``, a reminder goes up to ``early_reminder_days`` before
    the end to whom the lapse forecast gives at least ``early_reminder_probability`` (lapse_forecast.py).
    Ratios: defaults per source name (``default_rates``, else ``fallback_rates``) are shrunk towards with
    ``ratio_prior_weight`` pseudo-people; dead people count once they have been dead ``min_dead_exposure_days``
    and ``labelled_death_registers`` distinct registers confidently record the death.
    """

    period_months: int = 12
    expiring_days: int = 60
    grace_days: int = 90
    window_months: int = 12
    confident_link: float = 0.95
    link_floor: float = 0.5
    prior_alive: float = 0.95
    certify_probability: float = 0.99
    shared_discount: float = 0.5
    source_cap: float = 1.0
    min_source_weight: float = 0.5
    min_weak_sources: int = 2
    max_dead_certified: float = 0.0005
    ratio_prior_weight: float = 20.0
    min_dead_exposure_days: int = 30
    labelled_death_registers: int = 2
    fallback_rates: SeenRates = SeenRates(alive=0.6, dead=0.05)
    default_rates: dict[str, SeenRates] = field(default_factory=dict)
    templates_dir: Path = TEMPLATES_DIR
    early_reminder_days: int = 120
    early_reminder_probability: float = 0.5

    def __post_init__(self) -> None:
        self._check_positive("period_months", "window_months", "source_cap", "ratio_prior_weight",
                             "labelled_death_registers")
        self._check_unit_interval("confident_link", "link_floor", "shared_discount", "min_source_weight",
                                  "max_dead_certified", "early_reminder_probability")
        self._check_open_interval("prior_alive", "certify_probability")
        if self.link_floor > self.confident_link:
            raise InvalidInput("link_floor must not exceed confident_link", field="link_floor")
        if self.min_weak_sources < 2:
            raise InvalidInput("min_weak_sources must be at least 2: one source never certifies alone",
                               field="min_weak_sources")
        for name in ("expiring_days", "grace_days", "min_dead_exposure_days", "early_reminder_days"):
            if getattr(self, name) < 0:
                raise InvalidInput(f"{name} must not be negative", field=name)

    def _check_positive(self, *names: str) -> None:
        for name in names:
            if not getattr(self, name) > 0:
                raise InvalidInput(f"{name} must be positive, got {getattr(self, name)}", field=name)

    def _check_unit_interval(self, *names: str) -> None:
        for name in names:
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise InvalidInput(f"{name} must lie in [0, 1], got {getattr(self, name)}", field=name)

    def _check_open_interval(self, *names: str) -> None:
        for name in names:
            if not 0.0 < getattr(self, name) < 1.0:
                raise InvalidInput(f"{name} must lie strictly between 0 and 1, got {getattr(self, name)}",
                                   field=name)

    @property
    def prior_log_odds(self) -> float:
        return math.log(self.prior_alive / (1.0 - self.prior_alive))

    @property
    def certify_log_odds(self) -> float:
        return math.log(self.certify_probability / (1.0 - self.certify_probability))

    def rates_for(self, source: str) -> SeenRates:
        """The default seen rates of one source (its own entry, else the fallback)."""
        return self.default_rates.get(source, self.fallback_rates)

    @classmethod
    def from_dict(cls, table: dict[str, Any] | None) -> LivenessSettings:
        """Build from the ``[liveness]`` table of round.toml; unknown keys are an error naming the key.

        ``default_rates`` is a table of ``source = {alive = 0.7, dead = 0.05}``; ``fallback_rates`` one such pair.
        """
        table = dict(table or {})
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(table) - known)
        if unknown:
            raise InvalidInput(f"unknown [liveness] setting {unknown[0]!r}; known: {', '.join(sorted(known))}",
                               field=unknown[0])
        if "fallback_rates" in table:
            table["fallback_rates"] = _rates(table["fallback_rates"], "fallback_rates")
        if "default_rates" in table:
            table["default_rates"] = {str(k): _rates(v, f"default_rates.{k}")
                                      for k, v in dict(table["default_rates"]).items()}
        if "templates_dir" in table:
            table["templates_dir"] = Path(table["templates_dir"])
        return cls(**table)


def _rates(value: Any, where: str) -> SeenRates:
    if not isinstance(value, dict) or set(value) != {"alive", "dead"}:
        raise InvalidInput(f"[liveness] {where} must be a table with keys alive and dead", field=where)
    return SeenRates(alive=float(value["alive"]), dead=float(value["dead"]))
