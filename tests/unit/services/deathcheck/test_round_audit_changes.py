"""Round after round on one store, the trail records what changed: a held status, a raised flag and an applied
decision are audited once, not again by every later round that finds them again."""

from __future__ import annotations

from datetime import UTC, date, datetime
from types import SimpleNamespace

import pytest

from silentcert.graph.embedded import EmbeddedStore
from silentcert.services.deathcheck.audit import append_round_events, verify
from silentcert.services.deathcheck.review import decide
from silentcert.services.deathcheck.settings import DeathCheckSettings
from silentcert.services.rounds import stages
from silentcert.services.rounds.publish import round_export

ROUNDS = [("2021-10", date(2021, 10, 31)), ("2021-11", date(2021, 11, 30)), ("2021-12", date(2021, 12, 31)),
          ("2022-01", date(2022, 1, 31))]
MARCH = date(2021, 3, 4)


@pytest.fixture
def store():
    store = EmbeddedStore(":memory:")
    yield store
    store.close()


def run_round(province, store, number: int) -> list[tuple[str, str]]:
    """One monthly round: the scorer's verdicts again, what the store holds loaded as the pipeline loads it, the
    death check, the publish and its events. Returns the round's (action, person) events."""
    round_id, as_of = ROUNDS[number]
    con = province.con
    con.execute("CREATE OR REPLACE TABLE verdicts AS SELECT * FROM scored")
    if number:  # a first round has no previous_periods
        con.register("_held", store.periods(before_round=round_id))
        con.execute("CREATE OR REPLACE TABLE previous_periods AS SELECT person_id, status, certified_until FROM _held")
        con.unregister("_held")
    ctx = SimpleNamespace(con=con, stores=[store], spec=SimpleNamespace(round_id=round_id, as_of=as_of),
                          settings=SimpleNamespace(deathcheck=DeathCheckSettings()))
    stages.deathcheck(ctx)
    events = con.execute("SELECT action, person_id FROM audit_events ORDER BY ordinal").fetchall()
    store.publish_round(round_export(con, round_id, as_of))
    append_round_events(con, store)
    return events


def test_each_change_is_audited_once_across_rounds(province, store):
    province.person("P1", pension=2000.0)  # a false death: the village reports P1, a rail ticket says alive
    province.death("P1", "village", MARCH)
    province.record("P1", "rail", "strong", date(2021, 7, 1))
    province.person("P2")
    province.confirmed_death("P2", MARCH)
    province.con.execute("CREATE TABLE scored AS SELECT * FROM verdicts")

    first = run_round(province, store, 0)
    assert sorted(first) == [("flag_raised", "P1"), ("flag_raised", "P2"), ("status_deceased", "P2"),
                             ("status_review", "P1")]
    assert run_round(province, store, 1) == []  # the same findings: the store holds them already

    decide(store, "activity_after_death:P1:2021-03-04", "dismiss", "wang.reviewer", "seen at the bureau",
           datetime(2021, 12, 20, 9, 30, tzinfo=UTC))
    assert run_round(province, store, 2) == [("decision_applied", "P1")]
    assert run_round(province, store, 3) == []

    trail = store.audit_trail()
    assert verify(trail) is None
    actions = [(e.action, e.person_id) for e in trail if e.person_id]
    assert actions.count(("flag_raised", "P1")) == 1 and actions.count(("status_deceased", "P2")) == 1
    assert actions.count(("decision_applied", "P1")) == 1


def test_a_rerun_of_the_same_round_writes_the_same_events(province, store):
    province.person("P1")
    province.confirmed_death("P1", MARCH)
    province.con.execute("CREATE TABLE scored AS SELECT * FROM verdicts")
    first = run_round(province, store, 0)
    assert first and run_round(province, store, 0) == first  # its own entries are not "earlier"
    assert [e.action for e in store.audit_trail("P1")].count("status_deceased") == 1
