"""The pension registry: one row per pensioner, as the agency holds it."""

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from silentcert.synthetic import dates, id_numbers, names, noise, phones
from silentcert.synthetic.population import People


@dataclass
class Registry:
    table: pa.Table
    person_ids: pa.Array      # per People index; null for non-pensioners
    legacy_id: np.ndarray     # bool per pensioner: registry holds the 15-digit number


def person_ids(rng: np.random.Generator, people: People) -> pa.Array:
    """Account numbers 'JX' + 9 digits, unique, in no relation to age or county."""
    numbers = 100_000_001 + rng.permutation(people.pensioners) * 7 + rng.integers(0, 7, people.pensioners)
    ids = pc.binary_join_element_wise("JX", pc.cast(pa.array(numbers), pa.string()), "")
    return pa.concat_arrays([ids, pa.nulls(people.size - people.pensioners, pa.string())])


def build_registry(rng: np.random.Generator, people: People, ids: pa.Array, phone: pa.Array, card: pa.Array,
                   as_of: np.datetime64) -> Registry:
    """Registry rows sorted by person_id, with legacy IDs, name variants and messy phones."""
    n = people.pensioners
    idx = pa.array(np.arange(n))
    birth = people.birth[:n]
    legacy = rng.random(n) < np.where(people.age[:n] > 80, 0.06, 0.02)
    id15 = noise.flat(pa.array(id_numbers.id15(people.birthplace[:n], birth, people.seq[:n]))).cast(pa.string())
    id_col = pc.if_else(pa.array(legacy), id15, people.id18.take(idx))
    id_col = noise.patch(id_col, ~legacy & (rng.random(n) < 0.01) & pc.ends_with(id_col, "X").to_numpy(zero_copy_only=False), pc.utf8_lower)
    u = rng.random(n)
    name = pc.if_else(pa.array(u < 0.01), people.name_homophone.take(idx), people.name.take(idx))
    name = pc.if_else(pa.array((u >= 0.01) & (u < 0.015)), people.name_traditional.take(idx), name)
    name = noise.patch(name, (u >= 0.015) & (u < 0.02), names.spaced)
    sex = pc.if_else(pa.array(people.male[:n]), "M", "F")
    sex = noise.patch(sex, rng.random(n) < 0.1, lambda c: pc.if_else(pc.equal(c, "M"), "男", "女"))
    table = pa.table({
        "person_id": ids.slice(0, n),
        "id_number": id_col,
        "name": name,
        "sex": sex,
        "birth_date": dates.render(birth, "iso"),
        "phone": phones.formatted(rng, phone.slice(0, n), 0.3),
        "card_no": card.slice(0, n),
        "county_code": pc.cast(pa.array(people.county_code[:n]), pa.string()),
        "unit_id": _units(rng, people),
        "monthly_pension": _pensions(rng, n),
        "certified_until": _certified_until(rng, n, as_of),
    })
    return Registry(table=table.sort_by("person_id"), person_ids=ids, legacy_id=legacy)


def _units(rng: np.random.Generator, people: People) -> pa.Array:
    """Employer or community: 'U' + county + 3 digits; a few dozen per county."""
    n = people.pensioners
    unit = rng.zipf(1.6, n) % 60 + 1
    code = people.county_code[:n] * 1000 + unit
    return pc.binary_join_element_wise("U", pc.cast(pa.array(code), pa.string()), "")


def _pensions(rng: np.random.Generator, n: int) -> pa.Array:
    """Urban employees ~1,800-6,000 yuan; rural residents' basic pension ~150-400."""
    rural = rng.random(n) < 0.3
    yuan = np.where(rural, rng.uniform(150, 400, n), rng.lognormal(np.log(2800), 0.35, n))
    cents = np.round(yuan * 100).astype(np.int64)
    whole = pc.cast(pa.array(cents // 100), pa.string())
    frac = pc.utf8_lpad(pc.cast(pa.array(cents % 100), pa.string()), 2, padding="0")
    return pc.binary_join_element_wise(whole, frac, ".")


def _certified_until(rng: np.random.Generator, n: int, as_of: np.datetime64) -> pa.Array:
    """Mostly within two months past to eleven months ahead; some long lapsed; some never."""
    u = rng.random(n)
    offset = np.where(u < 0.09, rng.integers(-400, -60, n), rng.integers(-60, 330, n))
    col = dates.render((as_of + offset.astype("timedelta64[D]")), "iso")
    return pc.if_else(pa.array(u > 0.94), pa.nulls(n, pa.string()), col)
