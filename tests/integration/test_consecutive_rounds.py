"""Two consecutive monthly rounds on one store: periods extended and carried, notices, reviewed decisions kept."""

from __future__ import annotations

import csv
import datetime as dt
import shutil
from pathlib import Path

import pytest

from silentcert.clients.rounds import run_round_files
from silentcert.graph.embedded import EmbeddedStore
from silentcert.graph.model import FlagFilter
from silentcert.services.deathcheck.review import decide
from silentcert.synthetic import generate

OCTOBER = dt.date(2021, 10, 31)
NOVEMBER = dt.date(2021, 11, 30)


def _rows(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _by_person(path: Path) -> dict[str, dict[str, str]]:
    return {row["person_id"]: row for row in _rows(path)}


def _november_round(october: Path, november: Path, people: list[dict[str, str]]) -> None:
    """October's files again, a month later, plus new vaccinations for `people` on 2021-11-15."""
    shutil.copytree(october, november)
    text = (november / "round.toml").read_text(encoding="utf-8")
    text = text.replace('id = "2021-10"', 'id = "2021-11"').replace("as_of = 2021-10-31", "as_of = 2021-11-30")
    text += '\n[[sources]]\nname = "vaccination_booster"\nkind = "strong"\nfile = "booster.csv"\n'
    (november / "round.toml").write_text(text, encoding="utf-8")
    with open(november / "booster.csv", "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["record_id", "occurred_at", "id_number", "name"])
        for i, person in enumerate(people):
            writer.writerow([f"B{i}", "2021-11-15", person["id_number"], person["name"]])


@pytest.fixture(scope="module")
def rounds(tmp_path_factory):
    base = tmp_path_factory.mktemp("consecutive")
    october = base / "round-10"
    generate(pensioners=2500, seed=23, as_of=OCTOBER, out=october)
    store = base / "graph.duckdb"
    run_round_files(october / "round.toml", base / "out-10", store=store, neo4j_uri=None)
    verdicts = _by_person(base / "out-10" / "verdicts.csv")
    registry = [r for r in _rows(october / "registry.csv") if len(r["id_number"].strip()) == 18]
    boosted = [r for r in registry if verdicts.get(r["person_id"], {}).get("status") == "certified"][:40]
    assert len(boosted) == 40, "the October round certified too few people to boost"
    with EmbeddedStore(store) as graph:
        open_deaths = graph.flags(FlagFilter(kind="unconfirmed_death", status="open"))
        assert open_deaths, "the October round raised no unconfirmed death to review"
        dismissed = decide(graph, open_deaths[0].flag_id, "dismiss", "reviewer-1", "seen at the bank in person",
                           dt.datetime(2021, 11, 2, tzinfo=dt.UTC))
    _november_round(october, base / "round-11", boosted)
    run_round_files(base / "round-11" / "round.toml", base / "out-11", store=store, neo4j_uri=None)
    return base, boosted, dismissed


def test_new_evidence_pushes_the_period_forward(rounds):
    base, boosted, _ = rounds
    november = _by_person(base / "out-11" / "verdicts.csv")
    for person in boosted:
        verdict = november[person["person_id"]]
        assert verdict["certified_until"] == "2022-11-15", verdict
        assert verdict["source"] == "vaccination_booster"


def test_periods_never_move_backward(rounds):
    base, _, _ = rounds
    october = _by_person(base / "out-10" / "verdicts.csv")
    november = _by_person(base / "out-11" / "verdicts.csv")
    went_back = [pid for pid, row in october.items()
                 if row["certified_until"] and november[pid]["certified_until"]
                 and november[pid]["certified_until"] < row["certified_until"]]
    assert went_back == []


def test_carried_periods_and_period_states(rounds):
    base, _, _ = rounds
    verdicts = _rows(base / "out-11" / "verdicts.csv")
    assert any(v["method"] == "carried" for v in verdicts)
    states = {row[0] for row in _states(base / "out-11")}
    assert {"valid", "expiring", "overdue"} <= states


def _states(out: Path):
    import duckdb

    with duckdb.connect(str(out / "state" / "round.duckdb"), read_only=True) as con:
        return con.execute("SELECT DISTINCT period_state FROM verdicts").fetchall()


def test_three_kinds_of_notices_one_per_person_and_kind(rounds):
    base, _, _ = rounds
    notices = _rows(base / "out-10" / "notices.csv")
    assert {n["kind"] for n in notices} == {"exempt", "reminder", "overdue"}
    keys = [(n["person_id"], n["kind"]) for n in notices]
    assert len(keys) == len(set(keys))


def test_a_reviewed_decision_survives_the_next_round(rounds):
    base, _, dismissed = rounds
    with EmbeddedStore(base / "graph.duckdb") as graph:
        assert graph.flag(dismissed.flag_id).flag.status == "dismissed"
    november = _by_person(base / "out-11" / "verdicts.csv")
    assert november[dismissed.person_id]["status"] != "deceased"


def test_payments_follow_the_status_from_one_round_to_the_next(rounds):
    """A person certified in both rounds has no payment row; the reviewed false death is restored."""
    base, boosted, dismissed = rounds
    october = _by_person(base / "out-10" / "payments.csv")
    november = _by_person(base / "out-11" / "payments.csv")
    assert [p["person_id"] for p in boosted if p["person_id"] in october or p["person_id"] in november] == []
    assert october[dismissed.person_id]["action"] == "suspend"
    assert _by_person(base / "out-11" / "verdicts.csv")[dismissed.person_id]["status"] == "certified"
    assert (november[dismissed.person_id]["action"], november[dismissed.person_id]["months"]) == ("restore", "1")
