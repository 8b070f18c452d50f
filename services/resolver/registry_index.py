"""The registry held in memory, indexed by the model's blocking keys.

A blocking rule (``services/resolver/blocking.py``) names columns joined by ``+`` or a named rule; here each
becomes a dictionary from key to registry rows. A record's candidates are the union of the rows sharing any key
with it — the pairs Splink's blocked join would produce. A rule with a gap column pairs only where one side lacks
it: a record lacking it looks in the whole map, a record holding it only among registry rows that lack it. A rule
with a probe (``id_neighbours``) maps registry rows by their key and looks up each key the probe gives for the
record: the valid IDs one slip from the record's failing ID.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from silentcert.services.resolver.blocking import Key, gap_of, probe_of, row_key

_Map = dict[object, int | list[int]]


class RegistryIndex:
    """Registry rows (column lists) and one key → row-numbers map per blocking rule."""

    def __init__(self, columns: Mapping[str, Sequence], blocking: Sequence[str]):
        self.columns = {name: list(values) for name, values in columns.items()}
        self.size = len(self.columns["person_id"])
        self._rules = [(row_key(name), gap_of(name)) for name in blocking]
        self._probes = [probe_of(name) for name in blocking]
        self._maps: list[_Map] = [self._build(key) for key, _ in self._rules]
        # per rule with a gap: the registry rows lacking the gap column, for records that hold it
        self._gap_maps: list[_Map | None] = [None if gap is None else self._build(key, lacking=gap)
                                             for key, gap in self._rules]

    def _build(self, key: Key, lacking: str | None = None) -> _Map:
        # One int per unique key, a list only when several rows share it: most keys are unique.
        index: _Map = {}
        for i in range(self.size):
            row = self.row(i)
            k = key(row)
            if k is None or (lacking is not None and row.get(lacking) is not None):
                continue
            held = index.get(k)
            if held is None:
                index[k] = i
            elif isinstance(held, list):
                held.append(i)
            else:
                index[k] = [held, i]
        return index

    def row(self, i: int) -> dict:
        return {name: values[i] for name, values in self.columns.items()}

    def candidates(self, record: Mapping) -> set[int]:
        """Row numbers sharing at least one blocking key with ``record``."""
        found: set[int] = set()
        for (key, gap), probe, index, gap_index in zip(self._rules, self._probes, self._maps, self._gap_maps):
            if gap_index is not None and record.get(gap) is not None:
                index = gap_index
            keys = probe(record) if probe is not None else [key(record)]
            for k in keys:
                held = None if k is None else index.get(k)
                if isinstance(held, list):
                    found.update(held)
                elif held is not None:
                    found.add(held)
        return found
