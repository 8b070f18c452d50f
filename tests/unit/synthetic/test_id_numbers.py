"""ID numbers stay unique when more people share a birthplace, birth date and sex than there are sequence numbers."""

import numpy as np
import pytest

from silentcert.synthetic import id_numbers


def _crowd(n: int, rng: np.random.Generator):
    """n women of one county all born on the day the age cap puts them on, plus a few spread-out neighbours."""
    birthplace = np.full(n + 10, 360121, dtype=np.int64)
    birth = np.full(n + 10, np.datetime64("1921-12-08", "D"))
    birth[n:] = np.datetime64("1950-01-01", "D") + np.arange(10).astype("timedelta64[D]")
    male = np.zeros(n + 10, dtype=bool)
    return birthplace, birth, male


def test_an_overfull_slot_spills_to_earlier_days_and_all_ids_are_unique():
    rng = np.random.default_rng(1)
    birthplace, birth, male = _crowd(1200, rng)
    moved = id_numbers.make_room(birthplace, birth, male)
    _, counts = np.unique(moved[:1200], return_counts=True)
    assert counts.tolist() == [300, 300, 300, 300]     # 1921-12-05 .. -08: none over the room
    assert (moved[:id_numbers.SLOT_ROOM] == birth[:id_numbers.SLOT_ROOM]).all()   # the first 300 keep their day
    assert (moved[1200:] == birth[1200:]).all()
    seq = id_numbers.redraw_duplicates(rng, birthplace, moved, id_numbers.sequences(rng, male), male)
    ids = id_numbers.id18(birthplace, moved, seq)
    assert len(set(ids.tolist())) == len(ids)
    assert (seq % 2 == 0).all()                         # women keep even sequence numbers


def test_a_population_that_fits_is_left_as_drawn():
    rng = np.random.default_rng(2)
    birthplace, birth, male = _crowd(250, rng)
    assert id_numbers.make_room(birthplace, birth, male) is birth


def test_without_room_the_redraw_gives_up():
    rng = np.random.default_rng(3)
    birthplace, birth, male = _crowd(600, rng)
    with pytest.raises(id_numbers.SilentcertError, match="unique ID numbers"):
        id_numbers.redraw_duplicates(rng, birthplace, birth, id_numbers.sequences(rng, male), male)
