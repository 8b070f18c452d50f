"""Concurrent lookups coalesced into batches: every caller gets its own answer, batches stay bounded."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from silentcert.graph.coalesce import Coalescer


class Recorder:
    """A fetch that squares keys, records its batches and can be held until released."""

    def __init__(self, hold: bool = False):
        self.batches: list[tuple[str, list[int]]] = []
        self.release = threading.Event()
        self.in_flight = self.most_in_flight = 0
        self._lock = threading.Lock()
        if not hold:
            self.release.set()

    def __call__(self, group: str, keys):
        with self._lock:
            self.batches.append((group, list(keys)))
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
        self.release.wait(10)
        with self._lock:
            self.in_flight -= 1
        if group == "broken":
            raise ConnectionError("store down")
        return {k: k * k for k in keys if k >= 0}


def _wait_for(condition, seconds: float = 5.0) -> None:
    done = threading.Event()
    for _ in range(int(seconds * 100)):
        if condition():
            return
        done.wait(0.01)
    raise AssertionError("condition not reached")


def test_a_lone_call_is_its_own_batch():
    fetch = Recorder()
    assert Coalescer(fetch).get("g", 3) == 9
    assert fetch.batches == [("g", [3])]


def test_calls_queued_behind_busy_slots_share_bounded_batches():
    fetch = Recorder(hold=True)
    coalescer = Coalescer(fetch, max_batch=8, max_in_flight=2)
    keys = list(range(40))
    with ThreadPoolExecutor(len(keys)) as pool:
        futures = [pool.submit(coalescer.get, "g", k) for k in keys]
        _wait_for(lambda: len(coalescer._queue) == len(keys) - 2)  # two leaders hold the slots, the rest wait
        fetch.release.set()
        answers = [f.result(10) for f in futures]
    assert answers == [k * k for k in keys]
    fetched = [k for _, batch in fetch.batches for k in batch]
    assert sorted(fetched) == keys, "every key fetched exactly once"
    assert max(len(b) for _, b in fetch.batches) == 8
    assert len(fetch.batches) <= 10, "two leaders, then 38 queued calls in batches of up to 8"
    assert fetch.most_in_flight == 2


def test_groups_are_fetched_apart_and_repeated_keys_once():
    fetch = Recorder(hold=True)
    coalescer = Coalescer(fetch, max_batch=16, max_in_flight=1)
    calls = [("first", 1), ("a", 2), ("b", 2), ("a", 2), ("a", 5)]
    with ThreadPoolExecutor(len(calls)) as pool:
        leader = pool.submit(coalescer.get, *calls[0])
        _wait_for(lambda: fetch.batches)
        queued = [pool.submit(coalescer.get, *c) for c in calls[1:]]
        _wait_for(lambda: len(coalescer._queue) == 4)
        fetch.release.set()
        assert [leader.result(10), *(f.result(10) for f in queued)] == [1, 4, 4, 4, 25]
    assert sorted(fetch.batches) == [("a", [2, 5]), ("b", [2]), ("first", [1])]


def test_a_key_the_fetch_leaves_out_is_none():
    assert Coalescer(Recorder()).get("g", -1) is None


def test_an_error_reaches_every_caller_of_its_batch_and_frees_the_slot():
    fetch = Recorder(hold=True)
    coalescer = Coalescer(fetch, max_batch=16, max_in_flight=1)
    with ThreadPoolExecutor(4) as pool:
        leader = pool.submit(coalescer.get, "g", 1)
        _wait_for(lambda: fetch.batches)
        broken = [pool.submit(coalescer.get, "broken", k) for k in (2, 3)]
        fine = pool.submit(coalescer.get, "g", 4)
        _wait_for(lambda: len(coalescer._queue) == 3)
        fetch.release.set()
        assert leader.result(10) == 1 and fine.result(10) == 16
        for future in broken:
            with pytest.raises(ConnectionError, match="store down"):
                future.result(10)
    assert coalescer.get("g", 6) == 36
    assert coalescer._running == 0 and not coalescer._queue


def test_bounds_must_be_positive():
    with pytest.raises(ValueError):
        Coalescer(Recorder(), max_batch=0)
