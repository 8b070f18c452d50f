"""A generated series of monthly rounds run on one chained embedded store (benchmarks.series_bench.SeriesRunner): face
checks recorded through RecordCertification and reviewers' visits decided through DecideFlag between rounds, on
real gRPC servers. Payments follow the people (restore with arrears, stop at a death reported late), and the store
stops growing with the rounds once the retention rule applies."""

from __future__ import annotations

import csv
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest

from benchmarks.series_bench import SeriesRunner, read_csv
from silentcert.services.liveness.periods import add_months
from silentcert.synthetic.series import generate_series, round_dates

FIRST = date(2021, 10, 31)
MONTHS = 5
# a round of 2,500 pensioners takes 40-120 s on the shared 2-core machine, and the series runs five
pytestmark = pytest.mark.timeout(1800)


@pytest.fixture(scope="module")
def series(tmp_path_factory):
    base = tmp_path_factory.mktemp("series")
    generate_series(2500, MONTHS, 23, FIRST, base / "series")
    runner = SeriesRunner(base / "series", base / "work", sample=50)
    figures = runner.run(report=lambda row: None)
    return base, runner, figures


def _payments(runner: SeriesRunner, round_id: str) -> dict[str, dict[str, str]]:
    return {r["person_id"]: r for r in read_csv(runner.out(round_id) / "payments.csv")}


def _round_ids(figures) -> list[str]:
    return [f.round_id for f in figures]


def _registry(base: Path, round_id: str) -> dict[str, dict[str, str]]:
    with open(base / "series" / round_id / "registry.csv", encoding="utf-8", newline="") as handle:
        return {r["person_id"]: r for r in csv.DictReader(handle)}


def test_a_suspended_person_certified_again_is_restored_with_the_arrears_of_the_months_held(series):
    base, runner, figures = series
    ids = _round_ids(figures)
    restored = 0
    for k, round_id in enumerate(ids[1:], start=1):
        registry = _registry(base, round_id)
        earlier = [_payments(runner, r) for r in ids[:k]]
        for person_id, row in _payments(runner, round_id).items():
            if row["action"] != "restore":
                continue
            held = [p[person_id]["action"] for p in earlier if person_id in p]
            assert held and held[-1] == "suspend", (person_id, held)
            assert int(row["months"]) >= 1
            assert float(row["amount"]) == round(int(row["months"]) * float(registry[person_id]["monthly_pension"]), 2)
            restored += 1
    assert restored >= 3 and sum(f.arrears_yuan for f in figures) > 0


def test_a_death_stops_the_payments_and_only_the_dead_are_stopped(series):
    base, runner, figures = series
    persons = {p["person_id"]: p for p in read_csv(base / "series" / "truth" / "persons.csv")}
    stops = [(rid, row) for rid in _round_ids(figures) for row in _payments(runner, rid).values()
             if row["action"] == "stop"]
    assert len(stops) >= 20
    for _, row in stops:
        death = persons[row["person_id"]]["death_date"]
        assert death, f"{row['person_id']} stopped but alive"
        assert abs((date.fromisoformat(row["effective"]) - date.fromisoformat(death)).days) <= 130


def test_a_death_reported_months_late_is_held_then_stopped_from_the_death(series):
    """The death happened in or before one round but reached the agency only in a later one: the round it arrives
    in holds or stops the payments, and the stop reaches back to the death with the months paid since."""
    base, runner, figures = series
    ids = _round_ids(figures)
    as_of = dict(zip(ids, round_dates(FIRST, MONTHS), strict=True))
    late = [p for p in read_csv(base / "series" / "truth" / "persons.csv")
            if p["late_death_report"] == "1" and p["death_reported_at"] <= as_of[ids[-1]].isoformat()
            and p["death_date"] > (FIRST - timedelta(days=365)).isoformat()]
    assert late, "the series has no death reported late within it"
    handled = 0
    for person in late:
        arrived = next(r for r in ids if as_of[r].isoformat() >= person["death_reported_at"])
        before = ids[:ids.index(arrived)]
        assert all(_payments(runner, r).get(person["person_id"], {}).get("action") != "stop" for r in before)
        actions = [_payments(runner, r).get(person["person_id"], {}).get("action")
                   for r in ids[ids.index(arrived):]]
        if "stop" in actions:
            stop = next(_payments(runner, r)[person["person_id"]] for r in ids[ids.index(arrived):]
                        if _payments(runner, r).get(person["person_id"], {}).get("action") == "stop")
            assert int(stop["months"]) >= 1 and stop["effective"] < arrived + "-01"
            handled += 1
        elif "suspend" in actions:
            handled += 1
    assert handled >= max(1, int(0.6 * len(late)))


def test_face_checks_and_reviewers_decisions_went_through_the_services(series):
    _, runner, figures = series
    assert sum(f.certifications_recorded for f in figures) > 20
    assert sum(f.certifications_refused for f in figures) == 0
    decided = {k: sum(f.flags_decided.get(k, 0) for f in figures) for k in ("confirm", "dismiss")}
    assert decided["confirm"] > 10 and decided["dismiss"] >= 1
    with duckdb.connect(str(runner.store_path), read_only=True) as con:
        (face,) = con.execute("SELECT count(*) FROM event WHERE operator = 'face-app'").fetchone()
        (decisions,) = con.execute("SELECT count(*) FROM audit WHERE action LIKE 'decide_flag:%'").fetchone()
    assert face > 0 and decisions == sum(decided.values())


def test_the_store_keeps_no_evidence_older_than_the_window_but_what_the_rule_keeps(series):
    _, runner, figures = series
    last = round_dates(FIRST, MONTHS)[-1]
    since = add_months(last, -12)
    with duckdb.connect(str(runner.store_path), read_only=True) as con:
        (kept_wrongly,) = con.execute(
            """SELECT count(*) FROM event e WHERE label = 'Event' AND occurred_at < $since
               AND key NOT IN (SELECT event_key FROM flag_citation)
               AND (person_id IS NULL OR key NOT IN (SELECT arg_max(key, (occurred_at, key)) FROM event
                                                     WHERE person_id IS NOT NULL AND label = 'Event'
                                                     GROUP BY person_id, source))""",
            {"since": since}).fetchone()
        (old,) = con.execute("SELECT count(*) FROM event WHERE label = 'Event' AND occurred_at < $since",
                             {"since": since}).fetchone()
        (deaths,) = con.execute("SELECT count(*) FROM event WHERE label = 'DeathRecord'").fetchone()
    assert kept_wrongly == 0 and deaths > 0
    dropped = sum(f.retention["EmbeddedStore_retention"]["events"] for f in figures)
    assert dropped > 5 * old  # most of what fell out of the window went


def test_the_store_does_not_grow_with_the_rounds(series):
    _, _, figures = series
    used = [f.store_used_bytes for f in figures]
    assert max(used[2:]) <= 1.15 * used[2], used  # from the third round on: the window's evidence and the people
    p50 = [f.liveness_p50_ms for f in figures]
    assert p50[-1] <= 3 * max(p50[0], 1.0), p50


def test_a_series_on_neo4j_stays_flat_and_keeps_only_what_the_rule_keeps(neo4j_settings, neo4j_driver,
                                                                          tmp_path_factory):
    """The same series with Neo4j as the system of record: the graph's nodes and relationships stop growing with the
    rounds, and no Event older than the window is left that the rule would drop."""
    from silentcert.graph import catalog
    from silentcert.graph.neo4j_local import bolt_settings
    from silentcert.graph.neo4j_store import Neo4jStore

    uri, user, password = bolt_settings(neo4j_settings)
    base = tmp_path_factory.mktemp("series-neo4j")
    generate_series(2500, 4, 23, FIRST, base / "series")
    Neo4jStore(neo4j_driver, retry_seconds=5).clear()
    with pytest.MonkeyPatch.context() as env:
        env.setenv("NEO4J_USER", user)
        env.setenv("NEO4J_PASSWORD", password)
        env.setenv("SILENTCERT_AUDIT_KEY_FILE", str(base / "audit.key"))
        figures = SeriesRunner(base / "series", base / "work", neo4j_uri=uri, sample=50).run(report=lambda row: None)
    entities = [f.store_entities for f in figures]
    assert max(entities[2:]) <= 1.15 * entities[1], entities
    assert sum(f.retention["Neo4jStore_retention"]["events"] for f in figures) > 0
    since = add_months(round_dates(FIRST, 4)[-1], -12)
    records, _, _ = neo4j_driver.execute_query(catalog.query("retention_events"),
                                               {"since": f"{since.isoformat()}T00:00:00", "batch": 1})
    assert records[0]["dropped"] == 0  # nothing left that the rule drops (the query would have dropped one)
