"""The GetLiveness answer cache: an answer is given again only under the generation it was read after."""

from __future__ import annotations

import pytest

from silentcert.services.liveness.answers import AnswerCache


def test_an_answer_is_given_again_while_the_generation_stands():
    cache = AnswerCache(10)
    assert cache.get("P1", 1) is None
    cache.put("P1", 1, b"answer")
    assert cache.get("P1", 1) == b"answer"
    assert (cache.hits, cache.misses) == (1, 1)


def test_a_moved_generation_drops_every_answer():
    cache = AnswerCache(10)
    cache.get("P1", 1)
    cache.put("P1", 1, b"old")
    assert cache.get("P1", 2) is None
    assert cache.get("P1", 1) is None  # going back never brings an answer back either


def test_an_answer_read_under_an_older_generation_is_not_kept():
    cache = AnswerCache(10)
    cache.get("P1", 1)  # this call read generation 1, then the store
    cache.get("P2", 2)  # meanwhile a write moved it and another call saw that
    cache.put("P1", 1, b"read before the write")
    assert cache.get("P1", 2) is None


def test_no_generation_keeps_nothing():
    cache = AnswerCache(10)
    cache.get("P1", None)
    cache.put("P1", None, b"answer")
    assert cache.get("P1", None) is None


def test_the_least_recently_used_answer_goes_first():
    cache = AnswerCache(2)
    for key in ("P1", "P2"):
        cache.get(key, 1)
        cache.put(key, 1, key.encode())
    assert cache.get("P1", 1) == b"P1"
    cache.put("P3", 1, b"P3")
    assert [cache.get(k, 1) for k in ("P1", "P2", "P3")] == [b"P1", None, b"P3"]


def test_capacity_zero_keeps_nothing_and_negative_is_refused():
    cache = AnswerCache(0)
    cache.get("P1", 1)
    cache.put("P1", 1, b"answer")
    assert cache.get("P1", 1) is None
    with pytest.raises(ValueError, match="capacity"):
        AnswerCache(-1)


def test_holds_says_whether_an_answer_is_kept_and_a_put_under_another_generation_starts_afresh():
    cache = AnswerCache(10)
    assert not cache.holds("P1")
    cache.put("P1", 1, b"one")  # a miss reads and keeps without asking the cache first
    assert cache.holds("P1") and cache.get("P1", 1) == b"one"
    cache.put("P2", 2, b"two")
    assert not cache.holds("P1") and cache.get("P2", 2) == b"two"
    cache.put("P1", 1, b"late")  # a slow call read before the write: kept under 1, which is never reported again
    assert cache.get("P1", 2) is None and not cache.holds("P2")
