"""The survival model through the whole-province SQL (score_round), one rule at a time."""

from __future__ import annotations

from datetime import date, datetime

from silentcert.services.liveness.score_stage import score_round
from silentcert.services.liveness.settings import LivenessSettings

AS_OF = date(2021, 10, 31)
SETTINGS = LivenessSettings()


def verdict(con, pid: str) -> dict:
    cur = con.execute("SELECT * FROM verdicts WHERE person_id = ?", [pid])
    names = [d[0] for d in cur.description]
    return dict(zip(names, cur.fetchone(), strict=True))


def run(con, province, settings: LivenessSettings = SETTINGS) -> dict:
    province.load(con)
    return score_round(con, AS_OF, settings)


def test_confidently_linked_strong_record_certifies_on_its_date(con, province):
    province.person("A")
    province.record("A", "vaccination", "strong", date(2021, 9, 3), p=0.97)
    run(con, province)
    v = verdict(con, "A")
    assert (v["status"], v["method"], v["source"]) == ("certified", "strong", "vaccination")
    assert v["evidence_at"] == date(2021, 9, 3)
    assert v["certified_until"] == date(2022, 9, 3)
    assert v["probability"] == 0.97
    assert "vaccination on 2021-09-03" in v["explanation"]


def test_strong_record_below_confidence_or_through_shared_identifier_does_not_certify(con, province):
    province.person("A")
    province.record("A", "vaccination", "strong", date(2021, 9, 3), p=0.9)
    province.person("B")
    province.record("B", "vaccination", "strong", date(2021, 9, 3), p=0.97, method="identifier", shared=True)
    run(con, province)
    assert verdict(con, "A")["status"] == "uncertified"
    assert verdict(con, "B")["status"] == "uncertified"
    roles = con.execute("SELECT DISTINCT role FROM evidence").fetchall()
    assert roles == [("not_confident",)]


def test_failed_face_check_does_not_certify_but_passed_one_does(con, province):
    province.person("F")
    province.record("F", "face", "face", date(2021, 10, 1), p=1.0, method="direct", passed=False)
    province.person("G")
    province.record("G", "face", "face", date(2021, 10, 1), p=1.0, method="direct", passed=True)
    province.person("H")
    province.record("H", "counter", "in_person", date(2021, 10, 2), p=1.0, method="direct", passed=None)
    run(con, province)
    assert (verdict(con, "F")["status"], verdict(con, "F")["method"]) == ("uncertified", "none")
    assert (verdict(con, "G")["method"], verdict(con, "G")["certified_until"]) == ("face", date(2022, 10, 1))
    assert verdict(con, "H")["method"] == "in_person"


def test_latest_certifying_record_decides(con, province):
    province.person("A")
    province.record("A", "vaccination", "strong", date(2021, 3, 1))
    province.record("A", "rail", "strong", date(2021, 8, 1))
    province.record("A", "face", "face", date(2021, 6, 1), p=1.0, method="direct")
    run(con, province)
    v = verdict(con, "A")
    assert (v["method"], v["source"], v["certified_until"]) == ("strong", "rail", date(2022, 8, 1))
    roles = dict(con.execute("SELECT source, role FROM evidence").fetchall())
    assert roles == {"rail": "decides", "vaccination": "certifies", "face": "certifies"}


def test_one_weak_source_cannot_certify_alone_however_many_records(con, province):
    province.person("W")
    province.weak("W", "telecom", *[date(2021, m, 1) for m in range(1, 11)])
    run(con, province)
    v = verdict(con, "W")
    assert (v["status"], v["method"]) == ("uncertified", "none")
    assert "1 weak source(s) seen (telecom), needs 2" in v["explanation"]


def test_two_recent_weak_sources_certify(con, province):
    province.person("W")
    province.weak("W", "telecom", date(2021, 10, 20), date(2021, 9, 20))
    province.weak("W", "card_spending", date(2021, 10, 25))
    run(con, province)
    v = verdict(con, "W")
    assert (v["status"], v["method"]) == ("certified", "weak")
    assert v["probability"] >= SETTINGS.certify_probability
    assert v["evidence_at"] == date(2021, 10, 20)  # the day the second source had been seen
    assert v["certified_until"] == date(2022, 10, 20)
    total = con.execute("SELECT sum(contribution) FROM evidence WHERE person_id = 'W'").fetchone()[0]
    assert total > 0


def test_weak_sources_seen_long_ago_date_the_certification_back_and_poor_links_do_not_certify(con, province):
    province.person("OLD")  # alive on 15 Nov 2020: certified until 15 Nov 2021, no later
    province.weak("OLD", "telecom", date(2020, 11, 15))
    province.weak("OLD", "card_spending", date(2020, 11, 20))
    province.person("GONE")  # the second source is older than the evidence window
    province.weak("GONE", "telecom", date(2020, 10, 15))
    province.weak("GONE", "card_spending", date(2020, 11, 20))
    province.person("POOR")
    province.weak("POOR", "telecom", date(2021, 10, 20), p=0.55)
    province.weak("POOR", "card_spending", date(2021, 10, 20), p=0.55, shared=True)
    run(con, province)
    old = verdict(con, "OLD")
    assert (old["method"], old["evidence_at"], old["certified_until"], old["period_state"]) == \
        ("weak", date(2020, 11, 15), date(2021, 11, 15), "expiring")
    assert verdict(con, "GONE")["status"] == "uncertified"
    assert verdict(con, "POOR")["status"] == "uncertified"


def test_evidence_after_a_linked_death_never_certifies(con, province):
    province.person("D")
    province.record("D", "police_deaths", "death", date(2021, 5, 1))
    province.record("D", "vaccination", "strong", date(2021, 7, 1))
    province.record("D", "face", "face", date(2021, 5, 1), p=1.0, method="direct")
    province.weak("D", "telecom", date(2021, 9, 1), date(2021, 10, 1))
    province.weak("D", "card_spending", date(2021, 9, 2), date(2021, 10, 2))
    run(con, province)
    v = verdict(con, "D")
    assert (v["status"], v["method"]) == ("uncertified", "none")
    roles = {r for (r,) in con.execute("SELECT role FROM evidence WHERE person_id = 'D'").fetchall()}
    assert roles == {"after_death"}


def test_genuine_evidence_before_the_death_certifies(con, province):
    province.person("D")
    province.record("D", "vaccination", "strong", date(2021, 4, 1))
    province.record("D", "village_deaths", "death", date(2021, 5, 1), p=0.7)
    province.record("D", "rail", "strong", date(2021, 6, 1))
    run(con, province)
    v = verdict(con, "D")
    assert (v["method"], v["evidence_at"]) == ("strong", date(2021, 4, 1))


def test_evidence_dated_after_as_of_is_ignored(con, province):
    province.person("A")
    province.record("A", "vaccination", "strong", datetime(2021, 11, 1, 0, 30))
    province.record("A", "rail", "strong", datetime(2021, 10, 31, 23, 59))
    run(con, province)
    v = verdict(con, "A")
    assert (v["source"], v["evidence_at"]) == ("rail", date(2021, 10, 31))
    assert con.execute("SELECT count(*) FROM evidence").fetchone()[0] == 1


def test_registry_person_without_links_gets_a_verdict_and_unlinked_records_are_harmless(con, province):
    province.person("N")
    province.record(None, "vaccination", "strong", date(2021, 9, 1))
    stats = run(con, province)
    assert stats["persons"] == 1
    assert verdict(con, "N")["method"] == "none"


def test_relatives_using_card_and_phone_are_not_certified_once_the_round_has_seen_it(con, province):
    """Dead people whose card and phone kept being used: the round's own labelled dead show the pattern, the
    ratios fall, and the same pattern no longer certifies a person without a death record."""
    for i in range(60):  # alive, certified by strong evidence, about half seen by each weak source
        pid = province.person(f"L{i}")
        province.record(pid, "vaccination", "strong", date(2021, 8, 1))
        if i % 2:
            province.weak(pid, "telecom", date(2021, 9, 1))
        if i % 3:
            province.weak(pid, "card_spending", date(2021, 9, 1))
    for i in range(60):  # dead with a death record; relatives keep using the phone and card of most
        pid = province.person(f"X{i}")
        province.record(pid, "civil_deaths", "death", date(2021, 3, 1))
        province.record(pid, "police_deaths", "death", date(2021, 3, 1))  # two registers: labelled
        if i % 4:
            province.weak(pid, "telecom", date(2021, 9, 1))
            province.weak(pid, "card_spending", date(2021, 9, 1))
    suspect = province.person("S")  # no death record, only phone and card activity
    province.weak(suspect, "telecom", date(2021, 10, 1))
    province.weak(suspect, "card_spending", date(2021, 10, 1))
    stats = run(con, province)
    assert stats["likelihood_ratios"]["telecom"]["lr"] < 1.0
    assert verdict(con, "S")["status"] == "uncertified"

    con2 = __import__("duckdb").connect()
    lone = type(province)()
    lone.person("S")
    lone.weak("S", "telecom", date(2021, 10, 1))
    lone.weak("S", "card_spending", date(2021, 10, 1))
    lone.load(con2)
    score_round(con2, AS_OF, SETTINGS)
    assert verdict(con2, "S")["status"] == "certified"  # with only the default ratios it would pass
