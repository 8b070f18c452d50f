from datetime import date

from silentcert.services.deathcheck.deathcheck_stage import check_round
from silentcert.services.deathcheck.rings import ring_components
from silentcert.services.deathcheck.settings import DeathCheckSettings

PHONE = "13912345678"


def ring_members(province):
    check_round(province.con, province.as_of, "2021-10", DeathCheckSettings())
    return dict(province.con.execute(
        "SELECT person_id, ring_id FROM flags WHERE kind = 'shared_identifier_ring'").fetchall())


def test_unrelated_people_sharing_a_phone_form_a_ring(province):
    province.person("A", name="张伟", sex="M", phone=PHONE, county="110101")
    province.person("B", name="李娜", sex="F", phone=PHONE, county="110102", birth=date(1940, 5, 1))
    province.person("C", name="王强", sex="M", phone=PHONE, county="110101", birth=date(1944, 5, 1))
    province.death("B", "police", date(2021, 1, 1))
    province.record("B", "card", "weak", date(2021, 6, 1))
    members = ring_members(province)
    assert set(members) == {"A", "B", "C"} and len(set(members.values())) == 1
    severity, detail = province.con.execute(
        "SELECT severity, detail FROM flags WHERE person_id = 'B' AND kind = 'shared_identifier_ring'").fetchone()
    assert severity in ("high", "critical") and "1 reported dead" in detail and PHONE in detail


def test_rings_join_through_cards_too(province):
    province.person("A", name="张伟", phone=PHONE)
    province.person("B", name="李明", phone=PHONE, card="C1")
    province.person("C", name="王强", card="C1")
    province.death("C", "village", date(2021, 2, 1))
    assert set(ring_members(province)) == {"A", "B", "C"}


def test_a_spouse_far_apart_in_age_does_not_join_the_ring(province):
    province.person("A", name="张伟", sex="M", phone=PHONE, county="110101", birth=date(1921, 1, 1))
    province.person("B", name="李娜", sex="F", phone=PHONE, county="120101")
    province.person("C", name="王强", sex="M", phone=PHONE, county="130101")
    province.death("A", "police", date(2021, 1, 1))
    province.person("W", name="赵敏", sex="F", birth=date(1955, 1, 1), county="110101")
    for pid in ("A", "W"):  # the couple's landline, seen on their records
        province.identifier(pid, "phone", "0791-8881234")
    assert set(ring_members(province)) == {"A", "B", "C"}


def test_living_unrelated_holders_nobody_reported_dead_are_not_a_ring(province):
    for pid, name, county in (("A", "张伟", "110101"), ("B", "李明", "120101"), ("C", "王强", "130101")):
        province.person(pid, name=name, phone=PHONE, county=county)
    assert ring_members(province) == {}


def test_five_unrelated_living_holders_are_a_ring(province):
    for pid, name in zip("ABCDE", ("张伟", "李明", "王强", "刘洋", "陈杰")):
        province.person(pid, name=name, phone=PHONE, county="110101")
    assert set(ring_members(province)) == set("ABCDE")


def test_an_uncertain_death_link_is_enough_to_flag_the_ring(province):
    for pid, name in zip("ABC", ("张伟", "李明", "王强")):
        province.person(pid, name=name, card="C1")
    province.death("B", "police", date(2021, 2, 1), band="review")
    assert set(ring_members(province)) == set("ABC")


def test_a_couple_sharing_a_phone_is_not_a_ring(province):
    province.person("H", name="张伟", sex="M", phone=PHONE)
    province.person("W", name="李娜", sex="F", phone=PHONE, birth=date(1952, 3, 1))
    assert ring_members(province) == {}


def test_a_family_line_is_not_a_ring(province):
    province.person("F", name="张伟", sex="M", phone=PHONE, birth=date(1940, 1, 1))
    province.person("M", name="李娜", sex="F", phone=PHONE, birth=date(1942, 1, 1))
    province.person("S", name="张强", sex="M", phone=PHONE, birth=date(1962, 1, 1))
    assert ring_members(province) == {}


def test_the_same_surname_in_another_county_is_not_family(province):
    for pid, county in (("A", "110101"), ("B", "120101"), ("C", "130101")):
        province.person(pid, name="张伟", sex="M", phone=PHONE, county=county)
    province.death("A", "health", date(2021, 2, 1))
    assert set(ring_members(province)) == {"A", "B", "C"}


def test_two_unrelated_people_are_below_the_minimum_size(province):
    province.person("A", name="张伟", sex="M", phone=PHONE)
    province.person("B", name="王强", sex="M", phone=PHONE)
    assert ring_members(province) == {}


def test_components_and_stable_ring_ids():
    edges = [("A", "phone:1"), ("B", "phone:1"), ("C", "card:9"), ("B", "card:9"), ("X", "phone:7"),
             ("Y", "phone:7")]
    members = dict(ring_components(edges, 3))
    assert set(members) == {"A", "B", "C"}
    assert dict(ring_components(list(reversed(edges)), 3)) == members
