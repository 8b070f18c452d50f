"""GetLiveness answers kept for reuse, each while the store says its pensioner has not changed.

A pensioner's answer changes only when a write commits that the store counts in its generation
(GraphStore.generation: a round publish, a recorded certification, a changed verdict), whichever process made it.
The cache holds answers that stand at one generation. When a call reads another generation from the store, the
cache asks the store which pensioners' answers may differ between the two (GraphStore.changed_people) and drops
theirs; a store that cannot say (Neo4j, where other processes write) or a round publish drops them all. An answer
is put under the generation read *before* it was read from the store (Neo4j: by the same query, before any
pensioner); put under another generation than the cache's, it is kept only if its pensioner did not change
between the two. A write moves the generation after its commit (Neo4j: also inside it), so a call that starts
after a write returned never gets an answer from before it.

Answers are kept serialized: each call gets its own message, which the access interceptor may mask in place.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable

Changed = Callable[[Hashable, Hashable], frozenset[str] | None]  # GraphStore.changed_people


def _nobody_named(first: Hashable, second: Hashable) -> frozenset[str] | None:
    return None


class AnswerCache:
    """Up to `capacity` serialized answers standing at one generation, least recently used dropped first; each is
    kept under its key and the person_id it answers for. `on_cleared` is called (outside the lock) when every
    answer was dropped because the generation moved: a round was published."""

    def __init__(self, capacity: int, changed: Changed = _nobody_named,
                 on_cleared: Callable[[], object] | None = None):
        if capacity < 0:
            raise ValueError(f"capacity must be 0 (no cache) or more, got {capacity}")
        self.capacity = capacity
        self._changed = changed
        self._on_cleared = on_cleared
        self._lock = threading.Lock()
        self._generation: Hashable | None = None
        self._answers: OrderedDict[Hashable, tuple[str, bytes]] = OrderedDict()
        # person_id -> the keys of their kept answers. Tuples, not sets: a tuple of keys of strings is one the
        # garbage collector stops tracking, so a warmed cache (200,000 pensioners) does not lengthen every full
        # collection, which holds the GIL while it runs (docs/scaling.md, "Serving GetLiveness").
        self._keys_of: dict[str, tuple[Hashable, ...]] = {}
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._answers)

    @property
    def full(self) -> bool:
        return len(self._answers) >= self.capacity

    def get(self, key: Hashable, generation: Hashable | None) -> bytes | None:
        """The answer kept for `key` if it stands at `generation`, or None."""
        if generation is None or not self.capacity:
            return None
        with self._lock:
            cleared = self._move(generation)
            found = self._answers.get(key)
            if found is None:
                self.misses += 1
            else:
                self._answers.move_to_end(key)
                self.hits += 1
        if cleared and self._on_cleared:
            self._on_cleared()
        return found[1] if found else None

    def holds(self, key: Hashable) -> bool:
        """Whether an answer is kept for `key` (under whatever generation: get() decides whether it stands)."""
        return key in self._answers

    def put(self, key: Hashable, person_id: str, generation: Hashable | None, answer: bytes) -> None:
        """Keep `person_id`'s `answer`, read from the store under `generation`. When the store cannot say who
        changed between that generation and the cache's, the kept answers go and the cache takes this one's:
        generations never repeat, so whichever of the two is older is never reported again and an answer kept
        under it is never given."""
        self._put([(key, person_id, answer)], generation, start_afresh=True)

    def put_many(self, answers: Iterable[tuple[Hashable, str, bytes]], generation: Hashable | None) -> bool:
        """Keep (key, person_id, answer)s read under `generation` (the pages of a warming): those whose pensioner
        did not change between it and the cache's generation. False, keeping none, when the store cannot say who
        did: a round was published in between."""
        return self._put(answers, generation, start_afresh=False)

    def _put(self, answers: Iterable[tuple[Hashable, str, bytes]], generation: Hashable | None,
             start_afresh: bool) -> bool:
        if generation is None or not self.capacity:
            return False
        with self._lock:
            if not self._answers:
                self._generation = generation
            changed = frozenset() if generation == self._generation else self._changed(generation, self._generation)
            if changed is None:
                if not start_afresh:
                    return False
                self._answers.clear()
                self._keys_of.clear()
                self._generation, changed = generation, frozenset()
            for key, person_id, answer in answers:
                if person_id in changed:
                    continue
                self._drop(key)
                self._answers[key] = (person_id, answer)
                self._keys_of[person_id] = (*self._keys_of.get(person_id, ()), key)
                if len(self._answers) > self.capacity:
                    self._drop(next(iter(self._answers)))
        return True

    def _move(self, generation: Hashable) -> bool:
        """Make the kept answers stand at `generation` (under the lock); True if every one had to go."""
        if generation == self._generation:
            return False
        changed = self._changed(self._generation, generation) if self._generation is not None else None
        self._generation = generation
        if changed is None:
            had = bool(self._answers)
            self._answers.clear()
            self._keys_of.clear()
            return had
        for person_id in changed:
            for key in self._keys_of.pop(person_id, ()):
                del self._answers[key]
        return False

    def _drop(self, key: Hashable) -> None:
        kept = self._answers.pop(key, None)
        if kept is not None:
            keys = tuple(k for k in self._keys_of[kept[0]] if k != key)
            if keys:
                self._keys_of[kept[0]] = keys
            else:
                del self._keys_of[kept[0]]
