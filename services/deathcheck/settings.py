"""Typed settings of the death check, built once by the caller (the `[deathcheck]` table of round.toml)."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from silentcert.graph.errors import InvalidInput


@dataclass(frozen=True)
class DeathCheckSettings:
    """How death reports are merged and which conflicts become flags.

    A death is *confirmed* when at least ``min_agreeing_sources`` distinct registers report dates within
    ``date_tolerance_days`` of each other (two by default: police counts as one), or when a source named in
    ``decisive_sources`` agrees. ``decisive_sources`` is empty by default, so a lone report of any register goes to
    review; ``decisive_sources = ["police"]`` restores "police alone confirms" (faster, but a false police record
    then ends a living person's pension with nobody looking). A source matches an entry when its name equals the
    entry or starts with ``entry + "_"``, so ``police`` covers ``police_deaths``; ``dating_sources`` (matched the
    same way) give the death date when they agree (merge.py explains why).
    """

    decisive_sources: tuple[str, ...] = ()
    min_agreeing_sources: int = 2
    date_tolerance_days: int = 31
    dating_sources: tuple[str, ...] = ("health",)  # the medical death certificate: dated at the death itself
    payment_day: int = 15  # pensions are paid on this day of every month
    home_visit_age: int = 95
    home_visit_months: int = 18  # no evidence for this long -> home visit
    ring_min_size: int = 3
    ring_min_score: float = 0.25  # a ring with no reported death, no post-death use and one county needs this
    family_max_size: int = 4  # a shared identifier among at most this many related people is a family's
    couple_max_age_gap: int = 15  # a man and a woman in a family of 3-4 (two holders are a couple at any gap)
    family_max_age_gap: int = 40  # same surname and county within this many years: one family
    duplicate_months: int = 12  # months paid double counted back from the round date (duplicates.py)

    def __post_init__(self) -> None:
        if not 1 <= self.payment_day <= 28:
            raise InvalidInput("payment_day must lie in 1..28 (a day every month has)", field="payment_day")
        if self.min_agreeing_sources < 1:
            raise InvalidInput("min_agreeing_sources must be at least 1", field="min_agreeing_sources")
        if self.date_tolerance_days < 0:
            raise InvalidInput("date_tolerance_days cannot be negative", field="date_tolerance_days")
        if not 0.0 <= self.ring_min_score <= 1.0:
            raise InvalidInput("ring_min_score must lie in 0..1 (ring scores do)", field="ring_min_score")
        if self.ring_min_size < 2:
            raise InvalidInput("ring_min_size must be at least 2", field="ring_min_size")
        if self.duplicate_months < 1:
            raise InvalidInput("duplicate_months must be at least 1", field="duplicate_months")
        if not 2 <= self.family_max_size <= 4:
            raise InvalidInput("family_max_size must lie in 2..4", field="family_max_size")

    @classmethod
    def from_dict(cls, table: dict[str, Any]) -> DeathCheckSettings:
        """Build from the `[deathcheck]` table; unknown keys are an error naming them."""
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(table) - names)
        if unknown:
            raise InvalidInput(f"[deathcheck] has unknown key(s) {unknown}; known: {', '.join(sorted(names))}")
        values: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in table.items()}
        return cls(**values)

    def is_decisive(self, source: str) -> bool:
        return _matches(source, self.decisive_sources)

    def is_dating(self, source: str) -> bool:
        return _matches(source, self.dating_sources)


def _matches(source: str, entries: tuple[str, ...]) -> bool:
    return any(source == s or source.startswith(s + "_") for s in entries)
