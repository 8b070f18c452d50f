"""The registry held in memory, indexed by the model's blocking keys.

A blocking rule of the linkage model (``model.blocking_rules``) names columns joined by ``+`` or an
ID-part alias; here each becomes a dictionary from key to registry rows. A record's candidates are
the union of the rows sharing any key with it — the pairs Splink's blocked join would produce.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from services.errors import InvalidInput
from services.resolver.model import LINK_COLUMNS

Key = Callable[[Mapping], object]

# The Python twins of model._ID_PARTS (SQL SUBSTRING is 1-based, inclusive length).
_ID_PARTS: dict[str, Callable[[str], object]] = {
    "id_head": lambda v: v[0:14],
    "id_day": lambda v: (v[0:12], v[14:18]),
    "id_tail": lambda v: v[6:18],
    "id_ends": lambda v: (v[0:6], v[12:18]),
}


def blocking_key(name: str) -> Key:
    """The key function of one blocking rule name; it returns None when a part is missing."""
    if name in _ID_PARTS:
        part = _ID_PARTS[name]
        return lambda row: None if row.get("id_number") is None else part(row["id_number"])
    columns = tuple(c.strip() for c in name.split("+"))
    unknown = set(columns) - set(LINK_COLUMNS)
    if unknown:
        raise InvalidInput(f"blocking rule {name!r} names unknown columns {sorted(unknown)}", field="blocking")
    if len(columns) == 1:
        return lambda row: row.get(columns[0])
    return lambda row: None if any(row.get(c) is None for c in columns) else tuple(row[c] for c in columns)


class RegistryIndex:
    """Registry rows (column lists) and one key → row-numbers map per blocking rule."""

    def __init__(self, columns: Mapping[str, Sequence], blocking: Sequence[str]):
        self.columns = {name: list(values) for name, values in columns.items()}
        self.size = len(self.columns["person_id"])
        self._keys = [(name, blocking_key(name)) for name in blocking]
        self._maps: list[dict[object, int | list[int]]] = [self._build(key) for _, key in self._keys]

    def _build(self, key: Key) -> dict[object, int | list[int]]:
        # One int per unique key, a list only when several rows share it: most keys are unique.
        index: dict[object, int | list[int]] = {}
        for i in range(self.size):
            k = key(self.row(i))
            if k is None:
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
        for (_, key), index in zip(self._keys, self._maps):
            k = key(record)
            held = None if k is None else index.get(k)
            if isinstance(held, list):
                found.update(held)
            elif held is not None:
                found.add(held)
        return found
