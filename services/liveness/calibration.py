"""What relatives can fake: the weak-evidence threshold, calibrated on the round's labelled dead's post-death records.

A weak certification dated D rests only on the weak records dated on or after D (weak_windows.py). A person who
died before D can produce such records only through others: relatives using the card, the phone, the bank book.
The labelled dead (score_stage's ``labelled_dead``: a confidently linked death record at least
``min_dead_exposure_days`` old, no certifying record of their own after it) show exactly that:
their records dated on or after the death, scored window by window with the same model, are the false
certifications relatives cause. Each labelled dead person's *reach* is the best log-odds of such a window with
``min_weak_sources`` sources seen; the threshold is raised above all but ``max_dead_certified`` of those reaches
(above the highest one while the round has too few labelled dead for that share to be a whole person), and never
lowered below the configured ``certify_probability``. Genuine activity before the death is left out: a
certification dated before the death is correct. Stored in ``weak_calibration``; the trade-off over a range of
thresholds in ``weak_operating_points``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import date
from typing import Any

import duckdb

from silentcert.graph import sql
from silentcert.services.liveness.ratios import LikelihoodRatio
from silentcert.services.liveness.scoring import base_log_odds, source_delta
from silentcert.services.liveness.settings import LivenessSettings
from silentcert.services.liveness.weak_windows import write_reach, write_steps, write_windows

_LABELLED_COUNT = "SELECT count(*) FROM {labelled}"

# the labelled dead's weak records dated on or after their death: what relatives produced
_POST_DEATH_WEAK_RECORDS = """
CREATE OR REPLACE TEMP VIEW post_death_weak_records AS
SELECT e.person_id, e.source, e.d, e.raw_weight AS weight FROM {evidence} e
JOIN {labelled} dead USING (person_id)
WHERE e.kind = 'weak' AND e.raw_weight IS NOT NULL AND e.d >= dead.death_date
"""

_POST_DEATH_REACH = "SELECT reach FROM post_death_reach ORDER BY reach DESC"

_CALIBRATION = """
CREATE OR REPLACE TABLE weak_calibration AS SELECT $configured::DOUBLE AS configured_log_odds,
       $labelled::BIGINT AS dead_labelled, $scored::BIGINT AS dead_with_sources, $threshold::DOUBLE AS threshold_log_odds
"""

_THRESHOLD = "SELECT threshold_log_odds FROM weak_calibration"
_DEAD_LABELLED = "SELECT dead_labelled FROM weak_calibration"
_CREATE_OPERATING = """
CREATE OR REPLACE TABLE weak_operating_points (threshold_log_odds DOUBLE, living_certified BIGINT,
    weak_only_certified BIGINT, living BIGINT, labelled_dead BIGINT, dead_certified_after_death BIGINT,
    this_round BOOLEAN)
"""
_INSERT_OPERATING = "INSERT INTO weak_operating_points VALUES (?, ?, ?, ?, ?, ?, ?)"


def calibrate_threshold(con: duckdb.DuckDBPyConnection, settings: LivenessSettings, base: float, *,
                        evidence: str, labelled: str) -> float:
    """The round's weak threshold in log-odds; writes ``weak_calibration`` and leaves ``post_death_reach`` (the
    best post-death window of each labelled dead person) for :func:`operating_points`. ``labelled`` names the
    labelled dead (person_id, death_date); needs ``source_log_ratios`` (score_stage)."""
    labelled_n = sql.scalar(con, "labelled_dead", sql.with_idents(_LABELLED_COUNT, labelled=labelled))
    sql.run(con, "post_death_weak_records",
            sql.with_idents(_POST_DEATH_WEAK_RECORDS, evidence=evidence, labelled=labelled))
    write_steps(con, "post_death_window_steps", "post_death_weak_records",
                {"cap": settings.source_cap, "min_weight": settings.min_source_weight})
    write_windows(con, "post_death_windows", "post_death_window_steps", base)
    write_reach(con, "post_death_reach", "post_death_windows", settings.min_weak_sources)
    scores = [row[0] for row in sql.fetchall(con, "post_death_reach", _POST_DEATH_REACH)]
    threshold = threshold_from(scores, labelled_n, settings)
    sql.run(con, "weak_calibration", _CALIBRATION,
            {"configured": settings.certify_log_odds, "labelled": labelled_n, "scored": len(scores),
             "threshold": threshold})
    return threshold


def threshold_from(scores_desc: list[float], labelled: int, settings: LivenessSettings) -> float:
    """Just above the (k+1)-th highest dead score, k = the share of labelled dead allowed through."""
    allowed = math.floor(settings.max_dead_certified * labelled)
    if len(scores_desc) <= allowed:
        return settings.certify_log_odds
    barrier = scores_desc[allowed]
    return max(settings.certify_log_odds, math.nextafter(barrier, math.inf))


def highest_weak_log_odds(ratios: Iterable[LikelihoodRatio], settings: LivenessSettings) -> float:
    """The most the weak model can give anyone this round: every source seen at the full ``source_cap``.

    A calibrated threshold above it means the labelled dead's relatives reach the model's ceiling, and weak
    evidence certifies nobody in this round (the round statistics say so as ``weak_can_certify``)."""
    ratios = list(ratios)
    return base_log_odds(ratios, settings) + sum(source_delta(settings.source_cap, r) for r in ratios)


def load_threshold(con: duckdb.DuckDBPyConnection) -> float:
    """The stored threshold of the round in this database (what the servicer passes to explain_person)."""
    return float(sql.scalar(con, "weak_threshold", _THRESHOLD))


# Per threshold: people without a death record certified (by anything, weak included at that threshold) and the
# labelled dead whose post-death windows alone would reach it. Needs score_stage's liveness_evidence,
# liveness_deaths, previous_period_ends and weak_reach, and calibrate_threshold's post_death_reach.
_OPERATING = """
WITH living AS (
    SELECT g.person_id,
           coalesce(c.certifies, false) OR coalesce(pp.prev_end >= $as_of, false) AS otherwise_certified,
           r.reach
    FROM registry g
    LEFT JOIN previous_period_ends pp USING (person_id)
    LEFT JOIN (SELECT person_id, true AS certifies FROM liveness_evidence WHERE role = 'certifies' GROUP BY ALL) c
        USING (person_id)
    LEFT JOIN weak_reach r USING (person_id)
    WHERE g.person_id NOT IN (SELECT person_id FROM liveness_deaths)
),
dead AS (SELECT * FROM post_death_reach),
grid AS (SELECT unnest($thresholds::DOUBLE[]) AS t)
SELECT t,
       (SELECT count(*) FROM living WHERE otherwise_certified OR reach >= t) AS living_certified,
       (SELECT count(*) FROM living WHERE NOT otherwise_certified AND reach >= t) AS weak_only_certified,
       (SELECT count(*) FROM living) AS living,
       (SELECT count(*) FROM dead WHERE reach >= t) AS dead_certified_after_death
FROM grid ORDER BY t
"""


def operating_points(con: duckdb.DuckDBPyConnection, as_of: date, settings: LivenessSettings,
                     threshold: float) -> list[dict[str, Any]]:
    """The trade-off the round's own labelled data implies, written to ``weak_operating_points``: for a range of
    thresholds, people without a death record who would be certified versus labelled dead who would be certified
    on their post-death records; ``this_round`` marks the calibrated threshold."""
    labelled = sql.scalar(con, "dead_labelled", _DEAD_LABELLED)
    grid = threshold_grid(threshold)
    rows = sql.fetchall(con, "weak_operating_points", _OPERATING, {"as_of": as_of, "thresholds": grid})
    points = [{"threshold_log_odds": round(t, 4), "living_certified": int(lc), "weak_only_certified": int(wc),
               "living": int(n), "living_certified_share": round(lc / n, 6) if n else None,
               "labelled_dead": int(labelled), "dead_certified_after_death": int(dc),
               "dead_certified_share": round(dc / labelled, 6) if labelled else None,
               "this_round": t == threshold} for t, lc, wc, n, dc in rows]
    sql.run(con, "create_weak_operating_points", _CREATE_OPERATING)
    sql.run_many(con, "insert_weak_operating_points", _INSERT_OPERATING,
                 [(t, lc, wc, n, labelled, dc, t == threshold) for t, lc, wc, n, dc in rows])
    return points


def threshold_grid(threshold: float, below: int = 4, above: int = 3) -> list[float]:
    """Whole log-odds around the round's threshold, and the threshold itself (values under the configured
    ``certify_probability`` are shown too: that is where an operator would see what lowering it costs)."""
    return sorted({float(t) for t in range(math.floor(threshold) - below, math.ceil(threshold) + above + 1)}
                  | {threshold})
