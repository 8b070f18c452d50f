"""``generate_series``: consecutive monthly rounds of one synthetic province, deterministic per seed.

The province's whole span (the first round's evidence year to the last round's as_of) is drawn and rendered once
(synthetic.timeline), so a record has the same record_id and formatting in every round that carries it. Each
round's directory then holds what departments send that month: the evidence and channel sources as a rolling
12-month extract (the records dated within the year before the round's as_of), the death registers as they stand
(every record that has reached the agency by the as_of, late reports from the month they arrive). Between rounds,
truth/certifications.csv lists the face checks the app records through the liveness service and
truth/reviews.csv what reviewers find on their home visits. Layout and columns: docs/generator.md.
"""

from __future__ import annotations

import calendar
import math
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from silentcert.synthetic import (
    channels,
    duplicates,
    evidence,
    files,
    registry,
    rings,
    shapes,
    timeline,
    truth,
)
from silentcert.synthetic.deaths import Deaths
from silentcert.synthetic.events import Draws
from silentcert.synthetic.population import People, draw_people
from silentcert.synthetic.province import stream
from silentcert.synthetic.render import render
from silentcert.synthetic.roundfile import write_round_toml
from silentcert.synthetic.series_truth import SeriesFacts, write_series_truth
from silentcert.synthetic.sources import SPECS, SourceSpec

EXTRACT = np.timedelta64(365, "D")  # what an evidence source sends each month: its records of the past year


@dataclass
class SeriesSummary:
    out: Path
    rounds: list[tuple[str, date, int]]  # round id, as_of, registry rows
    pensioners: int
    joiners: int
    seconds: float = 0.0
    rows: dict[str, int] = field(default_factory=dict)  # per round id: source rows

    def lines(self) -> list[str]:
        head = [f"series: {self.out} ({len(self.rounds)} rounds)",
                f"pensioners: {self.pensioners:,} in the first round, {self.joiners:,} joining later"]
        body = [f"  {rid}  as_of {as_of}  registry {reg:>9,}  source rows {self.rows[rid]:>11,}"
                for rid, as_of, reg in self.rounds]
        return head + body + [f"truth: {self.out / 'truth'}", f"took {self.seconds:.1f}s"]


def round_dates(first: date, months: int) -> list[date]:
    """The as_of of each round: month ends when ``first`` is one, else the same day of each month (clamped)."""
    month_end = first.day == calendar.monthrange(first.year, first.month)[1]
    out = []
    for k in range(months):
        year, month = divmod(first.year * 12 + first.month - 1 + k, 12)
        last = calendar.monthrange(year, month + 1)[1]
        out.append(date(year, month + 1, last if month_end else min(first.day, last)))
    return out


@dataclass
class _Rendered:
    spec: SourceSpec
    table: pa.Table
    truth: pa.Table
    moment: np.ndarray   # datetime64[D] the record is dated
    arrival: np.ndarray  # datetime64[D] it reaches the agency


def generate_series(pensioners: int, months: int, seed: int, as_of: date, out: Path,
                    world: evidence.World | None = None, shape: str = "plain",
                    duplicate_share: float = 0.0) -> SeriesSummary:
    """Write ``months`` round directories ``out/YYYY-MM`` (round.toml, registry, sources, truth/) and the series'
    truth in ``out/truth``. ``pensioners`` is the first round's registry; new pensioners join later."""
    if months < 1:
        raise ValueError(f"a series needs at least one month, got {months}")
    world = world or evidence.WORLDS["default"]
    started = time.perf_counter()
    out = Path(out)
    as_ofs = round_dates(as_of, months)
    days = np.array(as_ofs, dtype="datetime64[D]")
    span = timeline.Span(start=days[0] - EXTRACT, first=days[0], last=days[-1])
    total = pensioners + round(pensioners * timeline.JOIN_RATE * (months - 1))
    people = draw_people(stream(seed, "people"), total, span.last)
    died = timeline.draw_deaths(stream(seed, "deaths"), people.age, total, span)
    join = timeline.draw_joins(stream(seed, "joins"), people, pensioners, months, days)
    died.date[:total][(join > 0) & (died.date[:total] < days[np.maximum(join - 1, 0)])] = np.datetime64("NaT")
    ring_set = rings.draw_rings(stream(seed, "rings"), people, died.date)
    ids = registry.person_ids(stream(seed, "person_ids"), people)
    phone, card = rings.registry_overrides(people, ring_set)
    reg = registry.build_registry(stream(seed, "registry"), people, ids, phone, card, span.first)
    reg.table = _enrolled(reg.table, ids, join, as_ofs)
    pairs = None
    if duplicate_share > 0:
        reg.table, pairs = duplicates.second_accounts(stream(seed, "duplicates"), reg.table, people, ids,
                                                      np.isnat(died.date), duplicate_share)
    segment = evidence.draw_segments(stream(seed, "segments"), people.age, world.weak_only)
    draws, users = _all_draws(seed, people, died, ring_set, segment, span, world)
    changes = timeline.draw_changes(stream(seed, "changes"), people, died, ring_set.ring_of, span)
    ext = timeline.with_aliases(stream(seed, "aliases"), people, changes)
    owner = np.concatenate([np.arange(people.size), changes.person])
    ext_ids = ids.take(pa.array(owner))
    specs = tuple(shapes.shaped(spec, shape) for spec in SPECS)
    rendered = [_render(seed, spec, timeline.apply_changes(draws.pop(spec.name), changes), ext, ext_ids, owner)
                for spec in specs]
    summary = SeriesSummary(out, [], pensioners, total - pensioners)
    for m, day in enumerate(days):
        rid = as_ofs[m].strftime("%Y-%m")
        rows, reg_rows = _write_round(seed, out / rid, m, day, as_ofs[m], rendered, reg, people, ext, ids, died, join,
                                      changes, ring_set, segment, world, shape, specs, pairs)
        summary.rounds.append((rid, as_ofs[m], reg_rows))
        summary.rows[rid] = rows
    facts = SeriesFacts(people=people, ids=ids, died=died, join=join, changes=changes, rings=ring_set,
                        segment=segment, as_ofs=as_ofs, users=users)
    face = next(r for r in rendered if r.spec.name == "face")
    registers = [r for r in rendered if r.spec.kind == "death"]
    write_series_truth(stream(seed, "reviews"), out, facts, face.truth, face.moment, registers, world, pairs)
    summary.seconds = time.perf_counter() - started
    return summary


def _all_draws(seed: int, people: People, died: Deaths, ring_set: rings.Rings, segment: np.ndarray,
               span: timeline.Span, world: evidence.World) -> tuple[dict[str, Draws], np.ndarray]:
    """Every source's records over the span: a year's draws of the single-round generator per year back from
    the last as_of (who uses which source stays the same), relatives' use and the registers over the whole span."""
    cover = evidence.coverage(stream(seed, "coverage"), people, segment)
    users, post = timeline.post_death_use(stream(seed, "post_death"), people, died, span, world)
    parts: dict[str, list[Draws]] = {}
    for b in range(math.ceil(span.years)):
        end = span.last - b * timeline.YEAR
        for source, d in evidence.activity_draws(stream(seed, f"activity:{b}"), people, died, cover, end).items():
            parts.setdefault(source, []).append(d)
        parts["inpatient"].append(evidence.before_death_admissions(stream(seed, f"admissions:{b}"), died, end))
        for source, d in rings.operator_draws(stream(seed, f"ring_use:{b}"), ring_set, end).items():
            parts[source].append(d)
        parts.setdefault("face", []).append(channels.face_draws(stream(seed, f"face:{b}"), segment, died.date,
                                                                 people.pensioners, users, end))
        parts.setdefault("in_person", []).append(channels.in_person_draws(
            stream(seed, f"in_person:{b}"), segment, died.date, people.pensioners, end))
    for source, d in post.items():
        parts[source].append(d)
    for source, d in timeline.register_draws(stream(seed, "registers"), died, span).items():
        parts[source] = [d]
    return {source: Draws.concat(ds) for source, ds in parts.items()}, users


def _render(seed: int, spec: SourceSpec, draws: Draws, people: People, ids: pa.Array,
            owner: np.ndarray) -> _Rendered:
    table, src_truth = render(stream(seed, "render:" + spec.name), spec, draws, people, ids)
    moment = pc.cast(pc.strptime(src_truth["occurred_at"], "%Y-%m-%d %H:%M:%S", "s"), pa.int64()).to_numpy()
    moment = moment.astype("datetime64[s]")
    lag = src_truth["lag"].to_numpy() if "lag" in src_truth.column_names else np.zeros(len(moment), np.int64)
    index = src_truth["person_index"].to_numpy()
    src_truth = src_truth.set_column(src_truth.column_names.index("person_index"), "person_index",
                                     pa.array(np.where(index >= 0, owner[np.maximum(index, 0)], -1)))
    if "lag" in src_truth.column_names:
        src_truth = src_truth.drop_columns(["lag"])
    day = moment.astype("datetime64[D]")
    return _Rendered(spec, table, src_truth, day, timeline.arrival(day, lag) if spec.kind == "death" else day)


def _write_round(seed: int, out: Path, m: int, day: np.datetime64, as_of: date, rendered: list[_Rendered],
                 reg: registry.Registry, people: People, ext: People, ids: pa.Array, died: Deaths, join: np.ndarray,
                 changes: timeline.Changes, ring_set: rings.Rings, segment: np.ndarray, world: evidence.World,
                 shape: str, specs: tuple[SourceSpec, ...], pairs: pa.Table | None) -> tuple[int, int]:
    """One round directory; returns its source rows and registry rows."""
    rid = as_of.strftime("%Y-%m")
    out.mkdir(parents=True, exist_ok=True)
    table = _registry_of(reg.table, ext, ids, join, changes, m, day)
    files.write_csv(shapes.with_unused_columns(stream(seed, f"shape:{rid}:registry"), table, shape),
                    out / "registry.csv")
    ledger = truth.Ledger(people, out)
    joined = np.concatenate([join <= m, np.zeros(people.size - people.pensioners, bool)])
    rows = 0
    for r in rendered:
        keep = r.arrival <= day if r.spec.kind == "death" else (r.moment <= day) & (r.moment > day - EXTRACT)
        src = r.table.filter(pa.array(keep))
        src_truth = _round_truth(r.truth.filter(pa.array(keep)), joined)
        rows += src.num_rows
        src = shapes.with_unused_columns(stream(seed, f"shape:{rid}:{r.spec.name}"), src, shape)
        shapes.write_source(src, out / r.spec.file, r.spec, shape)
        ledger.add(r.spec.kind, r.spec.name, src_truth)
    deaths_m = _deaths_by(died, day)
    persons = truth.persons_table(ledger, people, deaths_m, ring_set, segment, ids, reg.legacy_id, day)
    persons = persons.filter(pa.array(join <= m))
    files.write_csv(persons.sort_by("person_id"), out / "truth" / "persons.csv")
    truth.write_rings(out, ring_set, ids, deaths_m.date)
    truth.write_world(out, world)
    if pairs is not None:
        files.write_csv(pairs, out / "truth" / "duplicates.csv")
    write_round_toml(out, as_of, specs)
    return rows, table.num_rows


def _round_truth(src_truth: pa.Table, joined: np.ndarray) -> pa.Table:
    """A source's truth rows for one round: rows renumbered in file order, nobody's for people not yet joined."""
    index = src_truth["person_index"].to_numpy()
    known = (index >= 0) & joined[np.maximum(index, 0)]
    columns = {"row": pa.array(np.arange(1, src_truth.num_rows + 1)),
               "person_id": pc.if_else(pa.array(known), src_truth["person_id"], pa.nulls(len(index), pa.string())),
               "person_index": pa.array(np.where(known, index, -1))}
    for name, column in columns.items():
        src_truth = src_truth.set_column(src_truth.column_names.index(name), name, column)
    return src_truth


def _deaths_by(died: Deaths, day: np.datetime64) -> Deaths:
    """What has happened by ``day``: deaths and false records after it are still to come."""
    dead = died.date <= day
    false = died.false_date <= day
    return Deaths(date=np.where(dead, died.date, np.datetime64("NaT")), unreported=died.unreported & dead,
                  false_source=np.where(false, died.false_source, -1),
                  false_date=np.where(false, died.false_date, np.datetime64("NaT")))


def _enrolled(table: pa.Table, ids: pa.Array, join: np.ndarray, as_ofs: list[date]) -> pa.Table:
    """A joiner is certified in person on enrolment: their period runs a year from the as_of of the round before
    the one they join."""
    joiners = np.flatnonzero(join > 0)
    if not len(joiners):
        return table
    until = pa.array([add_year(as_ofs[j - 1]).isoformat() for j in join[joiners]], pa.string())
    position = pc.index_in(table["person_id"], value_set=ids.take(pa.array(joiners)))
    column = pc.if_else(pc.is_valid(position), until.take(pc.fill_null(position, 0)), table["certified_until"])
    return table.set_column(table.column_names.index("certified_until"), "certified_until", column)


def add_year(day: date) -> date:
    return day.replace(year=day.year + 1, day=min(day.day, calendar.monthrange(day.year + 1, day.month)[1]))


def _registry_of(table: pa.Table, ext: People, ids: pa.Array, join: np.ndarray, changes: timeline.Changes,
                 m: int, day: np.datetime64) -> pa.Table:
    """The registry as the agency holds it at round m: the pensioners who have joined, with the phone, card and
    county changes it has learnt of (the new value is the person's alias row in ``ext``)."""
    waiting = ids.take(pa.array(np.flatnonzero(join > m)))
    table = table.filter(pc.invert(pc.is_in(table["person_id"], value_set=waiting)))
    known = changes.registry_learns & (changes.at <= day)
    county = pc.cast(pa.array(ext.county_code), pa.string())
    for k, (column, values) in enumerate((("phone", ext.phone), ("card_no", ext.card_no), ("county_code", county))):
        pick = known & (changes.kind == k)
        if not pick.any():
            continue
        who = ids.take(pa.array(changes.person[pick]))
        new = values.take(pa.array(changes.alias[pick]))
        position = pc.index_in(table["person_id"], value_set=who)
        updated = pc.if_else(pc.is_valid(position), new.take(pc.fill_null(position, 0)), table[column])
        table = table.set_column(table.column_names.index(column), column, updated)
    return table
