"""Pension payment days: how many monthly payments fall in a span (overpayment after a death, arrears after a
suspension). A payment is made on ``payment_day`` of every month; a span (start, end] counts the payment days
strictly after ``start`` and on or before ``end``.
"""

from __future__ import annotations

from datetime import date

import duckdb

from silentcert.graph import sql


def payments_between(start: date, end: date, payment_day: int) -> int:
    """Number of payment days p with start < p <= end (0 when end is not after start)."""
    first = start.year * 12 + start.month + (1 if start.day >= payment_day else 0)
    last = end.year * 12 + end.month - (1 if end.day < payment_day else 0)
    return max(0, last - first + 1)


# The same count in SQL: the macro payments_between(start_day, end_day, payment_day) over two DATEs (a macro is
# inlined where it is called).
PAYMENTS_MACRO = """
CREATE OR REPLACE TEMP MACRO payments_between(start_day, end_day, payment_day) AS
greatest(0, (year(end_day) * 12 + month(end_day) - CASE WHEN day(end_day) < payment_day THEN 1 ELSE 0 END)
            - (year(start_day) * 12 + month(start_day) + CASE WHEN day(start_day) >= payment_day THEN 1 ELSE 0 END)
            + 1)
"""


def create_payments_macro(con: duckdb.DuckDBPyConnection) -> None:
    """Define the ``payments_between`` macro on ``con``."""
    sql.run(con, "payments_macro", PAYMENTS_MACRO)
