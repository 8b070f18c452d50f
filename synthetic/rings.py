"""Fraud rings: small groups of unrelated pensioners, mostly dead, whose registry entries carry
one operator's phone or card, which the operator keeps using all year."""

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from silentcert.synthetic.events import Draws, spread
from silentcert.synthetic.population import People


@dataclass
class Rings:
    ring_of: np.ndarray      # per person: ring number, -1 if none
    kind: list[str]          # per ring: "phone" | "card"
    operator: np.ndarray     # per ring: person index (a non-pensioner) whose phone/card is shared
    value: list[str]         # per ring: the shared phone or card number


def draw_rings(rng: np.random.Generator, people: People, death_date: np.ndarray) -> Rings:
    """max(2, pensioners / 25,000) rings of 3-8 members, about 70% of them dead."""
    count = max(2, people.pensioners // 25_000)
    ring_of = np.full(people.size, -1, dtype=np.int64)
    dead = np.flatnonzero(~np.isnat(death_date[:people.pensioners]))
    living = np.flatnonzero(np.isnat(death_date[:people.pensioners]) & (people.couple_id[:people.pensioners] < 0))
    has_phone = pc.is_valid(people.phone).to_numpy(zero_copy_only=False)
    has_card = pc.is_valid(people.card_no).to_numpy(zero_copy_only=False)
    outsiders = np.arange(people.pensioners, people.size)
    kinds, operators, values = [], [], []
    for r in range(count):  # a loop per ring
        size = int(rng.integers(3, 9))
        n_dead = min(int(round(size * 0.7)), int((ring_of[dead] < 0).sum()))
        members = np.concatenate([rng.choice(dead[ring_of[dead] < 0], n_dead, replace=False),
                                  rng.choice(living[ring_of[living] < 0], size - n_dead, replace=False)])
        ring_of[members] = r
        kind = "phone" if r % 2 == 0 else "card"
        pool = outsiders[(has_phone if kind == "phone" else has_card)[outsiders] & (ring_of[outsiders] < 0)]
        op = int(rng.choice(pool))
        ring_of[op] = -2  # an operator, not a member
        kinds.append(kind)
        operators.append(op)
        values.append((people.phone if kind == "phone" else people.card_no)[op].as_py())
    ring_of[ring_of == -2] = -1
    return Rings(ring_of=ring_of, kind=kinds, operator=np.array(operators, dtype=np.int64), value=values)


def operator_draws(rng: np.random.Generator, rings: Rings, as_of: np.datetime64) -> dict[str, Draws]:
    """The operators' own steady use of the shared phone (telecom) or card (card_spending)."""
    window = as_of - np.timedelta64(365, "D")
    out = {}
    for kind, source, mean in (("phone", "telecom", 12), ("card", "card_spending", 14)):
        ops = rings.operator[np.array(rings.kind) == kind]
        counts = 1 + rng.poisson(mean, len(ops))
        d = spread(rng, ops, counts, np.full(len(ops), window), np.full(len(ops), as_of))
        d.tags["ring_operator"] = np.ones(len(d), bool)
        out[source] = d
    return out


def registry_overrides(people: People, rings: Rings) -> tuple[pa.Array, pa.Array]:
    """Registry phone and card columns with each ring's shared value on its members."""
    phone_src = np.arange(people.size)
    card_src = np.arange(people.size)
    for r, (kind, op) in enumerate(zip(rings.kind, rings.operator)):
        members = rings.ring_of == r
        (phone_src if kind == "phone" else card_src)[members] = op
    return people.phone.take(pa.array(phone_src)), people.card_no.take(pa.array(card_src))
