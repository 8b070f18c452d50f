"""``generate``: one synthetic province round, deterministic per seed.

Each stage draws from its own random stream (seed + stage label), so changing one source's
recipe leaves every other file byte-identical.
"""

import time
import zlib
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np

from silentcert.synthetic import channels, deaths, duplicates, evidence, files, registry, rings, shapes, truth
from silentcert.synthetic.events import Draws
from silentcert.synthetic.population import draw_people
from silentcert.synthetic.render import render
from silentcert.synthetic.roundfile import write_round_toml
from silentcert.synthetic.sources import SPECS


@dataclass
class Summary:
    out: Path
    round_file: Path
    pensioners: int
    died_in_window: int
    rows: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    def lines(self) -> list[str]:
        head = [f"round: {self.round_file}", f"pensioners: {self.pensioners:,}",
                f"died within the year: {self.died_in_window:,}"]
        return head + [f"  {name:<16} {count:>12,} rows" for name, count in self.rows.items()] + [
            f"truth: {self.out / 'truth'}", f"took {self.seconds:.1f}s"]


def stream(seed: int, label: str) -> np.random.Generator:
    """The random stream of one stage: the same seed and label draw the same numbers, whatever other stages do."""
    return np.random.default_rng([seed, zlib.crc32(label.encode())])


def generate(pensioners: int, seed: int, as_of: date, out: Path, world: evidence.World | None = None,
             shape: str = "plain", duplicate_share: float = 0.0) -> Summary:
    """Write a round directory (round.toml, registry, sources) and its truth/ into ``out``.

    ``world`` sets how relatives behave after a death and the evidence mix (default: ``evidence.WORLDS["default"]``);
    it is written to ``truth/world.json``, never into the round directory the pipeline reads. ``shape`` is how the
    files are written (synthetic.shapes.SHAPES): the records are the same either way. ``duplicate_share`` of the
    living get a second account (truth/duplicates.csv)."""
    world = world or evidence.WORLDS["default"]
    started = time.perf_counter()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    day = np.datetime64(as_of, "D")
    people = draw_people(stream(seed, "people"), pensioners, day)
    died = deaths.draw_deaths(stream(seed, "deaths"), people.age, pensioners, day)
    ring_set = rings.draw_rings(stream(seed, "rings"), people, died.date)
    ids = registry.person_ids(stream(seed, "person_ids"), people)
    phone, card = rings.registry_overrides(people, ring_set)
    reg = registry.build_registry(stream(seed, "registry"), people, ids, phone, card, day)
    if duplicate_share > 0:  # second accounts of living pensioners; which they are only in truth/duplicates.csv
        reg.table, pairs = duplicates.second_accounts(stream(seed, "duplicates"), reg.table, people, ids,
                                                      np.isnat(died.date), duplicate_share)
        (out / "truth").mkdir(exist_ok=True)
        files.write_csv(pairs, out / "truth" / "duplicates.csv")
    files.write_csv(shapes.with_unused_columns(stream(seed, "shape:registry"), reg.table, shape), out / "registry.csv")
    segment = evidence.draw_segments(stream(seed, "segments"), people.age, world.weak_only)
    draws = _all_draws(seed, people, died, ring_set, segment, day, world)
    ledger = truth.Ledger(people, out)
    rows = {}
    specs = tuple(shapes.shaped(spec, shape) for spec in SPECS)
    for spec in specs:
        table, source_truth = render(stream(seed, "render:" + spec.name), spec, draws.pop(spec.name), people, ids)
        rows[spec.name] = table.num_rows
        table = shapes.with_unused_columns(stream(seed, "shape:" + spec.name), table, shape)
        shapes.write_source(table, out / spec.file, spec, shape)
        ledger.add(spec.kind, spec.name, source_truth)
    truth.write_persons(out, ledger, people, died, ring_set, segment, ids, reg.legacy_id, day)
    truth.write_rings(out, ring_set, ids, died.date)
    truth.write_world(out, world)
    round_file = write_round_toml(out, as_of, specs)
    window = day - np.timedelta64(365, "D")
    in_window = int((died.date[:pensioners] >= window).sum())
    return Summary(out, round_file, pensioners, in_window, rows, time.perf_counter() - started)


def _all_draws(seed: int, people, died, ring_set, segment, day, world: evidence.World) -> dict[str, Draws]:
    """Every source's records before rendering."""
    cover = evidence.coverage(stream(seed, "coverage"), people, segment)
    parts = {k: [v] for k, v in evidence.activity_draws(stream(seed, "activity"), people, died, cover, day).items()}
    parts["inpatient"].append(evidence.before_death_admissions(stream(seed, "admissions"), died, day))
    users, post = evidence.post_death_use(stream(seed, "post_death"), people, died, day, world)
    for source, d in post.items():
        parts[source].append(d)
    for source, d in rings.operator_draws(stream(seed, "ring_use"), ring_set, day).items():
        parts[source].append(d)
    for source, d in deaths.register_draws(stream(seed, "registers"), died, day).items():
        parts[source] = [d]
    parts["face"] = [channels.face_draws(stream(seed, "face"), segment, died.date, people.pensioners, users, day)]
    parts["in_person"] = [channels.in_person_draws(stream(seed, "in_person"), segment, died.date, people.pensioners, day)]
    return {source: Draws.concat(ds) for source, ds in parts.items()}
