"""Each conflict rule fires when it should and stays quiet when it should not (through the whole stage)."""

from datetime import date


from services.deathcheck.settings import DeathCheckSettings
from services.deathcheck.stage import check_round

MARCH = date(2021, 3, 4)


def run(province, settings=DeathCheckSettings()):
    return check_round(province.con, province.as_of, "2021-10", settings)


def test_confirmed_death_ends_the_period_with_the_overpayment(province):
    province.person("P1", pension=2500.0)
    province.death("P1", "police", MARCH)
    run(province)
    flag_id, severity, overpayment, _, detail = province.flags("P1")["confirmed_death"]
    assert flag_id == "confirmed_death:P1:2021-03-04"
    assert overpayment == 8 * 2500.0 and severity == "high"
    assert "overpayment 20000.00 yuan" in detail
    assert province.verdict("P1") == ("deceased", "ended", date(2022, 6, 1))  # certified_until kept


def test_strong_activity_after_a_confirmed_death_is_review_never_deceased(province):
    province.person("P1")
    province.death("P1", "police", MARCH)
    province.record("P1", "rail", "strong", date(2021, 7, 1))
    run(province)
    assert set(province.flags("P1")) == {"activity_after_death"}
    assert province.verdict("P1")[:2] == ("review", "suspended")


def test_passed_face_check_after_death_is_review_but_a_failed_one_is_weak_activity(province):
    province.person("P1")
    province.death("P1", "police", MARCH)
    province.record("P1", "face", "face", date(2021, 7, 1), passed=True)
    province.person("P2")
    province.death("P2", "police", MARCH)
    province.record("P2", "face", "face", date(2021, 7, 1), passed=False)
    run(province)
    assert province.verdict("P1")[0] == "review"
    assert set(province.flags("P2")) == {"confirmed_death", "weak_activity_after_death"}
    assert province.verdict("P2")[0] == "deceased"


def test_activity_before_the_death_raises_nothing_more(province):
    province.person("P1")
    province.death("P1", "police", MARCH)
    province.record("P1", "rail", "strong", date(2021, 3, 4))  # the same day
    province.record("P1", "card", "weak", date(2021, 2, 1))
    run(province)
    assert set(province.flags("P1")) == {"confirmed_death"}


def test_weak_activity_after_death_is_a_possible_fraudulent_claim(province):
    province.person("P1")
    province.death("P1", "police", MARCH)
    province.record("P1", "card_spending", "weak", date(2021, 8, 1))
    province.record("P1", "telecom", "weak", date(2021, 9, 1), band="review")
    run(province)
    _, severity, _, _, detail = province.flags("P1")["weak_activity_after_death"]
    assert severity == "high" and "2 weak record(s)" in detail and "card_spending,telecom" in detail


def test_unconfirmed_death_holds_for_review(province):
    province.person("P1")
    province.death("P1", "village", MARCH)
    run(province)
    assert set(province.flags("P1")) == {"unconfirmed_death"}
    assert province.verdict("P1")[:2] == ("review", "suspended")


def test_registers_disagreeing_on_the_date(province):
    province.person("P1")
    province.death("P1", "village", MARCH)
    province.death("P1", "health", date(2021, 8, 1))
    province.person("P2")
    province.death("P2", "police", MARCH)
    province.death("P2", "village", date(2021, 8, 1))
    run(province)
    assert set(province.flags("P1")) == {"register_disagreement"} and province.verdict("P1")[0] == "review"
    assert set(province.flags("P2")) == {"confirmed_death", "register_disagreement"}
    assert province.verdict("P2")[0] == "deceased"  # the police date stands; the disagreement goes to a reviewer


def test_registers_disagreeing_on_the_identity(province):
    province.person("P1", sex="M", birth=date(1950, 1, 1))
    province.death("P1", "police", MARCH, sex="F", birth=date(1951, 2, 2))
    run(province)
    _, _, _, _, detail = province.flags("P1")["register_disagreement"]
    assert "identity differs" in detail and province.verdict("P1")[0] == "review"


def test_an_uncertain_death_link_is_reviewed(province):
    province.person("P1")
    province.death("P1", "police", MARCH, band="review")
    run(province)
    assert set(province.flags("P1")) == {"uncertain_death_link"} and province.verdict("P1")[0] == "review"


def test_people_without_death_records_keep_their_verdict(province):
    province.person("P1")
    province.record("P1", "card", "weak", date(2021, 8, 1))
    run(province)
    assert province.flags("P1") == {} and province.verdict("P1")[:2] == ("certified", "valid")


def test_home_visit_for_the_very_old_without_recent_evidence(province):
    province.person("OLD", birth=date(1925, 1, 1), evidence_at=date(2019, 1, 1))
    province.person("SEEN", birth=date(1925, 1, 1), evidence_at=date(2019, 1, 1))
    province.record("SEEN", "bus", "weak", date(2021, 9, 1))
    province.person("YOUNG", birth=date(1930, 1, 1), evidence_at=None)
    run(province)
    assert province.flags("OLD")["home_visit"][0] == "home_visit:OLD:2019-01-01"
    assert province.flags("SEEN") == {} and province.flags("YOUNG") == {}
    assert province.verdict("OLD")[0] == "certified"  # a visit list changes no status


def test_every_person_with_a_death_record_ends_deceased_or_review(province):
    cases = {"A": ("police", None), "B": ("village", None), "C": ("police", "strong"), "D": ("village", "weak")}
    for pid, (source, after) in cases.items():
        province.person(pid)
        province.death(pid, source, MARCH)
        if after:
            province.record(pid, "x", after, date(2021, 6, 1))
    run(province)
    statuses = {pid: province.verdict(pid)[0] for pid in cases}
    assert statuses == {"A": "deceased", "B": "review", "C": "review", "D": "review"}
