"""The round's payment instructions: ``payments(person_id, action, effective, months, amount)`` (payments.csv).

A person's pension is *paid* after a round unless the final verdict holds it: period ``suspended`` (status
``uncertified`` past the grace days, or ``review``) or ``ended`` (``deceased``). One row is written per person whose
payment status differs from the one the previous round published (:data:`HELD_STATES`, read from the graph store by
``GraphStore.held_periods``; a person the previous round did not hold, or the first round of a store, counts as
paid). Payments fall on ``payment_day`` of every month; "the payment days in (a, b]" are counted by
:func:`services.deathcheck.payments.payments_between`.

    paid -> suspended                  suspend   effective as_of        months 0   amount 0
    paid or suspended -> deceased      stop      effective death date   months = payment days in (death, end]
                                                 amount = months x monthly_pension (the overpayment to recover);
                                                 end = as_of when the person was paid until this round (then the
                                                 figure is the confirmed_death flag's), else the day payments were
                                                 first held
    suspended or deceased -> paid      restore   effective as_of        months = payment days in (since, as_of]
                                                 amount = months x monthly_pension (the arrears);
                                                 since = as_of of the round that first held the payments

A suspension's effective date is its round's as_of, so the arrears of a later restore are exactly the payment days
held between the two rounds. Deceased to suspended (strong evidence after an earlier death: review) changes
nothing, payments stay held. Docs: docs/payments.md.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import duckdb
import pyarrow as pa

from silentcert.graph import sql
from silentcert.services.deathcheck.payments import create_payments_macro

HELD_STATES = ("suspended", "ended")  # period states under which no pension is paid

#: What the previous round held, as GraphStore.held_periods returns it.
PREVIOUS_HELD = pa.schema([("person_id", pa.string()), ("status", pa.string()), ("period_state", pa.string()),
                           ("since", pa.date32())])

_CHANGES = """
CREATE OR REPLACE TEMP TABLE payment_changes AS
SELECT v.person_id, coalesce(g.monthly_pension, 0.0) AS pension, h.since, d.death_date,
       CASE WHEN v.status = 'deceased' AND h.status IS DISTINCT FROM 'deceased' THEN 'stop'
            WHEN list_contains($held, v.period_state) AND v.status <> 'deceased' AND h.person_id IS NULL
                 THEN 'suspend'
            WHEN NOT list_contains($held, v.period_state) AND h.person_id IS NOT NULL THEN 'restore'
       END AS action
FROM verdicts v JOIN registry g USING (person_id)
LEFT JOIN previous_held h USING (person_id)
LEFT JOIN deaths d USING (person_id)
"""

_PAYMENTS = """
CREATE OR REPLACE TABLE payments AS
SELECT person_id, action, effective, months, round(months * pension, 2) AS amount
FROM (
    SELECT person_id, action, pension,
           CASE action WHEN 'stop' THEN coalesce(death_date, $as_of::DATE) ELSE $as_of::DATE END AS effective,
           CASE action WHEN 'suspend' THEN 0
                       WHEN 'restore' THEN payments_between(since, $as_of::DATE, $payment_day)
                       ELSE coalesce(payments_between(death_date, coalesce(since, $as_of::DATE), $payment_day), 0)
                  END AS months
    FROM payment_changes WHERE action IS NOT NULL
)
ORDER BY person_id
"""


def build_payments(con: duckdb.DuckDBPyConnection, as_of: date, payment_day: int) -> dict[str, Any]:
    """Write ``payments`` from the final ``verdicts``, ``registry``, ``deaths`` and ``previous_held`` (absent: no
    earlier round); returns people and yuan per action."""
    _ensure_previous_held(con)
    sql.run(con, "payment_changes", _CHANGES, {"held": list(HELD_STATES)})
    create_payments_macro(con)
    sql.run(con, "payments", _PAYMENTS, {"as_of": as_of, "payment_day": int(payment_day)})
    sql.run(con, "drop_payment_changes", _DROP_CHANGES)
    return payment_totals(con)


def payment_totals(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """The money of the round's payments: people and yuan per action (for ``suspended`` the monthly pensions
    stopped), and ``held``: everyone whose payments stay suspended after the round, with their monthly pensions."""
    rows = sql.fetchall(con, "payment_totals", _TOTALS, {"held": list(HELD_STATES)})
    found = {kind: (int(people), round(float(yuan), 2)) for kind, people, yuan in rows}
    return {kind: {"people": found.get(kind, (0, 0.0))[0], unit: found.get(kind, (0, 0.0))[1]}
            for kind, unit in _TOTAL_UNITS.items()}


_DROP_CHANGES = "DROP TABLE payment_changes"
_PREVIOUS_HELD = "CREATE TABLE IF NOT EXISTS previous_held (person_id VARCHAR, status VARCHAR, period_state VARCHAR, since DATE)"
_TOTAL_UNITS = {"suspended": "monthly_yuan", "restored": "arrears_yuan", "stopped": "overpayment_yuan",
                "held": "monthly_yuan"}
_TOTALS = """
SELECT CASE p.action WHEN 'suspend' THEN 'suspended' WHEN 'restore' THEN 'restored' ELSE 'stopped' END, count(*),
       coalesce(sum(CASE p.action WHEN 'suspend' THEN coalesce(g.monthly_pension, 0.0) ELSE p.amount END), 0.0)
FROM payments p JOIN registry g USING (person_id) GROUP BY p.action
UNION ALL
SELECT 'held', count(*), coalesce(sum(coalesce(g.monthly_pension, 0.0)), 0.0)
FROM verdicts v JOIN registry g USING (person_id)
WHERE list_contains($held, v.period_state) AND v.status <> 'deceased'
"""


def _ensure_previous_held(con: duckdb.DuckDBPyConnection) -> None:
    sql.run(con, "previous_held", _PREVIOUS_HELD)
