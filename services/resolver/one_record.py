"""Resolving one record in real time: the query, the candidates, and the exact-ID fallback.

The ResolverService receives a ``resolve_one(RecordQuery) -> list[Candidate]`` callable. When a trained Splink
model is loaded the callable scores with it (per-comparison match weights); until then
:func:`exact_id_resolver` gives the deterministic pass of the round (valid ID number, birth date and sex not
contradicting) against the graph store, with field agreement but no model weights.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import date

from silentcert.graph.errors import InvalidInput
from silentcert.graph.model import Person
from silentcert.graph.store import GraphStore
from silentcert.services.resolver.id_numbers import IdNumber, normalise_id_number


@dataclass(frozen=True)
class RecordQuery:
    """The fields of one record; any may be None."""

    id_number: str | None = None
    name: str | None = None
    sex: str | None = None
    birth_date: date | None = None
    phone: str | None = None
    card_no: str | None = None
    county_code: str | None = None

    def is_empty(self) -> bool:
        return all(getattr(self, f.name) is None for f in fields(self))


@dataclass(frozen=True)
class FieldWeight:
    """How one compared field contributed: its comparison level and match weight (log2 Bayes factor)."""

    field: str
    level: str
    match_weight: float
    agrees: bool


@dataclass(frozen=True)
class Candidate:
    person_id: str
    match_probability: float
    method: str  # direct | deterministic | splink | identifier
    fields: tuple[FieldWeight, ...] = ()


ResolveOne = Callable[[RecordQuery], list[Candidate]]

_COMPARED = ("id_number", "name", "sex", "birth_date", "phone", "card_no", "county_code")


def exact_id_resolver(store: GraphStore) -> ResolveOne:
    """A resolve_one that links by exact valid ID number through the store."""

    def resolve(query: RecordQuery) -> list[Candidate]:
        id_number = _valid_id_number(query.id_number)
        if id_number is None:
            return []
        person = store.person(id_number=id_number.value)
        if person is None or _contradicts(query, person):
            return []
        return [Candidate(person.person_id, 1.0, "deterministic", _agreement(query, person, id_number.value))]

    return resolve


def _valid_id_number(raw: str | None) -> IdNumber | None:
    if raw is None:
        return None
    result = normalise_id_number(raw)
    if not isinstance(result, IdNumber):
        raise InvalidInput(f"id_number unusable: {getattr(result, 'reason', 'empty')}", field="record.id_number")
    return result


def _contradicts(query: RecordQuery, person: Person) -> bool:
    return any(
        q is not None and p is not None and q != p
        for q, p in ((query.birth_date, person.birth_date), (query.sex, person.sex))
    )


def _agreement(query: RecordQuery, person: Person, id_number: str) -> tuple[FieldWeight, ...]:
    asked = {name: getattr(query, name) for name in _COMPARED}
    asked["id_number"] = id_number
    return tuple(_compare(name, value, getattr(person, name)) for name, value in asked.items() if value is not None)


def _compare(name: str, asked: object, held: object) -> FieldWeight:
    if held is None:
        return FieldWeight(name, "missing", 0.0, False)
    agrees = asked == held
    return FieldWeight(name, "exact match" if agrees else "different", 0.0, agrees)
