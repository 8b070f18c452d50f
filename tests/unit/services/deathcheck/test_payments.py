import functools
from datetime import date

import duckdb
from hypothesis import given
from hypothesis import strategies as st

from silentcert.services.deathcheck.payments import create_payments_macro, payments_between


def test_counts_payment_days_strictly_after_the_start_up_to_the_end():
    assert payments_between(date(2021, 3, 4), date(2021, 10, 31), 15) == 8  # Mar 15 .. Oct 15
    assert payments_between(date(2021, 3, 15), date(2021, 10, 31), 15) == 7  # paid on the death day: not after
    assert payments_between(date(2021, 3, 16), date(2021, 10, 14), 15) == 6  # Apr .. Sep
    assert payments_between(date(2021, 10, 20), date(2021, 10, 31), 15) == 0
    assert payments_between(date(2021, 11, 1), date(2021, 10, 31), 15) == 0  # a date after the end


@given(st.dates(date(2000, 1, 1), date(2030, 12, 31)), st.dates(date(2000, 1, 1), date(2030, 12, 31)),
       st.integers(1, 28))
def test_sql_and_python_agree(start, end, day):
    got = _macro_connection().execute("SELECT payments_between($s::DATE, $e::DATE, $day)", {"s": start, "e": end, "day": day}
                      ).fetchone()[0]
    assert got == payments_between(start, end, day)


@functools.cache
def _macro_connection() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()  # one for every example: connecting takes longer than hypothesis's deadline allows
    create_payments_macro(con)
    return con
