from datetime import date

import pytest

from silentcert.graph.errors import InvalidInput
from silentcert.services.deathcheck.merge import merge_deaths
from silentcert.services.deathcheck.settings import DeathCheckSettings

MARCH = date(2021, 3, 4)


def deaths(province, settings=DeathCheckSettings()):
    merge_deaths(province.con, settings)
    rows = province.con.execute("SELECT person_id, death_date, confirmed, sources, conflict FROM deaths").fetchall()
    return {r[0]: r[1:] for r in rows}


POLICE_ALONE = DeathCheckSettings(decisive_sources=("police",))


def test_a_lone_police_report_does_not_confirm_by_default(province):
    province.person("P1")
    province.death("P1", "police", MARCH)
    assert deaths(province)["P1"] == (MARCH, False, "police", False)


def test_police_alone_confirms_when_configured(province):
    province.person("P1")
    province.death("P1", "police", MARCH)
    assert deaths(province, POLICE_ALONE)["P1"] == (MARCH, True, "police", False)


def test_two_reports_of_one_register_are_one_source(province):
    province.person("P1")
    province.death("P1", "police", MARCH)
    province.death("P1", "police", date(2021, 3, 6))
    assert deaths(province)["P1"][1] is False


def test_one_other_source_does_not_confirm(province):
    province.person("P1")
    province.death("P1", "village", MARCH)
    assert deaths(province)["P1"] == (MARCH, False, "village", False)


def test_two_other_sources_within_tolerance_confirm(province):
    province.person("P1")
    province.death("P1", "village", MARCH)
    province.death("P1", "civil_affairs", date(2021, 4, 4))  # 31 days: the edge of the tolerance
    _, confirmed, sources, conflict = deaths(province)["P1"]
    assert (confirmed, sources, conflict) == (True, "civil_affairs,village", False)


def test_dates_beyond_tolerance_are_a_conflict_and_do_not_confirm(province):
    province.person("P1")
    province.death("P1", "village", MARCH)
    province.death("P1", "civil_affairs", date(2021, 4, 5))  # 32 days
    _, confirmed, _, conflict = deaths(province)["P1"]
    assert (confirmed, conflict) == (False, True)


def test_with_police_alone_the_police_date_stands_and_a_far_report_is_a_conflict(province):
    province.person("P1")
    province.death("P1", "police_deaths", MARCH)  # a name starting with police_ is police
    province.death("P1", "village", date(2020, 1, 1))
    assert deaths(province, POLICE_ALONE)["P1"] == (MARCH, True, "police_deaths,village", True)
    assert deaths(province)["P1"][1:] == (False, "police_deaths,village", True)


def test_the_earliest_agreeing_report_dates_the_death(province):
    province.person("P1")
    province.death("P1", "police", date(2021, 3, 25))  # registered late
    province.death("P1", "civil_affairs", date(2021, 3, 6))
    province.death("P1", "village", MARCH)
    assert deaths(province)["P1"] == (MARCH, True, "civil_affairs,police,village", False)


def test_the_health_register_dates_the_death_when_it_agrees(province):
    province.person("P1")
    province.death("P1", "village", date(2021, 2, 25))  # remembered loosely
    province.death("P1", "health", MARCH)
    province.death("P1", "police", date(2021, 3, 20))
    assert deaths(province)["P1"][0] == MARCH


def test_strong_evidence_between_agreeing_reports_moves_the_date_past_it(province):
    province.person("P1")
    province.death("P1", "village", date(2021, 2, 25))
    province.record("P1", "inpatient", "strong", date(2021, 3, 2))  # in hospital after the village's date
    province.death("P1", "police", MARCH)
    province.death("P1", "civil_affairs", date(2021, 3, 8))
    assert deaths(province)["P1"][:2] == (MARCH, True)


def test_the_best_supported_date_is_the_pivot(province):
    province.person("P1")
    province.death("P1", "village", date(2020, 6, 1))  # far from the other two
    province.death("P1", "police", MARCH)
    province.death("P1", "civil_affairs", date(2021, 3, 5))
    assert deaths(province)["P1"] == (MARCH, True, "civil_affairs,police,village", True)


def test_only_auto_band_links_make_a_death(province):
    province.person("P1")
    province.death("P1", "police", MARCH, band="review")
    assert deaths(province) == {}


def test_the_rule_is_configurable(province):
    province.person("P1")
    province.death("P1", "health", MARCH)
    settings = DeathCheckSettings.from_dict({"decisive_sources": ["health"], "date_tolerance_days": 10})
    assert deaths(province, settings)["P1"][1] is True


def test_settings_reject_unknown_keys_and_bad_values():
    with pytest.raises(InvalidInput, match="unknown key"):
        DeathCheckSettings.from_dict({"tolerance": 3})
    with pytest.raises(InvalidInput, match="payment_day"):
        DeathCheckSettings(payment_day=31)
