"""Everyone the province's sources can see: pensioners first, then residents who draw no pension.

Arrays are indexed by a person's position; the first ``pensioners`` positions are the registry.
"""

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from silentcert.synthetic import counties, id_numbers, names, noise, phones


@dataclass
class People:
    pensioners: int
    age: np.ndarray            # years at as_of (float)
    male: np.ndarray           # bool
    birth: np.ndarray          # datetime64[D]
    county_idx: np.ndarray     # index into counties.COUNTIES
    birthplace: np.ndarray     # 6-digit code the ID starts with
    seq: np.ndarray            # ID sequence number
    id18: pa.Array             # true 18-character ID
    name: pa.Array             # name as on the ID card
    name_homophone: pa.Array   # same pinyin, one character changed
    name_traditional: pa.Array
    name_romanised: pa.Array   # in pinyin, as a ticket or bank system writes it
    romanised_style: np.ndarray  # index into names.ROMANISED_STYLES
    romanised_umlaut: np.ndarray  # bool: the romanised name holds a ü (written v, u or ü)
    phone: pa.Array            # canonical; null when none
    card_no: pa.Array          # social-security card; null when none
    couple_id: np.ndarray      # -1 when not in a recorded couple

    @property
    def size(self) -> int:
        return len(self.age)

    @property
    def county_code(self) -> np.ndarray:
        return counties.CODES[self.county_idx]


def draw_people(rng: np.random.Generator, pensioners: int, as_of: np.datetime64) -> People:
    """Draw pensioners plus a quarter as many non-pensioner residents."""
    outsiders = max(pensioners // 4, 10)
    age = np.concatenate([55 + np.minimum(rng.gamma(2.0, 7.0, pensioners), 44.9),
                          45 + np.minimum(rng.gamma(2.0, 9.0, outsiders), 54.9)])
    n = len(age)
    male = rng.random(n) < np.where(age > 80, 0.40, 0.49)
    birth = as_of - (age * 365.25).astype("timedelta64[D]")
    county_idx = counties.draw_counties(rng, n)
    year = birth.astype("datetime64[Y]").astype(np.int64) + 1970
    birthplace = counties.birthplace_codes(rng, county_idx, year)
    birth = id_numbers.make_room(birthplace, birth, male)
    seq = id_numbers.redraw_duplicates(rng, birthplace, birth, id_numbers.sequences(rng, male), male)
    full = names.draw_names(rng, male)
    romanised, style, umlaut = names.romanised(full)
    couple_id = _couples(rng, pensioners, male, county_idx, age)
    return People(
        pensioners=pensioners, age=age, male=male, birth=birth, county_idx=county_idx,
        birthplace=birthplace, seq=seq,
        id18=noise.flat(pa.array(id_numbers.id18(birthplace, birth, seq))).cast(pa.string()),
        name=full,
        name_homophone=names.per_distinct(full, names.homophone_of),
        name_traditional=names.per_distinct(full, lambda v, _: names.traditional_of(v)),
        name_romanised=romanised, romanised_style=style, romanised_umlaut=umlaut,
        phone=_phones(rng, age, county_idx, couple_id),
        card_no=_cards(rng, n, np.where(np.arange(n) < pensioners, 0.88, 0.70)),
        couple_id=couple_id,
    )


def _couples(rng: np.random.Generator, pensioners: int, male: np.ndarray, county_idx: np.ndarray,
             age: np.ndarray) -> np.ndarray:
    """Pair about half the pensioners as married couples living in the same county, of realistic ages.

    Within a county, men and women are matched by rank of age, a man's age taken less a usual age difference
    (2.5 ± 3.5 years, husbands mostly older), so most couples are within 10 years of each other."""
    couple = np.full(len(male), -1, dtype=np.int64)
    candidates = np.flatnonzero(rng.random(pensioners) < 0.55)
    as_wife = age[candidates] - np.where(male[candidates], rng.normal(2.5, 3.5, len(candidates)), 0.0)
    order = candidates[np.lexsort((as_wife, county_idx[candidates]))]
    next_id = 0
    for c in np.unique(county_idx[order]):  # a loop per county, not per person
        here = order[county_idx[order] == c]
        men, women = here[male[here]], here[~male[here]]
        k = min(len(men), len(women))
        couple[_spread(men, k)] = np.arange(next_id, next_id + k)
        couple[_spread(women, k)] = np.arange(next_id, next_id + k)
        next_id += k
    return couple


def _spread(ranked: np.ndarray, k: int) -> np.ndarray:
    """k of the ranked positions, evenly across the ranking (so the older of the larger group pair with the older)."""
    return ranked[((np.arange(k) + 0.5) * len(ranked) / max(k, 1)).astype(np.int64)]


def _phones(rng: np.random.Generator, age: np.ndarray, county_idx: np.ndarray, couple_id: np.ndarray) -> pa.Array:
    """Mobile for most, landline for some of the old, none for some; couples share one number."""
    n = len(age)
    u = rng.random(n)
    landline_p = np.where(age > 78, 0.30, 0.12)
    none_p = np.where(age > 85, 0.22, 0.08)
    kind = np.where(u < none_p, 0, np.where(u < none_p + landline_p, 2, 1))
    mob, land = phones.mobiles(rng, n), phones.landlines(rng, counties.AREA_CODES[county_idx])
    phone = pc.if_else(pa.array(kind == 1), mob, pc.if_else(pa.array(kind == 2), land, pa.nulls(n, pa.string())))
    in_couple = np.flatnonzero(couple_id >= 0)
    # the couple's phone is the first member's number (a family line or one spouse's mobile)
    order = in_couple[np.argsort(couple_id[in_couple], kind="stable")]
    _, first_pos = np.unique(couple_id[order], return_index=True)
    first = order[first_pos]
    source = np.arange(n)
    source[order] = first[np.searchsorted(couple_id[first], couple_id[order])]
    return phone.take(pa.array(source))


def _cards(rng: np.random.Generator, n: int, have_p: np.ndarray) -> pa.Array:
    """Social-security card numbers: a letter and eight digits, unique; null for those without."""
    numbers = rng.choice(10**8, size=n, replace=False)
    letters = pa.array(list("AJBC")).take(pa.array(rng.choice(4, size=n, p=[0.55, 0.3, 0.1, 0.05])))
    digits = pc.utf8_lpad(pc.cast(pa.array(numbers), pa.string()), 8, padding="0")
    cards = pc.binary_join_element_wise(letters, digits, "")
    return pc.if_else(pa.array(rng.random(n) < have_p), cards, pa.nulls(n, pa.string()))
