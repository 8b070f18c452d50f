"""Who shows up in which evidence source, how often and when.

Every person gets a segment: ``strong`` (at least one strong source), ``weak_only`` or ``none``
(very old people mostly). Dead people leave records only before death, except where relatives
keep using their card, phone or bank account.
"""

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pyarrow.compute as pc

from silentcert.synthetic.deaths import Deaths
from silentcert.synthetic.events import Draws, spread
from silentcert.synthetic.population import People

SEGMENTS = ("strong", "weak_only", "none")


@dataclass(frozen=True)
class Activity:
    source: str
    kind: str            # strong | weak
    coverage: float      # share of people in a segment that uses the source
    old_factor: float    # coverage multiplier for people over 80
    mean_events: float   # events per covered person per year
    needs: str = ""      # "phone" or "card": only people who have one


ACTIVITIES = (
    Activity("vaccination", "strong", 0.50, 0.7, 1.4),
    Activity("health_code", "strong", 0.42, 0.4, 4.0),
    Activity("inpatient", "strong", 0.12, 1.8, 1.3),
    Activity("bus_card_check", "strong", 0.35, 0.6, 1.0, needs="card"),
    Activity("ministry_travel", "strong", 0.22, 0.3, 2.0),
    Activity("card_spending", "weak", 0.50, 0.7, 4.0, needs="card"),
    Activity("outpatient", "weak", 0.45, 1.2, 2.5),
    Activity("telecom", "weak", 0.65, 0.8, 3.0, needs="phone"),
    Activity("bus_rides", "weak", 0.30, 0.5, 4.0, needs="card"),
    Activity("bank_counter", "weak", 0.25, 1.0, 1.8),
)


RELATIVE_SOURCES = ("card_spending", "telecom", "bus_rides", "bank_counter")
MAX_RELATIVE_SOURCES = 4
MEAN_POST_DEATH_EVENTS = {"card_spending": 5.0, "telecom": 4.0, "bus_rides": 3.0, "bank_counter": 2.0,
                          "outpatient": 2.0}


@dataclass(frozen=True)
class World:
    """How relatives behave after a death, and the evidence mix: the knobs of ``silentcert generate``.

    ``relatives`` is the share of the recently dead whose relatives keep using their identifiers; each such family
    uses every source of ``relative_sources`` with probability ``per_source``, at most ``max_sources`` of them
    (0 turns relatives' use off). ``unreported`` is the chance that a death relatives keep using is kept out of
    every register (None: the same as any other death). ``weak_only`` is the share of people whose only evidence
    in life is weak (the oldest more often leave no trace at all, whatever the mix)."""

    relatives: float = 0.25
    relative_sources: tuple[str, ...] = RELATIVE_SOURCES
    per_source: float = 0.6
    max_sources: int = 4
    unreported: float | None = None
    weak_only: float = 0.04
    name: str = "default"

    def __post_init__(self) -> None:
        for label, value in (("relatives", self.relatives), ("per_source", self.per_source),
                             ("weak_only", self.weak_only)) + ((("unreported", self.unreported),)
                                                               if self.unreported is not None else ()):
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"world {label} must lie in [0, 1], got {value}")
        unknown = [s for s in self.relative_sources if s not in MEAN_POST_DEATH_EVENTS]
        if unknown:
            raise ValueError(f"relatives cannot use source {unknown[0]!r}; weak sources: "
                             f"{', '.join(MEAN_POST_DEATH_EVENTS)}")
        if not 0 <= self.max_sources <= MAX_RELATIVE_SOURCES:
            raise ValueError(f"max_sources must lie in 0..{MAX_RELATIVE_SOURCES}, got {self.max_sources}")


# Two contrasting worlds for benchmarks: few relatives using one source, and relatives who keep using up to four of
# the deceased's sources (and more often leave the death unreported). "default" is the generator as it always was.
WORLDS = {
    "default": World(),
    "light": World(relatives=0.10, relative_sources=("card_spending",), per_source=1.0, max_sources=1, name="light"),
    "heavy": World(relatives=0.50, per_source=0.85, max_sources=4, unreported=0.12, weak_only=0.06, name="heavy"),
}


def draw_segments(rng: np.random.Generator, age: np.ndarray, weak_only: float = 0.04) -> np.ndarray:
    """0 strong, 1 weak_only, 2 none; the very old far more often leave no trace."""
    u = rng.random(len(age))
    none_p = np.where(age > 90, 0.35, np.where(age > 80, 0.10, 0.045))
    return np.where(u < none_p, 2, np.where(u < none_p + weak_only, 1, 0)).astype(np.int8)


def eligible(people: People, activity: Activity) -> np.ndarray:
    """Who can use the activity's source at all (has a card, or holds their own phone line)."""
    if activity.needs == "card":
        return pc.is_valid(people.card_no).to_numpy(zero_copy_only=False)
    if activity.needs == "phone":
        owner = np.ones(people.size, bool)  # a shared family phone is used by its first holder
        has = pc.is_valid(people.phone).to_numpy(zero_copy_only=False)
        owner[people.couple_id >= 0] = _first_of_couple(people.couple_id)[people.couple_id >= 0]
        return has & owner
    return np.ones(people.size, bool)


def _first_of_couple(couple_id: np.ndarray) -> np.ndarray:
    first = np.zeros(len(couple_id), bool)
    members = np.flatnonzero(couple_id >= 0)
    _, pos = np.unique(couple_id[members], return_index=True)
    first[members[pos]] = True
    return first


def coverage(rng: np.random.Generator, people: People, segment: np.ndarray) -> dict[str, np.ndarray]:
    """Per source, a bool mask of who uses it; every strong-segment person gets one strong
    source and every weak_only person one weak source."""
    cover = {}
    for a in ACTIVITIES:
        p = a.coverage * np.where(people.age > 80, a.old_factor, 1.0)
        allowed = (segment == 0) if a.kind == "strong" else (segment < 2)
        cover[a.source] = allowed & eligible(people, a) & (rng.random(people.size) < p)
    for kind, seg in (("strong", 0), ("weak", 1)):
        names = [a.source for a in ACTIVITIES if a.kind == kind and not a.needs]
        lacking = np.flatnonzero((segment == seg) & ~np.any([cover[s] for s in cover if _kind(s) == kind], axis=0))
        pick = rng.integers(0, len(names), len(lacking))
        for i, s in enumerate(names):
            cover[s][lacking[pick == i]] = True
    return cover


def _kind(source: str) -> str:
    return next(a.kind for a in ACTIVITIES if a.source == source)


def activity_draws(rng: np.random.Generator, people: People, deaths: Deaths, cover: dict[str, np.ndarray],
                   as_of: np.datetime64) -> dict[str, Draws]:
    """Events of living use, dated inside the 12 months (3% spill up to two months earlier),
    ending at death."""
    window = as_of - np.timedelta64(365, "D")
    end_all = np.where(np.isnat(deaths.date), as_of + np.timedelta64(1, "D"), deaths.date)
    out = {}
    for a in ACTIVITIES:
        who = np.flatnonzero(cover[a.source])
        counts = 1 + rng.poisson(a.mean_events - 1, len(who))
        start = np.where(rng.random(len(who)) < 0.03, window - np.timedelta64(60, "D"), window)
        out[a.source] = spread(rng, who, counts, start, end_all[who])
    return out


def before_death_admissions(rng: np.random.Generator, deaths: Deaths, as_of: np.datetime64) -> Draws:
    """40% of people dying in the window were admitted to hospital in their last month."""
    window = as_of - np.timedelta64(365, "D")
    dying = np.flatnonzero((deaths.date >= window) & (rng.random(len(deaths.date)) < 0.4))
    start = deaths.date[dying] - rng.integers(1, 31, len(dying)).astype("timedelta64[D]")
    return spread(rng, dying, np.ones(len(dying), np.int64), np.maximum(start, window), deaths.date[dying])


def post_death_use(rng: np.random.Generator, people: People, deaths: Deaths, as_of: np.datetime64,
                   world: World = World()) -> tuple[np.ndarray, dict[str, Draws]]:
    """Relatives keep using a dead person's card, phone or bank book: weak events after death.

    Sets ``deaths.unreported`` for the users when the world says such deaths go unreported more often (call it
    before the registers are drawn)."""
    window = as_of - np.timedelta64(365, "D")
    dead = ~np.isnat(deaths.date) & (deaths.date > window - np.timedelta64(365, "D"))

    def draw(source: str, who: np.ndarray) -> Draws:
        start = np.maximum(deaths.date[who] + np.timedelta64(1, "D"), window)
        mean = MEAN_POST_DEATH_EVENTS[source]
        return spread(rng, who, 1 + rng.poisson(mean - 1, len(who)), start, np.full(len(who), as_of))

    return relatives_using(rng, people, deaths, dead, world, draw)


def relatives_using(rng: np.random.Generator, people: People, deaths: Deaths, dead: np.ndarray, world: World,
                    draw: Callable[[str, np.ndarray], Draws]) -> tuple[np.ndarray, dict[str, Draws]]:
    """Which of the ``dead`` have a relative using their things, source by source within the world's shares and
    caps, and that use's events: ``draw(source, users)`` (tagged ``post_death`` here). The single round and the
    series (synthetic.timeline) differ only in the span ``draw`` spreads the events over."""
    users = dead & (rng.random(people.size) < world.relatives)
    picked = np.zeros(people.size, np.int64)
    out = {}
    for source in world.relative_sources:
        a = next(x for x in ACTIVITIES if x.source == source)
        ok = eligible(people, a)
        if a.needs == "phone":  # a couple's line after one spouse dies is the survivor's own phone, not misuse
            ok &= people.couple_id < 0
        use = users & ok & (rng.random(people.size) < world.per_source) & (picked < world.max_sources)
        picked += use
        d = draw(source, np.flatnonzero(use))
        d.tags["post_death"] = np.ones(len(d), bool)
        out[source] = d
    if world.unreported is not None:
        used = users & (picked > 0)
        deaths.unreported[used] = rng.random(int(used.sum())) < world.unreported
    return users, out
