"""A province over many months: who joins the registry, who dies and when each register hears of it, who changes
phone, card or county, and how the relatives of the dead keep using their identifiers, over a whole series.

The single-round generator draws one year before one as_of; a series draws the span from the first round's
evidence window to the last round's as_of once, so every record exists once and keeps its record_id and its
formatting in every round that carries it (synthetic.series).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from silentcert.synthetic import counties, phones
from silentcert.synthetic.deaths import IN_WINDOW, OLDER, Deaths, _shift
from silentcert.synthetic.deaths import SOURCES as DEATH_SOURCES
from silentcert.synthetic.events import Draws, spread
from silentcert.synthetic.evidence import MEAN_POST_DEATH_EVENTS, World, relatives_using
from silentcert.synthetic.population import People

YEAR = np.timedelta64(365, "D")
MONTH = np.timedelta64(30, "D")
JOIN_RATE = 0.004           # new pensioners a month, as a share of the first round's registry
LATE_REPORT = {"police": 0.04, "civil_affairs": 0.03, "health": 0.02, "village": 0.15}  # one register 1-6 months late
HIDDEN_DEATH = 0.15  # deaths the family keeps quiet for 1-6 months (every register hears of them late)
CHANGE_RATES = {"phone": 0.03, "card": 0.015, "county": 0.01}  # a year, among the living
REGISTRY_LEARNS = {"phone": 0.5, "card": 1.0, "county": 0.7}   # share of changes the agency's registry records
CHANGES = tuple(CHANGE_RATES)


@dataclass
class Span:
    """The days a series covers: from the first round's evidence window to the last round's as_of."""

    start: np.datetime64         # first round's as_of less a year
    first: np.datetime64         # first round's as_of
    last: np.datetime64          # last round's as_of

    @property
    def years(self) -> float:
        return float((self.last - self.start) / YEAR)


@dataclass
class Changes:
    """One change of phone, card or county per changing pensioner (index into People), from ``at`` on."""

    person: np.ndarray
    kind: np.ndarray             # index into CHANGES
    at: np.ndarray               # datetime64[D]
    registry_learns: np.ndarray  # bool: the registry carries the new value from ``at`` on
    alias: np.ndarray            # index of the person's row after the change in the extended People


def draw_joins(rng: np.random.Generator, people: People, first_registry: int, months: int,
               as_ofs: np.ndarray) -> np.ndarray:
    """Per pensioner, the round index from which they are in the registry (0 for the first round's registry).

    Joiners are the youngest pensioners (retiring into the pension), spread evenly over rounds 1..months-1."""
    join = np.zeros(people.pensioners, np.int64)
    joiners = people.pensioners - first_registry
    if joiners and months > 1:
        youngest = np.argsort(people.age[:people.pensioners], kind="stable")[:joiners]
        join[youngest] = 1 + rng.integers(0, months - 1, joiners)
    return join


def draw_deaths(rng: np.random.Generator, age: np.ndarray, pensioners: int, span: Span) -> Deaths:
    """Gompertz-like mortality (synthetic.deaths) over the whole span: ~2.5% of pensioners a year, plus ~0.4%
    who died one to three years before the first round and are still in the registry."""
    n = len(age)
    q = 0.0006 * np.exp(0.088 * (age - 30))
    q = np.minimum(q * 0.025 / q[:pensioners].mean(), 0.6)
    days = int((span.last - span.start) / np.timedelta64(1, "D"))
    died = rng.random(n) < 1 - (1 - q) ** span.years
    earlier = ~died & (rng.random(n) < 0.004)
    date = np.full(n, np.datetime64("NaT"), dtype="datetime64[D]")
    date[died] = span.last - rng.integers(0, days, died.sum()).astype("timedelta64[D]")
    date[earlier] = span.first - rng.integers(366, 3 * 365, earlier.sum()).astype("timedelta64[D]")
    unreported = np.where(earlier, rng.random(n) < 0.40, rng.random(n) < 0.06) & (died | earlier)
    alive = np.isnat(date)
    false_pick = alive & (rng.random(n) < 0.0012 * span.years)
    false_source = np.where(false_pick, rng.choice(4, size=n, p=[0.2, 0.1, 0.2, 0.5]), -1)
    false_date = span.last - rng.integers(5, days, n).astype("timedelta64[D]")
    return Deaths(date=date, unreported=unreported, false_source=false_source,
                  false_date=np.where(false_pick, false_date, np.datetime64("NaT")))


def register_draws(rng: np.random.Generator, deaths: Deaths, span: Span) -> dict[str, Draws]:
    """Each register's records with the date it reports and the tag ``lag``: whole months between that date and
    the month the record reaches the agency (late reports; deaths from before the series arrive within the first
    round's year)."""
    dead = np.flatnonzero(~np.isnat(deaths.date) & ~deaths.unreported)
    older = deaths.date[dead] < span.start
    hidden = np.where(rng.random(len(deaths.date)) < HIDDEN_DEATH, rng.integers(1, 7, len(deaths.date)), 0)
    out = {}
    for k, source in enumerate(DEATH_SOURCES):
        who = dead[rng.random(len(dead)) < np.where(older, OLDER[source], IN_WINDOW[source])]
        reported = np.minimum(deaths.date[who] + _shift(rng, source, len(who)), span.last)
        fake = np.flatnonzero(deaths.false_source == k)
        persons = np.concatenate([who, fake])
        days = np.concatenate([reported, deaths.false_date[fake]])
        lag = np.where(rng.random(len(days)) < LATE_REPORT[source], rng.integers(1, 7, len(days)), 0)
        lag = np.maximum(lag, hidden[persons])
        old = days < span.start  # reaches the agency some time in the first round's year
        arrive = span.start + rng.integers(0, int((span.first - span.start) / np.timedelta64(1, "D")), len(days))
        lag = np.where(old, np.ceil((arrive - days) / MONTH).astype(np.int64), lag)
        moment = days.astype("datetime64[s]") + rng.integers(0, 86400, len(days)).astype("timedelta64[s]")
        out[source] = Draws(person=persons, moment=moment, tags={
            "false_death": np.concatenate([np.zeros(len(who), bool), np.ones(len(fake), bool)]), "lag": lag})
    return out


def arrival(moment: np.ndarray, lag: np.ndarray) -> np.ndarray:
    """The day a register's record reaches the agency."""
    return moment.astype("datetime64[D]") + lag.astype(np.int64) * MONTH


def post_death_use(rng: np.random.Generator, people: People, deaths: Deaths, span: Span,
                   world: World) -> tuple[np.ndarray, dict[str, Draws]]:
    """Relatives keep using a dead person's card, phone or bank book from the death to the end of the series
    (synthetic.evidence.post_death_use over the series' span; events scale with the months of use)."""
    dead = ~np.isnat(deaths.date) & (deaths.date > span.start - YEAR)

    def draw(source: str, who: np.ndarray) -> Draws:
        start = np.maximum(deaths.date[who] + np.timedelta64(1, "D"), span.start)
        years = np.maximum((span.last - start) / YEAR, 0.0)  # type: ignore[operator]  # numpy: timedelta / timedelta is a float array
        counts = 1 + rng.poisson((MEAN_POST_DEATH_EVENTS[source] - 1) * np.maximum(years, 1.0), len(who))
        return spread(rng, who, counts, start, np.full(len(who), span.last))

    return relatives_using(rng, people, deaths, dead, world, draw)


def draw_changes(rng: np.random.Generator, people: People, deaths: Deaths, ring_of: np.ndarray,
                 span: Span) -> Changes:
    """Phone, card and county changes of living pensioners (not ring members, not couples sharing a line),
    dated within the series; each person changes one thing at most."""
    n = people.pensioners
    days = int((span.last - span.first) / np.timedelta64(1, "D"))
    years = days / 365
    has = {"phone": pc.is_valid(people.phone).to_numpy(zero_copy_only=False)[:n] & (people.couple_id[:n] < 0),
           "card": pc.is_valid(people.card_no).to_numpy(zero_copy_only=False)[:n], "county": np.ones(n, bool)}
    free = (ring_of[:n] < 0) & np.isnat(deaths.date[:n])
    u = rng.random(n)
    kind = np.full(n, -1, np.int64)
    edge = 0.0
    for k, name in enumerate(CHANGES):
        rate = CHANGE_RATES[name] * years
        kind[(u >= edge) & (u < edge + rate) & has[name] & free] = k
        edge += rate
    person = np.flatnonzero(kind >= 0) if days > 0 else np.array([], np.int64)
    at = span.first + 1 + rng.integers(0, max(days, 1), len(person)).astype("timedelta64[D]")
    learns = rng.random(len(person)) < np.array([REGISTRY_LEARNS[c] for c in CHANGES])[kind[person]]
    return Changes(person=person, kind=kind[person], at=at, registry_learns=learns,
                   alias=people.size + np.arange(len(person)))


def with_aliases(rng: np.random.Generator, people: People, changes: Changes) -> People:
    """People plus one row per change: the same person with the new phone, card or county."""
    idx = pa.array(np.concatenate([np.arange(people.size), changes.person]))
    ext = People(**{f: _take(getattr(people, f), idx) for f in people.__dataclass_fields__ if f != "pensioners"},
                 pensioners=people.pensioners)
    k = len(changes.person)
    new_phone = _replace(ext.phone, changes, "phone", phones.mobiles(rng, k))
    numbers = pc.utf8_lpad(pc.cast(pa.array(rng.integers(0, 10**8, k)), pa.string()), 8, padding="0")
    new_card = _replace(ext.card_no, changes, "card", pc.binary_join_element_wise("B", numbers, ""))
    county = ext.county_idx.copy()
    moved = changes.alias[changes.kind == CHANGES.index("county")]
    county[moved] = (county[moved] + 1 + rng.integers(0, len(counties.CODES) - 1, len(moved))) % len(counties.CODES)
    ext.phone, ext.card_no, ext.county_idx = new_phone, new_card, county
    return ext


def _take(value, idx: pa.Array):
    return value.take(idx) if isinstance(value, pa.Array) else value[idx.to_numpy()]


def _replace(column: pa.Array, changes: Changes, kind: str, values: pa.Array) -> pa.Array:
    """``column`` with change c's value ``values[c]`` on the alias rows of the changes of ``kind``."""
    mine = np.flatnonzero(changes.kind == CHANGES.index(kind))
    if not len(mine):
        return column
    mask = np.zeros(len(column), bool)
    source = np.zeros(len(column), np.int64)
    mask[changes.alias[mine]] = True
    source[changes.alias[mine]] = mine
    return pc.if_else(pa.array(mask), values.take(pa.array(source)), column)


def apply_changes(draws: Draws, changes: Changes) -> Draws:
    """Records made on or after a person's change carry the new phone, card or county (the alias row)."""
    alias = np.full(int(draws.person.max(initial=0)) + 1, -1, np.int64)
    since = np.full(len(alias), np.datetime64("NaT"), "datetime64[D]")
    inside = changes.person < len(alias)
    alias[changes.person[inside]] = changes.alias[inside]
    since[changes.person[inside]] = changes.at[inside]
    valid = draws.person >= 0
    who = np.where(valid, draws.person, 0)
    moved = valid & (alias[who] >= 0) & (draws.moment.astype("datetime64[D]") >= since[who])
    return Draws(person=np.where(moved, alias[who], draws.person), moment=draws.moment, tags=draws.tags)
