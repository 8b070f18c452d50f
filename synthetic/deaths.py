"""Who died, when, and what the four death registers say about it.

Registers overlap, disagree on dates (cremation a few days later, late police registration,
village reports remembered loosely), miss some deaths entirely, and now and then record a
death that did not happen.
"""

from dataclasses import dataclass

import numpy as np

from silentcert.synthetic.events import Draws

SOURCES = ("police", "civil_affairs", "health", "village")
# coverage of deaths within the window, and of older deaths still in the registry
IN_WINDOW = {"police": 0.75, "civil_affairs": 0.60, "health": 0.55, "village": 0.35}
OLDER = {"police": 0.30, "civil_affairs": 0.10, "health": 0.10, "village": 0.20}


@dataclass
class Deaths:
    date: np.ndarray               # datetime64[D], NaT while alive
    unreported: np.ndarray         # bool: no register knows of the death
    false_source: np.ndarray       # int: index into SOURCES of a false record, -1 if none
    false_date: np.ndarray         # datetime64[D] of the false record


def draw_deaths(rng: np.random.Generator, age: np.ndarray, pensioners: int, as_of: np.datetime64) -> Deaths:
    """Gompertz-like mortality scaled so ~2.5% of pensioners die within the 12 months; ~0.4%
    died one to three years ago and are still in the registry."""
    n = len(age)
    q = 0.0006 * np.exp(0.088 * (age - 30))
    q = np.minimum(q * 0.025 / q[:pensioners].mean(), 0.6)
    died = rng.random(n) < q
    earlier = ~died & (rng.random(n) < 0.004)
    date = np.full(n, np.datetime64("NaT"), dtype="datetime64[D]")
    date[died] = as_of - rng.integers(0, 365, died.sum()).astype("timedelta64[D]")
    date[earlier] = as_of - rng.integers(366, 3 * 365, earlier.sum()).astype("timedelta64[D]")
    unreported = np.where(earlier, rng.random(n) < 0.40, rng.random(n) < 0.06) & (died | earlier)
    alive = np.isnat(date)
    false_pick = alive & (rng.random(n) < 0.0012)
    false_source = np.where(false_pick, rng.choice(4, size=n, p=[0.2, 0.1, 0.2, 0.5]), -1)
    false_date = as_of - rng.integers(5, 330, n).astype("timedelta64[D]")
    return Deaths(date=date, unreported=unreported, false_source=false_source,
                  false_date=np.where(false_pick, false_date, np.datetime64("NaT")))


def register_draws(rng: np.random.Generator, deaths: Deaths, as_of: np.datetime64) -> dict[str, Draws]:
    """The records each death register holds, with the date it reports."""
    dead = np.flatnonzero(~np.isnat(deaths.date) & ~deaths.unreported)
    older = deaths.date[dead] < as_of - np.timedelta64(365, "D")
    out = {}
    for k, source in enumerate(SOURCES):
        cover = np.where(older, OLDER[source], IN_WINDOW[source])
        who = dead[rng.random(len(dead)) < cover]
        reported = deaths.date[who] + _shift(rng, source, len(who))
        reported = np.minimum(reported, as_of)
        fake = np.flatnonzero(deaths.false_source == k)
        persons = np.concatenate([who, fake])
        days = np.concatenate([reported, deaths.false_date[fake]])
        false_tag = np.concatenate([np.zeros(len(who), bool), np.ones(len(fake), bool)])
        moment = days.astype("datetime64[s]") + rng.integers(0, 86400, len(days)).astype("timedelta64[s]")
        out[source] = Draws(person=persons, moment=moment, tags={"false_death": false_tag})
    return out


def _shift(rng: np.random.Generator, source: str, n: int) -> np.ndarray:
    """How far the reported date is from the true one, per register."""
    u = rng.random(n)
    if source == "police":
        days = np.where(u < 0.83, 0, np.where(u < 0.98, rng.integers(1, 31, n), rng.integers(30, 121, n)))
    elif source == "civil_affairs":
        days = np.where(u < 0.6, 0, rng.integers(1, 6, n))
    elif source == "village":
        sign = rng.choice([-1, 1], n)
        days = np.where(u < 0.5, 0, np.where(u < 0.9, sign * rng.integers(1, 11, n), sign * rng.integers(30, 121, n)))
    else:
        days = np.zeros(n, dtype=np.int64)
    return days.astype("timedelta64[D]")
