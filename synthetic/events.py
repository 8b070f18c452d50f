"""Drawn records before rendering: who (person index, -1 for nobody) and when, plus truth tags."""

from dataclasses import dataclass, field

import numpy as np

NAT = np.datetime64("NaT", "s")


@dataclass
class Draws:
    person: np.ndarray                     # int64 index into People, -1 for nobody
    moment: np.ndarray                     # datetime64[s]
    tags: dict[str, np.ndarray] = field(default_factory=dict)  # bool truth tags per row

    def __len__(self) -> int:
        return len(self.person)

    @staticmethod
    def concat(parts: list["Draws"]) -> "Draws":
        names = sorted({t for p in parts for t in p.tags})
        return Draws(
            person=np.concatenate([p.person for p in parts]).astype(np.int64),
            moment=np.concatenate([p.moment.astype("datetime64[s]") for p in parts]),
            tags={t: np.concatenate([p.tags.get(t, np.zeros(len(p), bool)) for p in parts]) for t in names},
        )


def spread(rng: np.random.Generator, persons: np.ndarray, counts: np.ndarray,
           start: np.ndarray, end: np.ndarray) -> Draws:
    """``counts[i]`` events for ``persons[i]`` at uniform days in [start[i], end[i]) with a time of day.
    Rows whose span is empty are dropped."""
    span = (end - start).astype(np.int64)
    keep = (span > 0) & (counts > 0)
    persons, counts, start, span = persons[keep], counts[keep], start[keep], span[keep]
    who = np.repeat(persons, counts)
    offset = (rng.random(len(who)) * np.repeat(span, counts)).astype(np.int64)
    days = np.repeat(start, counts) + offset.astype("timedelta64[D]")
    seconds = rng.integers(6 * 3600, 22 * 3600, size=len(who)).astype("timedelta64[s]")
    return Draws(person=who, moment=days.astype("datetime64[s]") + seconds)
