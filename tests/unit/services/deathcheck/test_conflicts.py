"""Each conflict rule fires when it should and stays quiet when it should not (through the whole stage)."""

from datetime import date

from silentcert.services.deathcheck.deathcheck_stage import check_round
from silentcert.services.deathcheck.settings import DeathCheckSettings

MARCH = date(2021, 3, 4)


def run(province, settings=DeathCheckSettings()):
    return check_round(province.con, province.as_of, "2021-10", settings)


def test_confirmed_death_ends_the_period_with_the_overpayment(province):
    province.person("P1", pension=2500.0)
    province.confirmed_death("P1", MARCH)
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
    province.confirmed_death("P1", MARCH)
    province.record("P1", "face", "face", date(2021, 7, 1), passed=True)
    province.person("P2")
    province.confirmed_death("P2", MARCH)
    province.record("P2", "face", "face", date(2021, 7, 1), passed=False)
    run(province)
    assert province.verdict("P1")[0] == "review"
    assert set(province.flags("P2")) == {"confirmed_death", "weak_activity_after_death"}
    assert province.verdict("P2")[0] == "deceased"


def test_activity_before_the_death_raises_nothing_more(province):
    province.person("P1")
    province.confirmed_death("P1", MARCH)
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
    province.confirmed_death("P2", MARCH)
    province.death("P2", "village", date(2021, 8, 1))
    run(province)
    assert set(province.flags("P1")) == {"register_disagreement"} and province.verdict("P1")[0] == "review"
    assert set(province.flags("P2")) == {"confirmed_death", "register_disagreement"}
    assert province.flags("P2")["register_disagreement"][1] == "medium"
    assert province.verdict("P2")[0] == "deceased"  # the agreeing dates stand; the disagreement goes to a reviewer


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


def test_a_weakly_linked_death_record_holds_a_certification_on_later_evidence(province):
    province.person("P1", evidence_at=date(2021, 6, 1))
    rid = province.weak_death("P1", "police", MARCH)
    province.person("P2")
    other = province.weak_death("P2", "civil_affairs", MARCH, probability=0.3)
    # P1 is a candidate of that record too, but not its best: it raises nothing on P1.
    province.con.execute("INSERT INTO link_candidates VALUES (?, 'P1', 0.05, 'splink', false)", [other])
    run(province)
    flag_id, severity, _, _, detail = province.flags("P1")["possible_death_record"]
    assert flag_id == f"possible_death_record:P1:police/police-{rid}" and severity == "medium"
    assert "2021-03-04" in detail and "0.20" in detail
    assert province.verdict("P1")[:2] == ("review", "suspended")
    assert set(province.flags("P2")) == {"possible_death_record"}
    cited = province.con.execute("SELECT rid FROM flag_citations WHERE flag_id = ?", [flag_id]).fetchall()
    assert cited == [(rid,)]


def test_a_weakly_linked_death_record_leaves_a_certification_on_earlier_evidence(province):
    province.person("P1", evidence_at=date(2021, 2, 1))
    province.weak_death("P1", "village", MARCH)
    run(province)
    assert set(province.flags("P1")) == {"possible_death_record"}
    assert province.verdict("P1")[0] == "certified"


def test_a_person_with_a_linked_death_gets_no_possible_death_record(province):
    province.person("P1")
    province.confirmed_death("P1", MARCH)
    province.weak_death("P1", "village", MARCH)
    run(province)
    assert set(province.flags("P1")) == {"confirmed_death"}


def test_confirming_a_possible_death_record_makes_the_person_deceased(province):
    province.person("P1", evidence_at=date(2021, 6, 1))
    rid = province.weak_death("P1", "police", MARCH)
    province.decided(f"possible_death_record:P1:police/police-{rid}", "confirmed")
    run(province)
    assert province.verdict("P1")[0] == "deceased"


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
    province.person("E")
    province.confirmed_death("E", MARCH)
    run(province)
    statuses = {pid: province.verdict(pid)[0] for pid in [*cases, "E"]}
    assert statuses == {"A": "review", "B": "review", "C": "review", "D": "review", "E": "deceased"}


def test_a_lone_police_report_is_reviewed_not_deceased(province):
    province.person("P1")
    province.death("P1", "police", MARCH)
    run(province)
    detail = province.flags("P1")["unconfirmed_death"][4]
    assert "needs 2 agreeing registers" in detail and province.verdict("P1")[:2] == ("review", "suspended")
    run_alone = DeathCheckSettings(decisive_sources=("police",))
    run(province, run_alone)
    assert province.verdict("P1")[0] == "deceased"


def test_weak_use_before_a_late_police_date_counts_as_after_death(province):
    province.person("P1", pension=1000.0)
    province.death("P1", "health", MARCH)
    province.death("P1", "police", date(2021, 3, 30))  # deregistered late
    province.record("P1", "card_spending", "weak", date(2021, 3, 20))
    run(province)
    flags = province.flags("P1")
    assert flags["confirmed_death"][0] == "confirmed_death:P1:2021-03-04"
    assert flags["confirmed_death"][2] == 8 * 1000.0  # March 15 is paid after the death
    assert "weak_activity_after_death" in flags


def test_strong_evidence_before_the_death_date_asks_for_the_date_only(province):
    province.person("P1")
    province.death("P1", "village", date(2021, 2, 25))  # remembered a week early
    province.record("P1", "inpatient", "strong", date(2021, 3, 1))
    province.death("P1", "health", MARCH)
    province.death("P1", "police", MARCH)
    run(province)
    flags = province.flags("P1")
    assert set(flags) == {"confirmed_death", "register_disagreement"}
    _, severity, _, _, detail = flags["register_disagreement"]
    assert severity == "low" and "Check the date of death only" in detail and "inpatient" in detail
    assert province.verdict("P1")[0] == "deceased"
    cited = province.con.execute("SELECT count(*) FROM flag_citations WHERE flag_id = ?",
                                 [flags["register_disagreement"][0]]).fetchone()[0]
    assert cited == 4  # three reports and the hospital record


def test_strong_evidence_on_the_earliest_reports_day_doubts_the_date_when_a_register_dates_it_later(province):
    province.person("P1")
    province.death("P1", "village", MARCH)
    province.record("P1", "inpatient", "strong", MARCH)  # in hospital that day
    province.death("P1", "civil_affairs", date(2021, 3, 9))
    province.person("P2")  # died in hospital: every register gives the day of the hospital record
    province.confirmed_death("P2", MARCH)
    province.record("P2", "inpatient", "strong", MARCH)
    run(province)
    assert province.flags("P1")["register_disagreement"][1] == "low"
    assert set(province.flags("P2")) == {"confirmed_death"}
