"""Phone numbers: 11-digit mobiles, landlines with area codes, and the ways files format them."""

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

MOBILE_PREFIXES = np.array([130, 131, 132, 133, 135, 136, 137, 138, 139, 150, 151, 152, 155, 157,
                            158, 159, 177, 180, 181, 182, 183, 186, 187, 188, 189, 199])
MOBILE_WEIGHTS = np.linspace(2.0, 0.5, len(MOBILE_PREFIXES))
MOBILE_WEIGHTS /= MOBILE_WEIGHTS.sum()


def _str(values: np.ndarray, width: int) -> pa.Array:
    return pc.utf8_lpad(pc.cast(pa.array(values), pa.string()), width, padding="0")


def _repeats(keys: np.ndarray) -> np.ndarray:
    """Positions holding a key already held at an earlier position."""
    _, first = np.unique(keys, return_index=True)
    repeated = np.ones(len(keys), bool)
    repeated[first] = False
    return np.flatnonzero(repeated)


def mobiles(rng: np.random.Generator, n: int) -> pa.Array:
    """Canonical 11-digit mobile numbers, all different: a number belongs to one subscriber, so two households
    never share one by accident (repeats are drawn again; deterministic per generator state)."""
    prefix = MOBILE_PREFIXES[rng.choice(len(MOBILE_PREFIXES), size=n, p=MOBILE_WEIGHTS)].astype(np.int64)
    number = prefix * 10**8 + rng.integers(0, 10**8, size=n)
    while len(again := _repeats(number)):
        number[again] = prefix[again] * 10**8 + rng.integers(0, 10**8, size=len(again))
    return _str(number, 11)


def landlines(rng: np.random.Generator, area_codes: np.ndarray) -> pa.Array:
    """Canonical landlines 'AAAA-NNNNNNN' (7 or 8 local digits, first digit 6-8), all different."""
    n = len(area_codes)
    area = np.asarray(area_codes).astype(np.int64)
    local = _local_numbers(rng, n)
    while len(again := _repeats(area * 10**8 + local)):
        local[again] = _local_numbers(rng, len(again))
    return pc.binary_join_element_wise(pa.array(area_codes), pc.cast(pa.array(local), pa.string()), "-")


def _local_numbers(rng: np.random.Generator, n: int) -> np.ndarray:
    local = rng.integers(6, 9, size=n) * 10**7 + rng.integers(0, 10**7, size=n)
    return np.where(rng.random(n) < 0.3, local // 10, local)


def formatted(rng: np.random.Generator, phones: pa.Array, messy_share: float) -> pa.Array:
    """Reformat a share of phones the ways exports do: +86, 0086, dashes, spaces, no dash."""
    n = len(phones)
    style = np.where(rng.random(n) < messy_share, rng.integers(1, 6, size=n), 0)
    mobile = pc.equal(pc.utf8_length(phones), 11)
    head, mid, tail = (pc.utf8_slice_codeunits(phones, a, b) for a, b in ((0, 3), (3, 7), (7, 11)))
    mobile_styles = [
        phones,
        pc.binary_join_element_wise("+86", phones, ""),
        pc.binary_join_element_wise("0086", phones, ""),
        pc.binary_join_element_wise(head, mid, tail, "-"),
        pc.binary_join_element_wise(head, mid, tail, " "),
        pc.binary_join_element_wise("+86 ", phones, ""),
    ]
    area = pc.utf8_slice_codeunits(phones, 0, 4)
    local = pc.utf8_slice_codeunits(phones, 5, 20)
    land_styles = [
        phones,
        pc.binary_join_element_wise(area, local, ""),
        pc.binary_join_element_wise(pc.binary_join_element_wise("(", area, ")", ""), local, ""),
        pc.binary_join_element_wise(area, local, " "),
        local,
        pc.binary_join_element_wise("+86-", pc.utf8_slice_codeunits(phones, 1, 20), ""),
    ]
    out = phones
    for k in range(1, 6):
        pick = pa.array(style == k)
        out = pc.if_else(pick, pc.if_else(mobile, mobile_styles[k], land_styles[k]), out)
    return out
