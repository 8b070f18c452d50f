"""The face-recognition app and the on-site counter: how people certify when the data is silent."""

import numpy as np

from silentcert.synthetic.events import Draws, spread


def face_draws(rng: np.random.Generator, segment: np.ndarray, death_date: np.ndarray, pensioners: int,
               post_death_users: np.ndarray, as_of: np.datetime64) -> Draws:
    """~7% of pensioners try the face app; 8% of attempts fail and most of those retry and pass.
    Some relatives of the dead try it too and fail."""
    window = as_of - np.timedelta64(365, "D")
    seg = segment[:pensioners]
    alive = np.isnat(death_date[:pensioners])
    p = np.select([seg == 2, seg == 1], [0.60, 0.50], 0.012)
    who = np.flatnonzero(alive & (rng.random(pensioners) < p))
    first = spread(rng, who, np.ones(len(who), np.int64), np.full(len(who), window), np.full(len(who), as_of + 1))
    failed = rng.random(len(first)) < 0.08
    again = failed & (rng.random(len(first)) < 0.7)
    retry_who = first.person[again]
    retry_from = first.moment[again].astype("datetime64[D]") + np.timedelta64(1, "D")
    retry = spread(rng, retry_who, np.ones(len(retry_who), np.int64), np.minimum(retry_from, as_of), np.full(len(retry_who), as_of + 1))
    fraud_who = np.flatnonzero(post_death_users[:pensioners] & (rng.random(pensioners) < 0.15))
    fraud = spread(rng, fraud_who, 1 + rng.poisson(0.5, len(fraud_who)), np.maximum(death_date[fraud_who] + 1, window), np.full(len(fraud_who), as_of + 1))
    passed = np.concatenate([~failed, np.ones(len(retry), bool), np.zeros(len(fraud), bool)])
    d = Draws.concat([first, retry, fraud])
    d.tags["passed"] = passed
    d.tags["post_death"] = np.concatenate([np.zeros(len(first) + len(retry), bool), np.ones(len(fraud), bool)])
    return d


def in_person_draws(rng: np.random.Generator, segment: np.ndarray, death_date: np.ndarray, pensioners: int,
                    as_of: np.datetime64) -> Draws:
    """~3% certify at the counter, mostly people the data never sees."""
    window = as_of - np.timedelta64(365, "D")
    seg = segment[:pensioners]
    alive = np.isnat(death_date[:pensioners])
    p = np.select([seg == 2, seg == 1], [0.25, 0.10], 0.005)
    who = np.flatnonzero(alive & (rng.random(pensioners) < p))
    d = spread(rng, who, np.ones(len(who), np.int64), np.full(len(who), window), np.full(len(who), as_of + 1))
    d.tags["passed"] = np.ones(len(d), bool)
    return d
