"""What relatives can fake: the weak-evidence threshold, calibrated on the round's labelled dead.

The per-source ratios treat sources as independent, but one relative holding the card, the phone and the bank
book makes them move together, so the naive sum overstates how sure we are. The labelled dead (confidently
linked death record, dead at least ``min_dead_exposure_days``) show exactly that activity: scored by the same
model on all their in-window weak records as if no death were known, those whose certification would be dated
on or after the death are the false certifications relatives cause. The
threshold on the log-odds is raised above all but ``max_dead_certified`` of those scores (above the highest
one while the round has too few labelled dead for that share to be a whole person), and never lowered below
the configured ``certify_probability``. The result is stored in ``weak_calibration`` with the round.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import date

import duckdb

from services.liveness.ratios import LikelihoodRatio
from services.liveness.settings import LivenessSettings

_DEAD_SCORES = """
WITH dead AS (
    SELECT person_id, death_date FROM {deaths}
    WHERE confident AND death_date <= $as_of - INTERVAL ($exposure) DAY
),
per_source AS (
    SELECT e.person_id, any_value(dead.death_date) AS death_date, e.source,
           least($cap, round(sum(e.raw_weight), 9)) AS capped, max(e.d) AS latest
    FROM {evidence} e JOIN dead USING (person_id)
    WHERE e.kind = 'weak' AND e.raw_weight IS NOT NULL
    GROUP BY e.person_id, e.source
),
per_person AS (
    SELECT s.person_id, any_value(s.death_date) AS death_date,
           round($base + sum(s.capped * r.seen_lr - least(s.capped, 1.0) * r.unseen_lr), 9) AS log_odds,
           count(*) FILTER (WHERE s.capped >= $min_weight) AS seen,
           list_sort(list(s.latest) FILTER (WHERE s.capped >= $min_weight), 'DESC')[$min_sources] AS certified_on
    FROM per_source s JOIN lv_ratios r USING (source)
    GROUP BY s.person_id
)
SELECT log_odds FROM per_person
WHERE seen >= $min_sources AND certified_on >= death_date
ORDER BY log_odds DESC
"""


def calibrate_threshold(con: duckdb.DuckDBPyConnection, as_of: date, settings: LivenessSettings, base: float, *,
                        evidence: str, deaths: str) -> float:
    """The round's weak threshold in log-odds; writes ``weak_calibration``. Needs ``lv_ratios`` (round_scoring)."""
    labelled = con.execute(f"SELECT count(*) FROM {deaths} WHERE confident AND death_date <= "
                           f"$as_of - INTERVAL ($exposure) DAY",
                           {"as_of": as_of, "exposure": settings.min_dead_exposure_days}).fetchone()[0]
    scores = [row[0] for row in con.execute(
        _DEAD_SCORES.format(evidence=evidence, deaths=deaths),
        {"as_of": as_of, "exposure": settings.min_dead_exposure_days, "cap": settings.source_cap, "base": base,
         "min_weight": settings.min_source_weight, "min_sources": settings.min_weak_sources}).fetchall()]
    threshold = threshold_from(scores, labelled, settings)
    con.execute("CREATE OR REPLACE TABLE weak_calibration AS SELECT $configured::DOUBLE AS configured_log_odds, "
                "$labelled::BIGINT AS dead_labelled, $scored::BIGINT AS dead_with_sources, "
                "$threshold::DOUBLE AS threshold_log_odds",
                {"configured": settings.certify_log_odds, "labelled": labelled, "scored": len(scores),
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
    base = settings.prior_log_odds + sum(r.unseen_log_ratio for r in ratios)
    cap = settings.source_cap
    return base + sum(cap * r.seen_log_ratio - min(cap, 1.0) * r.unseen_log_ratio for r in ratios)


def load_threshold(con: duckdb.DuckDBPyConnection) -> float:
    """The stored threshold of the round in this database (what the servicer passes to explain_person)."""
    return float(con.execute("SELECT threshold_log_odds FROM weak_calibration").fetchone()[0])
