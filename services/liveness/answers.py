"""GetLiveness answers kept for reuse while the store's generation stands still.

A pensioner's answer changes only when a write commits that the store counts in its generation
(GraphStore.generation: a round publish, a recorded certification, a changed verdict, a reviewer's decision),
whichever process made it. An answer is kept under the generation read *before* it was read from the store (Neo4j:
by the same query, before any pensioner); it is given again only while the store still reports that generation,
read anew for every call that finds an answer kept. A write moves the generation after its commit (Neo4j: also
inside it), so a call that starts after a write returned never gets an answer from before it. The cache is dropped whole when the generation moves: writes are rare beside reads.

Answers are kept serialized: each call gets its own message, which the access interceptor may mask in place.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable


class AnswerCache:
    """Up to `capacity` serialized answers of one generation, least recently used dropped first."""

    def __init__(self, capacity: int):
        if capacity < 0:
            raise ValueError(f"capacity must be 0 (no cache) or more, got {capacity}")
        self.capacity = capacity
        self._lock = threading.Lock()
        self._generation: Hashable | None = None
        self._answers: OrderedDict[Hashable, bytes] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def get(self, key: Hashable, generation: Hashable | None) -> bytes | None:
        """The answer kept for `key` under `generation`, or None."""
        if generation is None or not self.capacity:
            return None
        with self._lock:
            if generation != self._generation:
                self._answers.clear()
                self._generation = generation
            found = self._answers.get(key)
            if found is None:
                self.misses += 1
                return None
            self._answers.move_to_end(key)
            self.hits += 1
            return found

    def holds(self, key: Hashable) -> bool:
        """Whether an answer is kept for `key` (under whatever generation: get() decides whether it stands)."""
        return key in self._answers

    def put(self, key: Hashable, generation: Hashable | None, answer: bytes) -> None:
        """Keep `answer`, read from the store under `generation`. Another generation than the kept answers' drops
        them: generations never repeat, so whichever of the two is older is never reported again and an answer kept
        under it is never given."""
        if generation is None or not self.capacity:
            return
        with self._lock:
            if generation != self._generation:
                self._answers.clear()
                self._generation = generation
            self._answers[key] = answer
            self._answers.move_to_end(key)
            if len(self._answers) > self.capacity:
                self._answers.popitem(last=False)
