"""Resident ID numbers built as digit matrices: GB 11643 18-digit and legacy 15-digit."""

import numpy as np

from silentcert.graph.errors import SilentcertError

WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2], dtype=np.int64)
CHECK_CHARS = np.frombuffer(b"10X98765432", dtype=np.uint8)


def digits(values: np.ndarray, width: int) -> np.ndarray:
    """(n, width) matrix of the decimal digits of each value, zero padded."""
    powers = 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)
    return (np.asarray(values, dtype=np.int64)[:, None] // powers) % 10


def ymd(dates: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Year, month, day integer arrays of a datetime64[D] array."""
    months = dates.astype("datetime64[M]")
    year = months.astype("datetime64[Y]").astype(np.int64) + 1970
    month = months.astype(np.int64) % 12 + 1
    day = (dates - months.astype("datetime64[D]")).astype(np.int64) + 1
    return year, month, day


def check_chars(body: np.ndarray) -> np.ndarray:
    """ASCII check character for each row of a (n, 17) digit matrix."""
    return CHECK_CHARS[(body @ WEIGHTS) % 11]


def _as_strings(matrix: np.ndarray) -> np.ndarray:
    width = matrix.shape[1]
    return np.ascontiguousarray(matrix.astype(np.uint8)).view(f"S{width}").ravel()


def body17(birthplace: np.ndarray, birth: np.ndarray, seq: np.ndarray) -> np.ndarray:
    """The 17 digits before the check character."""
    year, month, day = ymd(birth)
    date = year * 10000 + month * 100 + day
    return np.concatenate([digits(birthplace, 6), digits(date, 8), digits(seq, 3)], axis=1)


def id18(birthplace: np.ndarray, birth: np.ndarray, seq: np.ndarray) -> np.ndarray:
    """18-character ID numbers (bytes) with the MOD 11-2 check character."""
    body = body17(birthplace, birth, seq)
    return _as_strings(np.concatenate([body + 48, check_chars(body)[:, None]], axis=1))


def id15(birthplace: np.ndarray, birth: np.ndarray, seq: np.ndarray) -> np.ndarray:
    """Legacy 15-digit ID numbers (bytes): code, YYMMDD, sequence; no check character."""
    year, month, day = ymd(birth)
    date = (year % 100) * 10000 + month * 100 + day
    return _as_strings(np.concatenate([digits(birthplace, 6), digits(date, 6), digits(seq, 3)], axis=1) + 48)


def sequences(rng: np.random.Generator, male: np.ndarray) -> np.ndarray:
    """3-digit sequence numbers whose last digit is odd for men, even for women."""
    seq = rng.integers(0, 500, size=len(male)) * 2
    return seq + male.astype(np.int64)


SLOT_ROOM = 300  # of the 500 sequence numbers per sex: the free 200 keep the random redraws converging fast


def _slot_keys(birthplace: np.ndarray, birth: np.ndarray, male: np.ndarray) -> np.ndarray:
    """One key per (birthplace, birth date, sex): the people who must share its 500 sequence numbers."""
    days = birth.astype(np.int64) + 40000
    return (birthplace.astype(np.int64) * 100_000 + days) * 2 + male.astype(np.int64)


def make_room(birthplace: np.ndarray, birth: np.ndarray, male: np.ndarray) -> np.ndarray:
    """Birth dates with no (birthplace, date, sex) slot holding more than SLOT_ROOM people.

    Ages are capped, so at province scale thousands of the oldest share one birth date; in a populous county
    more of one sex than its 500 sequence numbers. Those past the SLOT_ROOM-th (in position order) are born a day
    earlier, repeated until every slot fits. Nothing is drawn, so a population that already fits is unchanged."""
    while True:
        key = _slot_keys(birthplace, birth, male)
        order = np.argsort(key, kind="stable")
        sorted_key = key[order]
        starts = np.flatnonzero(np.r_[True, sorted_key[1:] != sorted_key[:-1]])
        rank = np.arange(len(key)) - np.repeat(starts, np.diff(np.r_[starts, len(key)]))
        excess = order[rank >= SLOT_ROOM]
        if not len(excess):
            return birth
        birth = birth.copy()
        birth[excess] -= np.timedelta64(1, "D")


def redraw_duplicates(rng: np.random.Generator, birthplace, birth, seq, male) -> np.ndarray:
    """Redraw the sequence of any person whose ID collides with an earlier one."""
    days = birth.astype(np.int64) + 40000
    for _ in range(50):
        key = (birthplace.astype(np.int64) * 100_000 + days) * 1000 + seq
        _, first = np.unique(key, return_index=True)
        dup = np.ones(len(key), dtype=bool)
        dup[first] = False
        if not dup.any():
            return seq
        seq = seq.copy()
        seq[dup] = sequences(rng, male[dup])
    raise SilentcertError("could not draw unique ID numbers")
