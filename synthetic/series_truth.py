"""The truth of a whole series (``out/truth``): each pensioner's life over the months, the face checks the app
records between rounds, and what reviewers find when they visit the people a death register names."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import pyarrow as pa

from silentcert.synthetic import dates, files, truth
from silentcert.synthetic.deaths import SOURCES as DEATH_SOURCES
from silentcert.synthetic.deaths import Deaths
from silentcert.synthetic.evidence import SEGMENTS, World
from silentcert.synthetic.population import People
from silentcert.synthetic.rings import Rings
from silentcert.synthetic.timeline import CHANGES, Changes

VISIT_CHANCE = 0.6   # a month, that a reviewer visits a person a register names (the queue is worked in turn)
VISIT_DAYS = 20      # visits fall within this many days after a round


@dataclass
class SeriesFacts:
    people: People
    ids: pa.Array
    died: Deaths
    join: np.ndarray        # per pensioner: index of the first round whose registry holds them
    changes: Changes
    rings: Rings
    segment: np.ndarray
    as_ofs: list[date]
    users: np.ndarray       # relatives keep using the dead person's identifiers

    @property
    def round_ids(self) -> list[str]:
        return [d.strftime("%Y-%m") for d in self.as_ofs]


def write_series_truth(rng: np.random.Generator, out: Path, facts: SeriesFacts, face: pa.Table,
                       face_day: np.ndarray, registers: list, world: World, pairs: pa.Table | None) -> None:
    """truth/series.json, persons.csv, certifications.csv, reviews.csv, rings.csv, world.json (duplicates.csv)."""
    folder = out / "truth"
    folder.mkdir(parents=True, exist_ok=True)
    days = np.array(facts.as_ofs, dtype="datetime64[D]")
    reported = _first_report(facts, registers)
    rounds = [{"round_id": rid, "as_of": d.isoformat(), "round_toml": f"{rid}/round.toml"}
              for rid, d in zip(facts.round_ids, facts.as_ofs, strict=True)]
    (folder / "series.json").write_text(json.dumps({"rounds": rounds}, indent=1) + "\n", encoding="utf-8")
    files.write_csv(_persons(facts, reported, days), folder / "persons.csv")
    files.write_csv(_certifications(facts, face, face_day, days), folder / "certifications.csv")
    files.write_csv(_reviews(rng, facts, reported, days), folder / "reviews.csv")
    truth.write_rings(out, facts.rings, facts.ids, facts.died.date)
    truth.write_world(out, world)
    if pairs is not None:
        files.write_csv(pairs, folder / "duplicates.csv")


def _first_report(facts: SeriesFacts, registers: list) -> np.ndarray:
    """Per person, the day the first sound death-register record (true or false) reaches the agency."""
    first = np.full(facts.people.size, np.datetime64("NaT"), "datetime64[D]")
    never = np.datetime64("2999-12-31")
    best = np.full(facts.people.size, never)
    for r in registers:
        index = r.truth["person_index"].to_numpy()
        sound = (index >= 0) & (r.truth["malformed"].to_numpy() == 0)
        np.minimum.at(best, index[sound], r.arrival[sound])
    first[best != never] = best[best != never]
    return first


def _round_of(day: np.ndarray, days: np.ndarray) -> np.ndarray:
    """Index of the first round whose as_of is on or after ``day`` (len(days) when none)."""
    return np.searchsorted(days, day.astype("datetime64[D]"), side="left")


def _persons(facts: SeriesFacts, reported: np.ndarray, days: np.ndarray) -> pa.Table:
    n = facts.people.pensioners
    rid = np.asarray(facts.round_ids + [""])
    died = facts.died
    death, first = died.date[:n], reported[:n]
    late = ~np.isnat(first) & ~np.isnat(death) & (_round_of(first, days) > _round_of(death, days))
    kind = np.full(n, "", dtype=object)
    changed = np.full(n, np.datetime64("NaT"), "datetime64[D]")
    learns = np.zeros(n, np.int8)
    kind[facts.changes.person] = np.asarray(CHANGES)[facts.changes.kind]
    changed[facts.changes.person] = facts.changes.at
    learns[facts.changes.person] = facts.changes.registry_learns
    false_src = died.false_source[:n]
    table = pa.table({
        "person_id": facts.ids.slice(0, n),
        "true_id_number": facts.people.id18.slice(0, n),
        "joins": pa.array(rid[facts.join]),
        "death_date": dates.render(death, "iso"),
        "death_unreported": pa.array(died.unreported[:n].astype(np.int8)),
        "death_reported_at": dates.render(first, "iso"),
        "late_death_report": pa.array(late.astype(np.int8)),
        "false_death_record": pa.array(np.where(false_src >= 0, np.asarray(DEATH_SOURCES + ("",))[false_src], "")),
        "false_death_date": dates.render(died.false_date[:n], "iso"),
        "post_death_use": pa.array(facts.users[:n].astype(np.int8)),
        "change": pa.array(kind.astype(str)),
        "changed_at": dates.render(changed, "iso"),
        "registry_learns": pa.array(learns),
        "segment": pa.array(np.asarray(SEGMENTS)[facts.segment[:n]]),
        "ring_id": pa.array(np.where(facts.rings.ring_of[:n] >= 0,
                                     np.char.add("R", facts.rings.ring_of[:n].astype(str)), "")),
    })
    return table.sort_by("person_id")


def _certifications(facts: SeriesFacts, face: pa.Table, face_day: np.ndarray, days: np.ndarray) -> pa.Table:
    """Face checks made after one round and by the next: the app records each through RecordCertification."""
    index = face["person_index"].to_numpy()
    after = _round_of(face_day, days) - 1  # made after round `after` (its as_of) and by round after + 1
    joined = np.zeros(len(index), bool)
    ok = index >= 0
    joined[ok] = facts.join[np.minimum(index[ok], facts.people.pensioners - 1)] <= np.maximum(after[ok], 0)
    keep = ok & (index < facts.people.pensioners) & (face["malformed"].to_numpy() == 0) & joined \
        & (after >= 0) & (after < len(days) - 1) & (face_day > days[np.clip(after, 0, len(days) - 1)])
    rows = face.filter(pa.array(keep))
    table = pa.table({
        "after_round": pa.array(np.asarray(facts.round_ids)[after[keep]]),
        "person_id": rows["person_id"],
        "record_id": rows["record_id"],
        "occurred_at": rows["occurred_at"],
        "passed": rows["passed"],
    })
    return table.sort_by([("occurred_at", "ascending"), ("record_id", "ascending")])


def _reviews(rng: np.random.Generator, facts: SeriesFacts, reported: np.ndarray, days: np.ndarray) -> pa.Table:
    """Home visits after a round to the people a register names (true or false records), a month or more after
    the record arrives; the finding is what the reviewer sees on the day: alive or dead."""
    n = facts.people.pensioners
    named = np.flatnonzero(~np.isnat(reported[:n]))
    arrived = _round_of(reported[named], days)
    visit = np.maximum(arrived, facts.join[named]) + rng.geometric(VISIT_CHANCE, len(named)) - 1
    keep = visit < len(days) - 1
    who, visit = named[keep], visit[keep]
    on = days[visit] + rng.integers(1, VISIT_DAYS + 1, len(who)).astype("timedelta64[D]")
    dead = ~np.isnat(facts.died.date[who]) & (facts.died.date[who] <= on)
    table = pa.table({
        "after_round": pa.array(np.asarray(facts.round_ids)[visit]),
        "person_id": facts.ids.take(pa.array(who)),
        "decided_at": dates.render(on, "iso"),
        "finding": pa.array(np.where(dead, "dead", "alive")),
    })
    return table.sort_by([("after_round", "ascending"), ("person_id", "ascending")])

