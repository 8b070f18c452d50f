"""Time-aware weak evidence as set-wise SQL: every person's weak records scored window by window.

A weak certification dated D may rest only on evidence a person already dead before D could not have produced,
so each day D on which a person has a weak record opens a window: the records dated on or after D, scored
together by the naive-Bayes sum of docs/scoring.md section 2. Going from the latest day back, a window only
gains records, so a source's weight is a running total and the window's log-odds a running sum of each
source's increments: linear in the records, no pair of days is ever joined. The same text scores the living
(role ``weak``) and the labelled dead's post-death records (calibration.py), so the threshold is set on exactly
the scores it is compared with. :func:`services.liveness.scoring.windows` is the Python twin.
"""

from __future__ import annotations

from typing import Any

import duckdb

from silentcert.graph import sql

# (person_id, source, d, total, capped, delta, step, seen_step) per person, source and record day, into {into}.
# {rows} is a table or view of (person_id, source, d, weight). ``total`` is the source's weight over the records
# dated on or after d, ``capped`` it capped at $cap, ``delta`` what the source adds to the base log-odds at that
# weight (never negative, scoring.source_delta), ``step`` and ``seen_step`` what moving the window start back to d
# adds to the log-odds and to the count of sources seen (weight >= $min_weight). Needs
# ``source_log_ratios(source, seen_lr, unseen_lr)``.
STEPS = """
CREATE OR REPLACE TEMP TABLE {into} AS
WITH days AS (SELECT person_id, source, d, sum(weight) AS w FROM {rows} GROUP BY ALL),
run AS (
    SELECT *, least($cap, round(sum(w) OVER (PARTITION BY person_id, source ORDER BY d DESC
                                             ROWS UNBOUNDED PRECEDING), 9)) AS capped,
           round(sum(w) OVER (PARTITION BY person_id, source ORDER BY d DESC ROWS UNBOUNDED PRECEDING), 9) AS total
    FROM days
),
prev AS (
    SELECT *, coalesce(lag(capped) OVER (PARTITION BY person_id, source ORDER BY d DESC), 0.0) AS before FROM run
)
SELECT p.person_id, p.source, p.d, p.total, p.capped,
       greatest(0.0, p.capped * r.seen_lr - least(p.capped, 1.0) * r.unseen_lr) AS delta,
       greatest(0.0, p.capped * r.seen_lr - least(p.capped, 1.0) * r.unseen_lr)
         - greatest(0.0, p.before * r.seen_lr - least(p.before, 1.0) * r.unseen_lr) AS step,
       (p.capped >= $min_weight)::INT - (p.before >= $min_weight)::INT AS seen_step
FROM prev p JOIN source_log_ratios r USING (source)
"""

# (person_id, d, log_odds, seen) per person and window start d, from a steps table ({steps}, STEPS), into {into}.
# ``log_odds`` = $base + the running sum of steps, rounded to 1e-9 as the Python twin rounds it, so a score tied
# with a calibration score stays tied.
WINDOWS = """
CREATE OR REPLACE TEMP TABLE {into} AS
SELECT person_id, d, round($base + sum(step) OVER w, 9) AS log_odds, (sum(seen) OVER w)::BIGINT AS seen
FROM (SELECT person_id, d, sum(step) AS step, sum(seen_step) AS seen FROM {steps} GROUP BY ALL)
WINDOW w AS (PARTITION BY person_id ORDER BY d DESC ROWS UNBOUNDED PRECEDING)
"""

# (person_id, reach) into {into}: the best log-odds of any window of {windows} with $min_sources sources seen.
REACH = """
CREATE OR REPLACE TEMP TABLE {into} AS
SELECT person_id, max(log_odds) AS reach FROM {windows} WHERE seen >= $min_sources GROUP BY person_id
"""


def write_steps(con: duckdb.DuckDBPyConnection, into: str, rows: str, params: dict[str, Any]) -> None:
    """:data:`STEPS` from the table or view ``rows`` into ``into`` (binds $cap and $min_weight)."""
    sql.run(con, f"weak_steps_{into}", sql.with_idents(STEPS, into=into, rows=rows), params)


def write_windows(con: duckdb.DuckDBPyConnection, into: str, steps: str, base: float) -> None:
    """:data:`WINDOWS` from the steps table ``steps`` into ``into``."""
    sql.run(con, f"weak_windows_{into}", sql.with_idents(WINDOWS, into=into, steps=steps), {"base": base})


def write_reach(con: duckdb.DuckDBPyConnection, into: str, windows: str, min_sources: int) -> None:
    """:data:`REACH` of the windows table ``windows`` into ``into``."""
    sql.run(con, f"weak_reach_{into}", sql.with_idents(REACH, into=into, windows=windows),
            {"min_sources": min_sources})
