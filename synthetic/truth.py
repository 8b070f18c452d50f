"""Ground truth: what really happened, to score linkage, survival and death checks against.

``links.csv`` is written source by source as files are rendered; the per-person facts are
accumulated in a :class:`Ledger` and written at the end as ``persons.csv``.
"""

import dataclasses
import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from silentcert.synthetic import dates, files
from silentcert.synthetic.deaths import SOURCES as DEATH_SOURCES
from silentcert.synthetic.deaths import Deaths
from silentcert.synthetic.evidence import SEGMENTS, World
from silentcert.synthetic.population import People
from silentcert.synthetic.rings import Rings

LINK_COLUMNS = ("source", "record_id", "row", "person_id", "occurred_at", "malformed", "malformed_kind",
                "post_death", "false_death", "ring_operator", "passed", "noise")
NEVER = np.iinfo(np.int64).min


class Ledger:
    """Per-person aggregates of the rows written so far, plus the open links.csv."""

    def __init__(self, people: People, out: Path):
        n = people.size
        self.last = {k: np.full(n, NEVER, np.int64) for k in ("strong", "weak", "face", "in_person")}
        self.first_death_record = np.full(n, np.iinfo(np.int64).max, np.int64)
        self.death_sources = np.zeros(n, np.int64)
        self.post_death_weak = np.zeros(n, bool)
        self.face_failed = np.zeros(n, bool)
        self.path = out / "truth" / "links.csv"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(",".join(LINK_COLUMNS) + "\n", encoding="utf-8")

    def add(self, kind: str, source: str, truth: pa.Table) -> None:
        """Record one source's truth rows: append to links.csv and update the aggregates."""
        n = truth.num_rows
        for tag in LINK_COLUMNS:
            if tag not in truth.column_names:
                truth = truth.append_column(tag, pa.array(np.zeros(n, np.int8)))
        with open(self.path, "ab") as out:
            out.write(files.csv_body(truth.select(list(LINK_COLUMNS)), "\n"))
        person = truth.column("person_index").to_numpy()
        sound = (person >= 0) & (truth.column("malformed").to_numpy() == 0)
        moment = pc.cast(pc.strptime(truth.column("occurred_at"), "%Y-%m-%d %H:%M:%S", "s"), pa.int64()).to_numpy()
        post = truth.column("post_death").to_numpy() == 1
        if kind == "death":
            np.minimum.at(self.first_death_record, person[sound], moment[sound])
            np.bitwise_or.at(self.death_sources, person[sound], 1 << DEATH_SOURCES.index(source))
            return
        passed = truth.column("passed").to_numpy() == 1 if kind in ("face", "in_person") else np.ones(n, bool)
        use = sound & ~post & passed
        np.maximum.at(self.last[kind], person[use], moment[use])
        if kind == "weak":
            self.post_death_weak[person[sound & post]] = True
        if kind == "face":
            self.face_failed[person[sound & ~passed]] = True


def _stamp(values: np.ndarray, sentinel: int) -> pa.Array:
    moments = np.where(values == sentinel, np.datetime64("NaT", "s"), values.astype("datetime64[s]"))
    return dates.render(moments, "iso_time")


def _bits_to_names(bits: np.ndarray) -> pa.Array:
    cols = [pc.if_else(pa.array((bits >> k) & 1 == 1), pa.scalar(name + ";"), pa.scalar(""))
            for k, name in enumerate(DEATH_SOURCES)]
    return pc.utf8_rtrim(pc.binary_join_element_wise(*cols, ""), characters=";")


def write_persons(out: Path, ledger: Ledger, people: People, deaths: Deaths, rings: Rings, segment: np.ndarray,
                  person_ids: pa.Array, legacy_id: np.ndarray, as_of: np.datetime64) -> None:
    """truth/persons.csv: one row per pensioner, in person_id order."""
    table = persons_table(ledger, people, deaths, rings, segment, person_ids, legacy_id, as_of)
    files.write_csv(table.sort_by("person_id"), out / "truth" / "persons.csv")


def persons_table(ledger: Ledger, people: People, deaths: Deaths, rings: Rings, segment: np.ndarray,
                  person_ids: pa.Array, legacy_id: np.ndarray, as_of: np.datetime64) -> pa.Table:
    """The rows of truth/persons.csv, in People order (see docs/generator.md)."""
    n = people.pensioners
    cut = slice(0, n)
    window = as_of - np.timedelta64(365, "D")
    death = deaths.date[cut]
    first_record = ledger.first_death_record[cut]
    has_record = first_record != np.iinfo(np.int64).max
    false_src = deaths.false_source[cut]
    return pa.table({
        "person_id": person_ids.slice(0, n),
        "true_id_number": people.id18.slice(0, n),
        "legacy_id_in_registry": pa.array(legacy_id.astype(np.int8)),
        "age": pa.array(np.floor(people.age[cut]).astype(np.int64)),
        "alive": pa.array(np.isnat(death).astype(np.int8)),
        "death_date": dates.render(death, "iso"),
        "died_in_window": pa.array((death >= window).astype(np.int8)),
        "death_unreported": pa.array(deaths.unreported[cut].astype(np.int8)),
        "death_sources": _bits_to_names(ledger.death_sources[cut]),
        "first_death_record_at": _stamp(first_record, np.iinfo(np.int64).max),
        "false_death_record": pa.array(np.where(false_src >= 0, np.asarray(DEATH_SOURCES + ("",))[false_src], "")),
        "false_death_date": dates.render(deaths.false_date[cut], "iso"),
        "segment": pa.array(np.asarray(SEGMENTS)[segment[cut]]),
        "couple_id": pa.array(np.where(people.couple_id[cut] >= 0, people.couple_id[cut].astype(str), "")),
        "ring_id": pa.array(np.where(rings.ring_of[cut] >= 0, np.char.add("R", rings.ring_of[cut].astype(str)), "")),
        "post_death_weak_use": pa.array(ledger.post_death_weak[cut].astype(np.int8)),
        "post_death_strong": pa.array((has_record & (ledger.last["strong"][cut] > first_record)).astype(np.int8)),
        "last_strong_at": _stamp(ledger.last["strong"][cut], NEVER),
        "last_weak_at": _stamp(ledger.last["weak"][cut], NEVER),
        "face_passed_at": _stamp(ledger.last["face"][cut], NEVER),
        "face_failed": pa.array(ledger.face_failed[cut].astype(np.int8)),
        "in_person_at": _stamp(ledger.last["in_person"][cut], NEVER),
    })


def write_rings(out: Path, rings: Rings, person_ids: pa.Array, death_date: np.ndarray) -> None:
    """truth/rings.csv: one row per ring member."""
    members = np.flatnonzero(rings.ring_of >= 0)
    ring = rings.ring_of[members]
    table = pa.table({
        "ring_id": pa.array(np.char.add("R", ring.astype(str))),
        "kind": pa.array(np.asarray(rings.kind)[ring]),
        "shared_value": pa.array(np.asarray(rings.value)[ring]),
        "person_id": person_ids.take(pa.array(members)),
        "alive": pa.array(np.isnat(death_date[members]).astype(np.int8)),
    })
    files.write_csv(table.sort_by([("ring_id", "ascending"), ("person_id", "ascending")]), out / "truth" / "rings.csv")


def write_world(out: Path, world: World) -> None:
    """truth/world.json: the knobs the round was generated with (relatives' behaviour, evidence mix)."""
    path = out / "truth" / "world.json"
    path.write_text(json.dumps(dataclasses.asdict(world), indent=1) + "\n", encoding="utf-8")
