"""payments.csv over two rounds on one embedded store (October, then December: two payment days later).

October suspends the lapsed and the people under review and stops the confirmed dead. Between the rounds a
reviewer clears a false death. December brings strong evidence for lapsed people (restore with the arrears of two
payment days), a confirmed death of a paid person (stop with the death check's overpayment) and the death, dated
before October, of a person whose payments October already suspended (stop with only the payments made).
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import shutil
from pathlib import Path

import duckdb
import pytest

from silentcert.clients.rounds import run_round_files
from silentcert.graph.embedded import EmbeddedStore
from silentcert.graph.model import FlagFilter
from silentcert.services.deathcheck.review import decide
from silentcert.synthetic import generate

OCTOBER = dt.date(2021, 10, 31)
DECEMBER = dt.date(2021, 12, 31)
NEW_DEATH = dt.date(2021, 11, 20)  # paid until December: one payment (Dec 15) after it
EARLY_DEATH = dt.date(2021, 8, 1)  # payments held from October 31: Aug 15, Sep 15, Oct 15 were paid after it
COLUMNS = ["person_id", "action", "effective", "months", "amount"]


def _rows(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _by_person(path: Path) -> dict[str, dict[str, str]]:
    rows = _rows(path)
    assert len(rows) == len({r["person_id"] for r in rows}), f"{path.name}: more than one row a person"
    return {row["person_id"]: row for row in rows}


def _write(path: Path, header: list[str], rows: list[list[str]]) -> None:
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)


def _december_round(october: Path, december: Path, boosted: list[dict], newly_dead: dict, early_dead: dict) -> None:
    """October's files two months later, with new vaccinations and two more death registers."""
    shutil.copytree(october, december)
    text = (december / "round.toml").read_text(encoding="utf-8")
    text = text.replace('id = "2021-10"', 'id = "2021-12"').replace("as_of = 2021-10-31", "as_of = 2021-12-31")
    text += '\n[[sources]]\nname = "vaccination_booster"\nkind = "strong"\nfile = "booster.csv"\n'
    for register in ("hospital_late", "crematorium"):
        text += f'\n[[sources]]\nname = "{register}"\nkind = "death"\nfile = "{register}.csv"\n'
        _write(december / f"{register}.csv", ["record_id", "occurred_at", "id_number", "name"],
               [[f"{register}-1", NEW_DEATH.isoformat(), newly_dead["id_number"], newly_dead["name"]],
                [f"{register}-2", EARLY_DEATH.isoformat(), early_dead["id_number"], early_dead["name"]]])
    (december / "round.toml").write_text(text, encoding="utf-8")
    _write(december / "booster.csv", ["record_id", "occurred_at", "id_number", "name"],
           [[f"B{i}", "2021-12-10", p["id_number"], p["name"]] for i, p in enumerate(boosted)])


def _confirmed_deaths(out: Path) -> dict[str, tuple[float, str]]:
    """person_id -> (overpayment, detail) of the round's confirmed_death flags (the store keeps only the latest
    round's figure of a flag raised again)."""
    with duckdb.connect(str(out / "state" / "round.duckdb"), read_only=True) as con:
        return {p: (o, d) for p, o, d in con.execute(
            "SELECT person_id, overpayment, detail FROM flags WHERE kind = 'confirmed_death'").fetchall()}


def _strong_after(out: Path, day: dt.date) -> set[str]:
    """People with a strong or certification record linked to them after `day` (they would go to review)."""
    with duckdb.connect(str(out / "state" / "round.duckdb"), read_only=True) as con:
        return {r[0] for r in con.execute(
            "SELECT DISTINCT l.person_id FROM links l JOIN records r USING (rid) WHERE l.person_id IS NOT NULL "
            "AND r.kind IN ('strong', 'face', 'in_person') AND r.occurred_at::DATE > ?", [day]).fetchall()}


@pytest.fixture(scope="module")
def rounds(tmp_path_factory):
    base = tmp_path_factory.mktemp("payments")
    generate(pensioners=2500, seed=23, as_of=OCTOBER, out=base / "round-10")
    store = base / "graph.duckdb"
    run_round_files(base / "round-10" / "round.toml", base / "out-10", store=store, neo4j_uri=None)
    verdicts = _by_person(base / "out-10" / "verdicts.csv")
    payments = _by_person(base / "out-10" / "payments.csv")
    registry = {r["person_id"]: r for r in _rows(base / "round-10" / "registry.csv")
                if len(r["id_number"].strip()) == 18}
    lapsed = [registry[p] for p, row in payments.items()
              if row["action"] == "suspend" and verdicts[p]["status"] == "uncertified" and p in registry]
    active = _strong_after(base / "out-10", EARLY_DEATH)
    early_dead = next(p for p in lapsed if p["person_id"] not in active)
    boosted = [p for p in lapsed if p is not early_dead]
    newly_dead = next(r for p, r in registry.items()
                      if verdicts[p]["status"] == "certified" and verdicts[p]["certified_until"] > "2022-06-30"
                      and p not in payments)
    with EmbeddedStore(store) as graph:
        open_deaths = graph.flags(FlagFilter(kind="unconfirmed_death", status="open"))
        valid = [f for f in open_deaths if verdicts[f.person_id]["certified_until"] >= DECEMBER.isoformat()]
        cleared = decide(graph, valid[0].flag_id, "dismiss", "reviewer-1", "seen at the bank in person",
                         dt.datetime(2021, 11, 2, tzinfo=dt.UTC))
    _december_round(base / "round-10", base / "round-12", boosted, newly_dead, early_dead)
    run_round_files(base / "round-12" / "round.toml", base / "out-12", store=store, neo4j_uri=None)
    return {"base": base, "store": store, "registry": {r["person_id"]: r for r in _rows(base / "round-10" /
                                                                                           "registry.csv")},
            "boosted": boosted, "newly_dead": newly_dead, "early_dead": early_dead, "cleared": cleared}


def _pension(rounds, person_id: str) -> float:
    return float(rounds["registry"][person_id]["monthly_pension"])


def _december(rounds) -> dict[str, dict[str, str]]:
    return _by_person(rounds["base"] / "out-12" / "payments.csv")


def test_the_first_round_suspends_the_held_and_stops_the_dead_at_the_death_checks_figure(rounds):
    out = rounds["base"] / "out-10"
    with open(out / "payments.csv", encoding="utf-8", newline="") as handle:
        assert next(csv.reader(handle)) == COLUMNS
    payments = _by_person(out / "payments.csv")
    verdicts = _by_person(out / "verdicts.csv")
    for person_id, verdict in verdicts.items():
        expected = {"deceased": "stop", "review": "suspend"}.get(verdict["status"])
        if verdict["status"] == "uncertified" and verdict["certified_until"] and \
                verdict["certified_until"] < "2021-08-02":  # ended more than the 90 grace days before October 31
            expected = "suspend"
        assert payments.get(person_id, {}).get("action") == expected, (person_id, verdict)
    stops = {p: row for p, row in payments.items() if row["action"] == "stop"}
    confirmed = _confirmed_deaths(out)
    assert stops and set(stops) == set(confirmed)
    for person_id, row in stops.items():
        overpayment, detail = confirmed[person_id]
        assert float(row["amount"]) == overpayment, (row, detail)
        assert f"{row['months']} monthly payment(s)" in detail and f"Death on {row['effective']} confirmed" in detail
    money = json.loads((out / "report.json").read_text(encoding="utf-8"))["payments"]
    assert money["stopped"] == {"people": len(stops), "overpayment_yuan": round(sum(
        o for o, _ in confirmed.values()), 2)}
    assert money["suspended"]["people"] == sum(row["action"] == "suspend" for row in payments.values())


def test_strong_evidence_after_a_lapse_restores_with_the_arrears_of_the_months_held(rounds):
    payments = _december(rounds)
    assert len(rounds["boosted"]) >= 5
    for person in rounds["boosted"]:
        row = payments[person["person_id"]]
        assert (row["action"], row["effective"], row["months"]) == ("restore", "2021-12-31", "2"), row
        assert float(row["amount"]) == round(2 * _pension(rounds, person["person_id"]), 2)


def test_a_reviewer_clearing_a_false_death_restores_the_payments_held_for_review(rounds):
    person_id = rounds["cleared"].person_id
    assert _by_person(rounds["base"] / "out-10" / "payments.csv")[person_id]["action"] == "suspend"
    row = _december(rounds)[person_id]
    assert (row["action"], row["months"]) == ("restore", "2"), row
    assert float(row["amount"]) == round(2 * _pension(rounds, person_id), 2)


def test_a_confirmed_death_of_a_paid_person_stops_with_the_death_checks_overpayment(rounds):
    person_id = rounds["newly_dead"]["person_id"]
    row = _december(rounds)[person_id]
    assert (row["action"], row["effective"], row["months"]) == ("stop", NEW_DEATH.isoformat(), "1"), row
    overpayment, _ = _confirmed_deaths(rounds["base"] / "out-12")[person_id]
    assert float(row["amount"]) == overpayment == round(_pension(rounds, person_id), 2)


def test_a_death_after_payments_were_suspended_recovers_only_what_was_paid(rounds):
    person_id = rounds["early_dead"]["person_id"]
    row = _december(rounds)[person_id]
    assert (row["action"], row["effective"], row["months"]) == ("stop", EARLY_DEATH.isoformat(), "3"), row
    pension = _pension(rounds, person_id)
    assert float(row["amount"]) == round(3 * pension, 2)
    overpayment, _ = _confirmed_deaths(rounds["base"] / "out-12")[person_id]
    assert overpayment == round(5 * pension, 2)  # the flag counts every payment day up to December


def test_unchanged_payment_status_writes_nothing(rounds):
    october = _by_person(rounds["base"] / "out-10" / "payments.csv")
    december = _december(rounds)
    verdicts = _by_person(rounds["base"] / "out-12" / "verdicts.csv")
    for person_id, row in october.items():
        if row["action"] == "stop":
            assert person_id not in december and verdicts[person_id]["status"] == "deceased"
    still_held = [p for p, row in october.items() if row["action"] == "suspend"
                  and verdicts[p]["status"] in ("uncertified", "review")]
    assert still_held and [p for p in still_held if p in december] == []


def test_a_publish_run_again_writes_the_same_file(rounds):
    out = rounds["base"] / "out-12"
    before = (out / "payments.csv").read_bytes()
    with duckdb.connect(str(out / "state" / "round.duckdb")) as con:
        con.execute("DELETE FROM stages WHERE stage = 'publish'")  # as if killed during the publish
    summary = run_round_files(rounds["base"] / "round-12" / "round.toml", out, store=rounds["store"],
                              neo4j_uri=None)
    assert summary.resumed_from == "publish"
    assert (out / "payments.csv").read_bytes() == before
