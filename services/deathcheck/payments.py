"""Pension payment days: how many monthly payments fall in a span (overpayment after a death, arrears after a
suspension). A payment is made on ``payment_day`` of every month; a span (start, end] counts the payment days
strictly after ``start`` and on or before ``end``.
"""

from __future__ import annotations

from datetime import date


def payments_between(start: date, end: date, payment_day: int) -> int:
    """Number of payment days p with start < p <= end (0 when end is not after start)."""
    first = start.year * 12 + start.month + (1 if start.day >= payment_day else 0)
    last = end.year * 12 + end.month - (1 if end.day < payment_day else 0)
    return max(0, last - first + 1)


def payments_between_sql(start: str, end: str, payment_day: int) -> str:
    """The same count as a DuckDB expression over two DATE expressions."""
    day = int(payment_day)
    return (
        f"greatest(0, (year({end}) * 12 + month({end}) - CASE WHEN day({end}) < {day} THEN 1 ELSE 0 END)"
        f" - (year({start}) * 12 + month({start}) + CASE WHEN day({start}) >= {day} THEN 1 ELSE 0 END) + 1)"
    )
