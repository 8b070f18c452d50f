"""Jiangxi administrative division codes the synthetic province draws from.

Codes are the post-2000 county-level codes of Jiangxi (360xxx). Older ID numbers carry the
birthplace code valid when they were issued, so a share of IDs starts with a retired
prefecture-level code (362xxx) while the registry lists today's county.
"""

import numpy as np

# (county code, prefecture area code, relative population weight)
COUNTIES: tuple[tuple[int, str, float], ...] = (
    (360102, "0791", 5.0), (360103, "0791", 4.0), (360104, "0791", 3.5), (360111, "0791", 4.5),
    (360112, "0791", 3.0), (360121, "0791", 6.0), (360123, "0791", 3.0), (360124, "0791", 3.5),
    (360202, "0798", 2.0), (360203, "0798", 2.0), (360222, "0798", 1.5), (360281, "0798", 3.0),
    (360302, "0799", 2.5), (360313, "0799", 2.0), (360321, "0799", 1.5), (360322, "0799", 1.5),
    (360402, "0792", 2.0), (360403, "0792", 1.5), (360423, "0792", 1.5), (360424, "0792", 4.0),
    (360425, "0792", 1.5), (360428, "0792", 4.0), (360429, "0792", 1.5), (360481, "0792", 2.0),
    (360502, "0790", 4.0), (360521, "0790", 1.5), (360602, "0701", 1.5), (360681, "0701", 3.0),
    (360702, "0797", 3.0), (360703, "0797", 3.5), (360704, "0797", 3.0), (360722, "0797", 4.0),
    (360723, "0797", 2.0), (360724, "0797", 3.0), (360725, "0797", 2.0), (360726, "0797", 1.5),
    (360728, "0797", 1.5), (360729, "0797", 2.5), (360730, "0797", 4.5), (360731, "0797", 5.0),
    (360732, "0797", 2.0), (360733, "0797", 3.5), (360734, "0797", 2.0), (360735, "0797", 1.5),
    (360781, "0797", 3.5), (360802, "0796", 2.0), (360803, "0796", 1.5), (360821, "0796", 2.5),
    (360822, "0796", 3.0), (360823, "0796", 1.5), (360824, "0796", 2.0), (360825, "0796", 1.5),
    (360826, "0796", 2.0), (360827, "0796", 2.0), (360828, "0796", 1.5), (360829, "0796", 1.5),
    (360830, "0796", 2.0), (360881, "0796", 2.0), (360902, "0795", 4.0), (360921, "0795", 1.5),
    (360922, "0795", 1.5), (360923, "0795", 1.5), (360924, "0795", 2.0), (360925, "0795", 1.0),
    (360926, "0795", 1.5), (360981, "0795", 3.5), (360982, "0795", 2.5), (360983, "0795", 3.0),
    (361002, "0794", 3.0), (361021, "0794", 2.0), (361022, "0794", 1.0), (361023, "0794", 1.0),
    (361024, "0794", 1.0), (361025, "0794", 1.0), (361026, "0794", 1.0), (361027, "0794", 1.0),
    (361028, "0794", 1.5), (361029, "0794", 1.0), (361030, "0794", 1.0), (361102, "0793", 3.0),
    (361103, "0793", 2.5), (361121, "0793", 3.0), (361123, "0793", 2.0), (361124, "0793", 2.0),
    (361125, "0793", 1.0), (361126, "0793", 2.5), (361127, "0793", 3.5), (361128, "0793", 4.0),
    (361129, "0793", 3.5), (361130, "0793", 2.5), (361181, "0793", 1.5),
)

# Retired prefecture-level codes by the first four digits of today's county code.
LEGACY_PREFECTURE: dict[int, tuple[int, ...]] = {
    3607: (362101, 362121, 362122, 362124),  # Ganzhou prefecture
    3609: (362201, 362202, 362221),          # Yichun prefecture
    3611: (362301, 362321, 362322),          # Shangrao prefecture
    3608: (362401, 362421, 362422),          # Ji'an prefecture
    3610: (362501, 362502, 362522),          # Fuzhou prefecture
    3604: (362601, 362621),                  # Jiujiang prefecture (older still)
}

CODES = np.array([c for c, _, _ in COUNTIES], dtype=np.int64)
AREA_CODES = np.array([a for _, a, _ in COUNTIES])
WEIGHTS = np.array([w for _, _, w in COUNTIES], dtype=np.float64) / sum(w for _, _, w in COUNTIES)


def draw_counties(rng: np.random.Generator, n: int) -> np.ndarray:
    """Indices into COUNTIES, weighted by population."""
    return rng.choice(len(CODES), size=n, p=WEIGHTS)


def birthplace_codes(rng: np.random.Generator, county_idx: np.ndarray, birth_year: np.ndarray) -> np.ndarray:
    """The 6-digit code an ID number starts with: mostly today's county, sometimes a retired
    prefecture code (more likely for people born before 1960), sometimes another county."""
    codes = CODES[county_idx].copy()
    n = len(codes)
    legacy_p = np.where(birth_year < 1960, 0.22, 0.08)
    use_legacy = rng.random(n) < legacy_p
    prefix = codes // 100
    for pre, olds in LEGACY_PREFECTURE.items():
        rows = np.flatnonzero(use_legacy & (prefix == pre))
        codes[rows] = np.asarray(olds)[rng.integers(0, len(olds), size=len(rows))]
    moved = rng.random(n) < 0.05
    codes[moved] = CODES[draw_counties(rng, int(moved.sum()))]
    return codes
