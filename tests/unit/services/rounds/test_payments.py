"""The payment rules of services/rounds/payments.py, one transition per person on hand-built tables."""

from __future__ import annotations

from datetime import date

import duckdb
import pytest

from silentcert.services.rounds.payments import build_payments
from silentcert.services.rounds.publish import OUTPUT_FILES, write_csv

AS_OF = date(2021, 12, 31)
PAYMENT_DAY = 15

# person -> (status, period_state after this round, monthly pension)
VERDICTS = {
    "paid": ("certified", "valid", 2000.0),
    "overdue": ("uncertified", "overdue", 2000.0),  # inside the grace days: still paid
    "lapsed": ("uncertified", "suspended", 1500.0),
    "held_for_review": ("review", "suspended", 1800.0),
    "still_lapsed": ("uncertified", "suspended", 1500.0),
    "certified_again": ("certified", "valid", 1200.0),
    "cleared": ("certified", "carried", 1000.0),
    "died": ("deceased", "ended", 3000.0),
    "died_while_suspended": ("deceased", "ended", 2500.0),
    "died_after_suspension": ("deceased", "ended", 2500.0),
    "dead_before": ("deceased", "ended", 2000.0),
    "dead_now_in_review": ("review", "suspended", 2000.0),
    "death_cleared": ("certified", "valid", 2200.0),
    "no_pension": ("uncertified", "suspended", None),
}
# person -> (status, period_state of the previous round's verdict, since)
PREVIOUS_HELD = {
    "still_lapsed": ("uncertified", "suspended", date(2021, 9, 30)),
    "certified_again": ("uncertified", "suspended", date(2021, 9, 30)),
    "cleared": ("review", "suspended", date(2021, 11, 30)),
    "died_while_suspended": ("uncertified", "suspended", date(2021, 10, 31)),
    "died_after_suspension": ("uncertified", "suspended", date(2021, 10, 31)),
    "dead_before": ("deceased", "ended", date(2021, 8, 31)),
    "dead_now_in_review": ("deceased", "ended", date(2021, 8, 31)),
    "death_cleared": ("deceased", "ended", date(2021, 10, 31)),
}
DEATHS = {
    "died": date(2021, 9, 3),
    "died_while_suspended": date(2021, 7, 20),
    "died_after_suspension": date(2021, 11, 2),
}


@pytest.fixture
def con() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("CREATE TABLE verdicts (person_id VARCHAR, status VARCHAR, period_state VARCHAR)")
    con.execute("CREATE TABLE registry (person_id VARCHAR, monthly_pension DOUBLE)")
    con.execute("CREATE TABLE deaths (person_id VARCHAR, death_date DATE)")
    con.executemany("INSERT INTO verdicts VALUES (?, ?, ?)", [(p, s, st) for p, (s, st, _) in VERDICTS.items()])
    con.executemany("INSERT INTO registry VALUES (?, ?)", [(p, m) for p, (_, _, m) in VERDICTS.items()])
    con.executemany("INSERT INTO deaths VALUES (?, ?)", list(DEATHS.items()))
    return con


def _previous(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("CREATE TABLE previous_held (person_id VARCHAR, status VARCHAR, period_state VARCHAR, since DATE)")
    con.executemany("INSERT INTO previous_held VALUES (?, ?, ?, ?)", [(p, *v) for p, v in PREVIOUS_HELD.items()])


def _payments(con: duckdb.DuckDBPyConnection) -> dict[str, tuple]:
    rows = con.execute("SELECT person_id, action, effective, months, amount FROM payments").fetchall()
    assert len(rows) == len({r[0] for r in rows})  # one row a person
    return {r[0]: r[1:] for r in rows}


def test_each_change_of_payment_status_and_nothing_else(con):
    _previous(con)
    totals = build_payments(con, AS_OF, PAYMENT_DAY)
    assert _payments(con) == {
        "lapsed": ("suspend", AS_OF, 0, 0.0),
        "held_for_review": ("suspend", AS_OF, 0, 0.0),
        "no_pension": ("suspend", AS_OF, 0, 0.0),
        # held since the 2021-09-30 round: Oct 15, Nov 15, Dec 15
        "certified_again": ("restore", AS_OF, 3, 3600.0),
        "cleared": ("restore", AS_OF, 1, 1000.0),  # held since 2021-11-30: Dec 15
        "death_cleared": ("restore", AS_OF, 2, 4400.0),  # a stop undone: held since 2021-10-31
        # paid until this round: Sep 15 .. Dec 15 after the death on 2021-09-03
        "died": ("stop", date(2021, 9, 3), 4, 12000.0),
        # payments held since 2021-10-31: only Aug 15, Sep 15, Oct 15 were paid after the death
        "died_while_suspended": ("stop", date(2021, 7, 20), 3, 7500.0),
        "died_after_suspension": ("stop", date(2021, 11, 2), 0, 0.0),  # nothing paid after the death
    }
    assert totals == {"suspended": {"people": 3, "monthly_yuan": 3300.0},
                      "restored": {"people": 3, "arrears_yuan": 9000.0},
                      "stopped": {"people": 3, "overpayment_yuan": 19500.0},
                      "held": {"people": 5, "monthly_yuan": 6800.0}}  # 1500+1800+1500+2000+0


def test_a_first_round_counts_everyone_as_paid_before_it(con):
    build_payments(con, AS_OF, PAYMENT_DAY)  # no previous_held table: no earlier round
    payments = _payments(con)
    assert {p for p, row in payments.items() if row[0] == "suspend"} == {
        "lapsed", "held_for_review", "still_lapsed", "no_pension", "dead_now_in_review"}
    assert {p for p, row in payments.items() if row[0] == "stop"} == {
        "died", "died_while_suspended", "died_after_suspension", "dead_before"}
    assert not any(row[0] == "restore" for row in payments.values())
    # paid until this round, so the months after the death are the death check's: Aug 15 .. Dec 15
    assert payments["died_while_suspended"] == ("stop", date(2021, 7, 20), 5, 12500.0)
    # a death without a death date this round (confirmed by a reviewer, reports gone): stopped at the round
    assert payments["dead_before"] == ("stop", AS_OF, 0, 0.0)


def test_a_rerun_writes_the_same_rows(con):
    _previous(con)
    build_payments(con, AS_OF, PAYMENT_DAY)
    first = _payments(con)
    build_payments(con, AS_OF, PAYMENT_DAY)
    assert _payments(con) == first


def test_the_payment_day_decides_the_months(con):
    _previous(con)
    build_payments(con, AS_OF, 28)  # 2021-12-28 is not after as_of: Oct 28, Nov 28, Dec 28
    assert _payments(con)["certified_again"] == ("restore", AS_OF, 3, 3600.0)
    build_payments(con, date(2021, 12, 27), 28)  # Dec 28 not yet reached
    assert _payments(con)["certified_again"] == ("restore", date(2021, 12, 27), 2, 2400.0)


def test_payments_csv_has_its_header_when_nothing_changed(con, tmp_path):
    con.execute("DELETE FROM verdicts WHERE status <> 'certified'")
    build_payments(con, AS_OF, PAYMENT_DAY)
    assert write_csv(con, OUTPUT_FILES["payments.csv"], tmp_path / "payments.csv") == 0
    assert (tmp_path / "payments.csv").read_text(encoding="utf-8") == "person_id,action,effective,months,amount\n"


def test_payments_csv_dates_and_yuan(con, tmp_path):
    _previous(con)
    build_payments(con, AS_OF, PAYMENT_DAY)
    write_csv(con, OUTPUT_FILES["payments.csv"], tmp_path / "payments.csv")
    lines = (tmp_path / "payments.csv").read_text(encoding="utf-8").splitlines()
    assert "certified_again,restore,2021-12-31,3,3600.00" in lines
    assert "died,stop,2021-09-03,4,12000.00" in lines
    assert "lapsed,suspend,2021-12-31,0,0.00" in lines
