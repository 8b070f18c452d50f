"""Duplicate-account flags from the resolver's pairs: both accounts flagged, severity by payment, the money at
stake, a reviewer's decision kept on a rerun, and the verdict shared through evidence that matched both."""

from datetime import date

import pytest

from silentcert.services.deathcheck.deathcheck_stage import check_round
from silentcert.services.deathcheck.duplicates import window_start
from silentcert.services.deathcheck.settings import DeathCheckSettings
from silentcert.services.resolver.dedupe import PAIRS_TABLE


def run(province):
    return check_round(province.con, province.as_of, "2021-10", DeathCheckSettings())


@pytest.fixture
def pair(province):
    province.con.execute(PAIRS_TABLE)
    province.con.execute("ALTER TABLE evidence ADD COLUMN role VARCHAR")
    province.person("P1", pension=3000.0, county="110101")
    province.person("P2", pension=2800.0, county="130102")
    province.con.execute("INSERT INTO duplicate_pairs VALUES ('P1', 'P2', NULL, 0.999, 'auto', true)")
    return province


def test_both_accounts_are_flagged_with_the_money_paid_twice(pair):
    stats = run(pair)
    (flag_id, severity, overpayment, _, detail), = [v for k, v in pair.flags("P1").items()]
    assert flag_id == "duplicate_account:P1:P2" and severity == "critical"
    assert pair.flags("P2")["duplicate_account"][0] == "duplicate_account:P2:P1"
    assert overpayment == 12 * 2800.0  # the smaller pension, paid a second time, 12 payments to 2021-10-31
    assert "12 monthly payments from 2020-10-31 to 2021-10-31" in detail and "county 130102" in detail
    assert stats["duplicate_pairs"] == 1


def test_a_pair_not_both_paid_is_medium_and_nothing_at_stake(pair):
    pair.con.execute("UPDATE verdicts SET status = 'uncertified' WHERE person_id = 'P2'")
    run(pair)
    assert pair.flags("P1")["duplicate_account"][1:3] == ("medium", 0.0)


def test_confirming_the_duplicate_holds_its_payments_and_dismissing_changes_nothing(pair):
    pair.decided("duplicate_account:P2:P1", "confirmed")
    pair.decided("duplicate_account:P1:P2", "dismissed")
    stats = run(pair)
    assert pair.verdict("P2")[:2] == ("review", "suspended")
    assert pair.verdict("P1")[:2] == ("certified", "valid")
    assert stats["decisions_kept"] == 2


def test_evidence_that_matched_both_accounts_certifies_both(pair):
    pair.con.execute("UPDATE verdicts SET status = 'uncertified', method = 'none', certified_until = NULL "
                     "WHERE person_id = 'P2'")
    rid = pair.record("P1", "vaccination", "strong", date(2021, 9, 1))
    pair.con.execute("INSERT INTO link_candidates VALUES (?, 'P1', 1.0, 'deterministic', false), "
                     "(?, 'P2', 1.0, 'deterministic', false)", [rid, rid])
    pair.con.execute("INSERT INTO evidence (person_id, rid, source, kind, role) VALUES "
                     "('P1', ?, 'vaccination', 'strong', 'decides')", [rid])
    stats = run(pair)
    assert pair.verdict("P2") == pair.verdict("P1")
    explanation, = pair.con.execute("SELECT explanation FROM verdicts WHERE person_id = 'P2'").fetchone()
    assert "duplicate_account:P2:P1" in explanation
    assert stats["certified_by_twin"] == 1


def test_a_closed_pair_shares_nothing(pair):
    pair.con.execute("UPDATE duplicate_pairs SET open = false")
    pair.con.execute("UPDATE verdicts SET status = 'uncertified' WHERE person_id = 'P2'")
    rid = pair.record("P1", "vaccination", "strong", date(2021, 9, 1))
    pair.con.execute("INSERT INTO link_candidates VALUES (?, 'P2', 1.0, 'deterministic', false)", [rid])
    pair.con.execute("INSERT INTO evidence (person_id, rid, source, kind, role) VALUES "
                     "('P1', ?, 'vaccination', 'strong', 'decides')", [rid])
    run(pair)
    assert pair.verdict("P2")[0] == "uncertified"


def test_window_start_clips_the_day_to_the_month():
    assert window_start(date(2021, 3, 31), 1) == date(2021, 2, 28)
    assert window_start(date(2021, 10, 31), 12) == date(2020, 10, 31)
