"""Reviewer decisions kept on a rerun, the audit chain, and decisions through a real EmbeddedStore."""

import dataclasses
from datetime import UTC, date, datetime

import pytest

from silentcert.graph.embedded import EmbeddedStore
from silentcert.graph.errors import Conflict, InvalidInput
from silentcert.services.deathcheck.audit import append_round_events, verify
from silentcert.services.deathcheck.deathcheck_stage import check_round
from silentcert.services.deathcheck.review import decide, decide_flag
from silentcert.services.deathcheck.settings import DeathCheckSettings
from silentcert.services.rounds.publish import round_export

MARCH = date(2021, 3, 4)
NOW = datetime(2021, 12, 20, 9, 30, tzinfo=UTC)


def run(province):
    return check_round(province.con, province.as_of, "2021-10", DeathCheckSettings())


def living_with_false_death(province, pid="P1"):
    province.person(pid, pension=2000.0)
    province.death(pid, "village", MARCH)
    province.record(pid, "rail", "strong", date(2021, 7, 1))


def test_flag_ids_do_not_depend_on_the_round(province):
    living_with_false_death(province)
    run(province)
    first = province.flags()
    check_round(province.con, province.as_of, "2021-11", DeathCheckSettings())
    assert province.flags() == first


def test_a_dismissed_death_flag_restores_the_verdict_on_rerun(province):
    living_with_false_death(province)
    province.decided("activity_after_death:P1:2021-03-04", "dismissed")
    stats = run(province)
    assert province.verdict("P1")[:2] == ("certified", "valid")
    assert stats["decisions_kept"] == 1 and stats["restored_by_decision"] == 1


def test_a_confirmed_death_flag_keeps_deceased_and_a_confirmed_activity_flag_makes_it(province):
    province.person("P1")
    province.confirmed_death("P1", MARCH)
    province.decided("confirmed_death:P1:2021-03-04", "confirmed")
    living_with_false_death(province, "P2")
    province.decided("activity_after_death:P2:2021-03-04", "confirmed")
    run(province)
    assert province.verdict("P1")[:2] == ("deceased", "ended")
    assert province.verdict("P2")[:2] == ("deceased", "ended")


def test_dismissing_a_secondary_flag_does_not_revive_a_confirmed_death(province):
    province.person("P1")
    province.confirmed_death("P1", MARCH)
    province.record("P1", "card", "weak", date(2021, 6, 1))
    province.decided("weak_activity_after_death:P1:2021-03-04", "dismissed")
    run(province)
    assert province.verdict("P1")[0] == "deceased"


def test_a_new_death_report_raises_a_new_flag_despite_an_old_dismissal(province):
    province.person("P1")
    province.confirmed_death("P1", date(2021, 9, 1))
    province.decided("unconfirmed_death:P1:2021-03-04", "dismissed")
    run(province)
    assert province.verdict("P1")[0] == "deceased"


def test_round_events_record_before_and_after(province):
    living_with_false_death(province)
    run(province)
    rows = province.con.execute("SELECT action, person_id, sources, before, after FROM audit_events "
                                "ORDER BY ordinal").fetchall()
    assert [r[0] for r in rows] == ["status_review", "flag_raised"]
    action, person, sources, before, after = rows[0]
    assert person == "P1" and sources == ["rail/rail-2", "village/village-1"]
    assert '"status":"certified"' in before and '"status":"review"' in after


@pytest.fixture
def store(province):
    store = EmbeddedStore(":memory:")
    yield store
    store.close()


def publish(province, store):
    run(province)
    store.publish_round(round_export(province.con, "2021-10", province.as_of))
    return append_round_events(province.con, store)


def test_round_events_are_chained_once(province, store):
    living_with_false_death(province)
    appended = publish(province, store)
    assert appended == 3  # status change, flag raised, round closed
    assert append_round_events(province.con, store) == 0
    assert verify(store.audit_trail()) is None


def test_verify_finds_a_modified_or_removed_entry(province, store):
    living_with_false_death(province)
    province.person("P2")
    province.confirmed_death("P2", MARCH)
    publish(province, store)
    chain = store.audit_trail()
    tampered = list(chain)
    tampered[1] = dataclasses.replace(chain[1], after={**chain[1].after, "overpayment": 0.0})
    assert verify(tampered).seq == 2
    assert verify(chain[:2] + chain[3:]).seq == 3
    assert verify(chain) is None


def test_dismissal_restores_the_period_with_arrears(province, store):
    living_with_false_death(province)
    publish(province, store)
    assert store.person(person_id="P1").status == "review"
    flag = decide(store, "activity_after_death:P1:2021-03-04", "dismiss", "wang.reviewer",
                  "seen in person at the bureau", NOW)
    assert flag.status == "dismissed" and flag.decided_by == "wang.reviewer"
    person = store.person(person_id="P1")
    assert (person.status, person.period_state, person.certified_until) == ("certified", "valid", date(2022, 6, 1))
    entry = store.last_audit()
    assert entry.actor == "wang.reviewer" and entry.action == "decide_flag:dismiss"
    assert entry.after["arrears_months"] == 2 and entry.after["arrears"] == 4000.0  # Nov 15, Dec 15
    assert entry.before["person"]["status"] == "review" and entry.after["person"]["status"] == "certified"
    assert verify(store.audit_trail()) is None
    assert [e.action for e in store.audit_trail("P1")][-1] == "decide_flag:dismiss"


def test_confirming_ends_the_period_and_fixes_the_overpayment(province, store):
    living_with_false_death(province)
    publish(province, store)
    flag, entry = decide_flag(store, _decision("activity_after_death:P1:2021-03-04", "confirm"))
    person = store.person(person_id="P1")
    assert (person.status, person.period_state) == ("deceased", "ended")
    assert entry.after["overpayment"] == 8 * 2000.0 and entry.after["overpayment_final"] is True
    with pytest.raises(Conflict):
        decide(store, flag.flag_id, "dismiss", "li", "changed my mind", NOW)


def test_escalation_holds_and_can_be_decided_later(province, store):
    province.person("P1")
    province.confirmed_death("P1", MARCH)
    publish(province, store)
    flag = decide(store, "confirmed_death:P1:2021-03-04", "escalate", "li", "", NOW)
    assert flag.status == "escalated" and store.person(person_id="P1").status == "review"
    decide(store, flag.flag_id, "confirm", "zhao.head", "death certificate seen", NOW)
    assert store.person(person_id="P1").status == "deceased"
    assert verify(store.audit_trail()) is None


def test_bad_decisions_are_refused(province, store):
    living_with_false_death(province)
    publish(province, store)
    with pytest.raises(InvalidInput):
        decide(store, "activity_after_death:P1:2021-03-04", "dismiss", "li", " ", NOW)
    with pytest.raises(InvalidInput):
        decide(store, "activity_after_death:P1:2021-03-04", "delete", "li", "x", NOW)


def _decision(flag_id, action):
    from silentcert.graph.model import Decision
    return Decision(flag_id, action, "li.reviewer", "checked", NOW)
