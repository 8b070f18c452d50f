"""The GetLiveness answer cache: an answer is given again only while the store says its pensioner is unchanged
since the generation it was read after."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from silentcert.services.liveness.answers import AnswerCache


def test_an_answer_is_given_again_while_the_generation_stands():
    cache = AnswerCache(10)
    assert cache.get("P1", 1) is None
    cache.put("P1", "P1", 1, b"answer")
    assert cache.get("P1", 1) == b"answer"
    assert (cache.hits, cache.misses) == (1, 1)


def test_a_moved_generation_drops_every_answer():
    cache = AnswerCache(10)
    cache.get("P1", 1)
    cache.put("P1", "P1", 1, b"old")
    assert cache.get("P1", 2) is None
    assert cache.get("P1", 1) is None  # going back never brings an answer back either


def test_an_answer_read_under_an_older_generation_is_not_kept():
    cache = AnswerCache(10)
    cache.get("P1", 1)  # this call read generation 1, then the store
    cache.get("P2", 2)  # meanwhile a write moved it and another call saw that
    cache.put("P1", "P1", 1, b"read before the write")
    assert cache.get("P1", 2) is None


def test_no_generation_keeps_nothing():
    cache = AnswerCache(10)
    cache.get("P1", None)
    cache.put("P1", "P1", None, b"answer")
    assert cache.get("P1", None) is None


def test_the_least_recently_used_answer_goes_first():
    cache = AnswerCache(2)
    for key in ("P1", "P2"):
        cache.get(key, 1)
        cache.put(key, key, 1, key.encode())
    assert cache.get("P1", 1) == b"P1"
    cache.put("P3", "P3", 1, b"P3")
    assert [cache.get(k, 1) for k in ("P1", "P2", "P3")] == [b"P1", None, b"P3"]


def test_capacity_zero_keeps_nothing_and_negative_is_refused():
    cache = AnswerCache(0)
    cache.get("P1", 1)
    cache.put("P1", "P1", 1, b"answer")
    assert cache.get("P1", 1) is None
    with pytest.raises(ValueError, match="capacity"):
        AnswerCache(-1)


def test_holds_says_whether_an_answer_is_kept_and_a_put_under_another_generation_starts_afresh():
    cache = AnswerCache(10)
    assert not cache.holds("P1")
    cache.put("P1", "P1", 1, b"one")  # a miss reads and keeps without asking the cache first
    assert cache.holds("P1") and cache.get("P1", 1) == b"one"
    cache.put("P2", "P2", 2, b"two")
    assert not cache.holds("P1") and cache.get("P2", 2) == b"two"
    cache.put("P1", "P1", 1, b"late")  # a slow call read before the write: kept under 1, which is never reported again
    assert cache.get("P1", 2) is None and not cache.holds("P2")


def _named(log: dict[int, frozenset[str] | None]):
    """changed_people of a store whose write moving to generation g changed log[g] (None: anyone)."""
    def changed(first, second):
        low, high = sorted((first, second))
        people: set[str] = set()
        for generation in range(low + 1, high + 1):
            if log[generation] is None:
                return None
            people |= log[generation]
        return frozenset(people)
    return changed


def test_a_write_drops_only_the_answers_of_the_people_it_changed():
    cleared = []
    cache = AnswerCache(10, _named({2: frozenset({"P1"}), 3: frozenset()}), lambda: cleared.append(True))
    cache.put("P1", "P1", 1, b"one")
    cache.put(("by-id", "110"), "P1", 1, b"one")  # the same pensioner looked up by ID number
    cache.put("P2", "P2", 1, b"two")
    assert cache.get("P2", 3) == b"two"
    assert cache.get("P1", 3) is None and not cache.holds(("by-id", "110"))
    assert cache.get("P2", 1) == b"two"  # back and forth: P2 changed in neither direction
    assert cleared == []


def test_an_answer_read_before_a_write_is_kept_only_if_the_write_left_its_pensioner_alone():
    cache = AnswerCache(10, _named({2: frozenset({"P1"})}))
    cache.put("P3", "P3", 2, b"three")
    cache.put("P1", "P1", 1, b"read before P1 changed")
    cache.put("P2", "P2", 1, b"read before, still right")
    assert cache.get("P1", 2) is None
    assert cache.get("P2", 2) == b"read before, still right" and cache.get("P3", 2) == b"three"


def test_a_publish_drops_every_answer_and_says_so():
    cleared = []
    cache = AnswerCache(10, _named({2: None}), lambda: cleared.append(True))
    cache.put("P1", "P1", 1, b"one")
    assert cache.get("P1", 2) is None and len(cache) == 0
    assert cleared == [True]


def test_a_page_read_before_a_publish_is_refused_whole():
    cache = AnswerCache(10, _named({2: None, 3: frozenset({"P1"})}))
    cache.put("P9", "P9", 2, b"nine")
    assert not cache.put_many([("P1", "P1", b"one"), ("P2", "P2", b"two")], 1)
    assert len(cache) == 1
    # read after the publish: kept beside P9, but for P1, who changed between the two generations (which of them
    # is the later is no matter to the cache, so P1's answer could be the older one)
    assert cache.put_many([("P1", "P1", b"one"), ("P2", "P2", b"two")], 3)
    assert [cache.get(k, 3) for k in ("P1", "P2", "P9")] == [None, b"two", b"nine"]


# -- property: whatever the order of writes, reads, late puts and warmed pages, an answer given is the current one --

_PEOPLE = ("P1", "P2", "P3")
_OPS = st.one_of(
    st.tuples(st.just("write"), st.sampled_from(_PEOPLE)),
    st.tuples(st.just("publish"), st.none()),
    st.tuples(st.just("read"), st.sampled_from(_PEOPLE)),
    st.tuples(st.just("start_slow_read"), st.sampled_from(_PEOPLE)),
    st.tuples(st.just("finish_slow_read"), st.none()),
    st.tuples(st.just("start_page"), st.none()),
    st.tuples(st.just("finish_page"), st.none()),
)


class _Store:
    """A store's versions of each pensioner's answer, its generation and the log of whom each write changed."""

    def __init__(self) -> None:
        self.version = dict.fromkeys(_PEOPLE, 0)
        self.generation = 0
        self.log: dict[int, frozenset[str] | None] = {}

    def write(self, people: frozenset[str] | None) -> None:
        for person in people if people is not None else _PEOPLE:
            self.version[person] += 1
        self.generation += 1
        self.log[self.generation] = people

    def answer(self, person: str) -> bytes:
        return f"{person}@{self.version[person]}".encode()


@settings(max_examples=1000, deadline=None)
@given(ops=st.lists(_OPS, max_size=60), capacity=st.integers(1, 8))
def test_an_answer_given_is_always_the_current_one(ops, capacity):
    store = _Store()
    cache = AnswerCache(capacity, _named(store.log))
    slow: list[tuple[str, int, bytes]] = []  # reads that took their generation and answer, not yet put
    pages: list[tuple[int, list[tuple[str, str, bytes]]]] = []
    for op, person in ops:
        if op == "write":
            store.write(frozenset({person}))
        elif op == "publish":
            store.write(None)
        elif op == "read":  # as GetLiveness: a kept answer if it stands, else read and keep
            kept = cache.get(person, store.generation) if cache.holds(person) else None
            if kept is not None:
                assert kept == store.answer(person)
            else:
                cache.put(person, person, store.generation, store.answer(person))
        elif op == "start_slow_read":
            slow.append((person, store.generation, store.answer(person)))
        elif op == "finish_slow_read" and slow:
            person, generation, answer = slow.pop(0)
            cache.put(person, person, generation, answer)
        elif op == "start_page":
            pages.append((store.generation, [(p, p, store.answer(p)) for p in _PEOPLE]))
        elif op == "finish_page" and pages:
            generation, page = pages.pop(0)
            cache.put_many(page, generation)
        assert len(cache) <= capacity
    for person in _PEOPLE:
        if cache.holds(person):
            kept = cache.get(person, store.generation)
            assert kept is None or kept == store.answer(person)
