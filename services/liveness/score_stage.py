"""Score a whole province in one pass of set-wise DuckDB SQL: evidence, verdicts, likelihood ratios.

The SQL is the twin of :func:`services.liveness.scoring.explain_person` (same roles, same weights, same
decision order, same period rules, same explanation line); the unit tests hold the two to the same verdicts.
Reads ``registry``, ``records``, ``links``, ``link_candidates`` and ``previous_periods`` (may be absent: first
round); writes ``evidence``, ``verdicts``, ``likelihood_ratios``, ``weak_calibration`` and
``weak_operating_points``. Scratch tables are TEMP and dropped.
It neither begins nor commits a transaction: the pipeline wraps the stage in one.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import duckdb

from silentcert.graph import sql
from silentcert.services.liveness.calibration import calibrate_threshold, highest_weak_log_odds, operating_points
from silentcert.services.liveness.periods import (
    create_period_state_macro,
    period_params,
    window_start,
    write_previous_ends,
)
from silentcert.services.liveness.ratios import LikelihoodRatio, estimate_ratios
from silentcert.services.liveness.scoring import LOG_ODDS_CLAMP, base_log_odds, sigmoid
from silentcert.services.liveness.settings import LivenessSettings
from silentcert.services.liveness.weak_windows import write_reach, write_steps, write_windows

# the stage's TEMP tables and views, dropped at its end
SCRATCH = ("liveness_deaths", "liveness_evidence", "labelled_dead", "source_log_ratios", "weak_window_steps",
           "weak_windows", "weak_reach", "picked_weak_windows", "picked_window_sources", "seen_source_lists",
           "deciding_records", "previous_period_ends", "post_death_window_steps", "post_death_windows",
           "post_death_reach")
_SCRATCH_VIEWS = ("weak_records", "post_death_weak_records")

_DEATHS = """
CREATE OR REPLACE TEMP TABLE liveness_deaths AS
SELECT l.person_id, min(r.occurred_at::DATE) AS death_date,
       bool_or(l.match_probability >= $confident) AS confident,
       max(r.occurred_at::DATE) FILTER (WHERE l.match_probability >= $confident) AS latest_confident,
       count(DISTINCT r.source) FILTER (WHERE l.match_probability >= $confident) AS registers
FROM records r JOIN links l USING (rid)
WHERE r.kind = 'death' AND l.person_id IS NOT NULL AND l.match_probability >= $floor
GROUP BY l.person_id
"""

# One row per linked in-window record, with the role the model gives it (scoring.classify).
_EVIDENCE = """
CREATE OR REPLACE TEMP TABLE liveness_evidence AS
WITH cand AS (  -- only the few shared links: a join on them beats grouping every candidate
    SELECT DISTINCT rid, person_id, method, true AS shared FROM link_candidates WHERE shared
),
linked AS (
    SELECT l.person_id, r.rid, r.source, r.kind, r.record_id, r.occurred_at, r.occurred_at::DATE AS d,
           l.match_probability AS p, coalesce(c.shared, false) AS shared, r.passed, dd.death_date
    FROM records r
    JOIN links l USING (rid)
    LEFT JOIN cand c ON c.rid = l.rid AND c.person_id = l.person_id AND c.method = l.method
    LEFT JOIN liveness_deaths dd ON dd.person_id = l.person_id
    WHERE l.person_id IS NOT NULL AND r.kind IN ('strong', 'weak', 'face', 'in_person')
      AND r.occurred_at::DATE BETWEEN $start AND $as_of
),
roles AS (
    SELECT *, CASE
        WHEN death_date IS NOT NULL AND d >= death_date THEN 'after_death'
        WHEN kind IN ('face', 'in_person') AND passed = false THEN 'failed'
        WHEN kind IN ('strong', 'face', 'in_person') THEN
            CASE WHEN p >= $confident AND NOT shared THEN 'certifies' ELSE 'not_confident' END
        WHEN p < $floor THEN 'weak_link'
        ELSE 'weak' END AS role
    FROM linked
)
SELECT *, CASE WHEN role = 'weak' THEN raw_weight END AS weight
FROM (
    SELECT person_id, rid, source, kind, record_id, occurred_at, d, p AS link_probability, role, passed,
           CASE WHEN kind = 'weak' AND p >= $floor THEN p * CASE WHEN shared THEN $discount ELSE 1.0 END
           END AS raw_weight
    FROM roles
)
"""

# The labelled dead whose post-death records calibrate the weak model (ratios.py, calibration.py). Their death date
# is the latest a confident register gives: a register dating a death too early would pass the person's own last
# weeks off as relatives' use, one dating it too late only hides a few days of it. A confident strong record or a
# passed check after that date contradicts it (a wrong date, or a case for review): such a person is left out, and so
# is a death only one register knows of (labelled_death_registers): a false death record is a one-register error,
# and a living person's own activity must not be taken for what relatives fake.
_LABELLED = """
CREATE OR REPLACE TEMP TABLE labelled_dead AS
SELECT d.person_id, d.latest_confident AS death_date FROM liveness_deaths d
WHERE d.confident AND d.latest_confident <= $as_of - INTERVAL ($exposure) DAY AND d.registers >= $registers
  AND NOT EXISTS (SELECT 1 FROM liveness_evidence e WHERE e.person_id = d.person_id AND e.d >= d.latest_confident
                  AND e.link_probability >= $confident AND e.passed IS DISTINCT FROM false
                  AND e.kind IN ('strong', 'face', 'in_person'))
"""

_WEAK_RECORDS = """
CREATE OR REPLACE TEMP VIEW weak_records AS
SELECT person_id, source, d, weight FROM liveness_evidence WHERE role = 'weak'
"""

# The window each person's verdict reads (scoring.pick_window): the latest that certifies, else the best with
# enough sources (latest on a tie), else the whole window; with the record that dates it and the sources seen.
_PICKED_WEAK_WINDOWS = """
CREATE OR REPLACE TEMP TABLE picked_weak_windows AS
WITH picked AS (
    SELECT *, seen >= $min_sources AND log_odds >= $threshold AS certifies FROM weak_windows
    QUALIFY row_number() OVER (PARTITION BY person_id ORDER BY
        (seen >= $min_sources AND log_odds >= $threshold) DESC,
        CASE WHEN seen >= $min_sources AND log_odds >= $threshold THEN d END DESC NULLS LAST,
        seen >= $min_sources DESC,
        CASE WHEN seen >= $min_sources THEN log_odds END DESC NULLS LAST,
        CASE WHEN seen >= $min_sources THEN d END DESC NULLS LAST,
        d ASC) = 1
),
overall AS (  -- sources seen over the whole evidence window, and whether relatives were seen using all of them
    SELECT person_id, count(*) AS n, string_agg(source, ', ' ORDER BY source) AS sources,
           bool_and(relatives) AS relatives_only
    FROM (SELECT person_id, source, max(capped) AS capped FROM weak_window_steps GROUP BY ALL)
    JOIN source_log_ratios USING (source) WHERE capped >= $min_weight GROUP BY person_id
),
dating AS (
    SELECT e.person_id, e.source AS dated_source, e.record_id AS dated_record FROM liveness_evidence e
    JOIN picked p ON p.person_id = e.person_id AND e.d = p.d
    WHERE e.role = 'weak'
    QUALIFY row_number() OVER (PARTITION BY e.person_id ORDER BY e.weight DESC, e.source, e.record_id) = 1
)
SELECT p.person_id, p.d AS window_from, p.log_odds, p.seen, p.certifies,
       1.0 / (1.0 + exp(-greatest(-$clamp, least($clamp, p.log_odds)))) AS probability,
       r.reach, o.n AS sources_overall, o.sources AS sources_overall_list, coalesce(o.relatives_only, false)
       AS relatives_only, d.dated_source, d.dated_record
FROM picked p LEFT JOIN weak_reach r USING (person_id) LEFT JOIN overall o USING (person_id)
LEFT JOIN dating d USING (person_id)
"""

_PICKED_WINDOW_SOURCES = """
CREATE OR REPLACE TEMP TABLE picked_window_sources AS
SELECT s.person_id, s.source, s.total, s.capped, s.delta
FROM weak_window_steps s JOIN picked_weak_windows w ON w.person_id = s.person_id AND s.d >= w.window_from
QUALIFY row_number() OVER (PARTITION BY s.person_id, s.source ORDER BY s.d ASC) = 1
"""

_SEEN_SOURCE_LISTS = """
CREATE OR REPLACE TEMP TABLE seen_source_lists AS
SELECT person_id, string_agg(source, ', ' ORDER BY source) AS seen_list FROM picked_window_sources
WHERE capped >= $min_weight GROUP BY person_id
"""

_DECIDING_RECORDS = """
CREATE OR REPLACE TEMP TABLE deciding_records AS
SELECT person_id, d, kind, link_probability, source, record_id
FROM (
    SELECT person_id, d, kind, link_probability, source, record_id FROM liveness_evidence WHERE role = 'certifies'
    UNION ALL
    SELECT person_id, window_from, 'weak', 0.0, dated_source, dated_record FROM picked_weak_windows WHERE certifies
)
QUALIFY row_number() OVER (
    PARTITION BY person_id
    ORDER BY d DESC,
             CASE kind WHEN 'in_person' THEN 4 WHEN 'face' THEN 3 WHEN 'strong' THEN 2 ELSE 1 END DESC,
             link_probability DESC, source ASC, record_id ASC) = 1
"""

_VERDICTS = """
CREATE OR REPLACE TABLE verdicts AS
WITH base AS (
    SELECT g.person_id, pp.prev_end,
           b.kind, b.source, b.record_id, b.d, b.link_probability AS decision_p,
           (b.d + to_months($months))::DATE AS new_end,
           coalesce(w.probability, $base_probability) AS weak_probability, coalesce(w.seen, 0) AS seen,
           w.log_odds, w.reach, coalesce(w.sources_overall, 0) AS sources_overall, w.sources_overall_list,
           coalesce(w.relatives_only, false) AS relatives_only, sl.seen_list,
           cp.p AS certifying_p
    FROM registry g
    LEFT JOIN previous_period_ends pp USING (person_id)
    LEFT JOIN deciding_records b USING (person_id)
    LEFT JOIN picked_weak_windows w USING (person_id)
    LEFT JOIN seen_source_lists sl USING (person_id)
    LEFT JOIN (SELECT person_id, max(link_probability) AS p FROM liveness_evidence WHERE role = 'certifies'
               GROUP BY person_id) cp USING (person_id)
),
period AS (
    SELECT *, CASE WHEN extended THEN new_end ELSE prev_end END AS certified_until
    FROM (SELECT *, new_end IS NOT NULL AND (prev_end IS NULL OR new_end > prev_end) AS extended FROM base)
),
decided AS (
    SELECT *, CASE WHEN coalesce(certified_until >= $as_of, false)
                   THEN CASE WHEN extended THEN kind ELSE 'carried' END ELSE 'none' END AS method,
              greatest(weak_probability, coalesce(certifying_p, 0.0)) AS probability,
              coalesce(certified_until::VARCHAR, 'never certified') AS until
    FROM period
)
SELECT person_id,
       CASE WHEN method = 'none' THEN 'uncertified' ELSE 'certified' END AS status,
       method,
       CASE WHEN method IN ('strong', 'weak', 'face', 'in_person') THEN source END AS source,
       CASE WHEN method IN ('strong', 'weak', 'face', 'in_person') THEN d END AS evidence_at,
       probability,
       certified_until,
       period_state_of(certified_until, $as_of::DATE, $expiring_days, $grace_days) AS period_state,
       CASE
         WHEN method IN ('strong', 'face', 'in_person') THEN
           printf('%s: %s on %s linked %.3f; certified until %s', method, source, d::VARCHAR, decision_p, until)
         WHEN method = 'weak' THEN
           printf('weak: %d sources seen from %s on (%s), log-odds %.3f >= %.3f, dated by %s record %s; '
                  'certified until %s', seen, d::VARCHAR, seen_list, log_odds, $threshold, source, record_id, until)
         WHEN method = 'carried' THEN printf('carried: earlier period valid until %s; P(alive)=%.4f', until,
                                             probability)
         ELSE printf('none: %s; P(alive)=%.4f; period %s', CASE
             WHEN sources_overall = 0 THEN printf('no weak source seen, needs %d', $min_sources)
             WHEN sources_overall < $min_sources THEN printf('%d weak source(s) seen (%s), needs %d',
                                                             sources_overall, sources_overall_list, $min_sources)
             WHEN relatives_only THEN printf('only sources that relatives of deceased pensioners were seen using '
                                             'this round (%s): best log-odds %.3f < %.3f',
                                             sources_overall_list, reach, $threshold)
             ELSE printf('%d weak sources seen (%s), best log-odds %.3f < %.3f', sources_overall,
                         sources_overall_list, reach, $threshold) END, probability, until)
       END AS explanation
FROM decided
ORDER BY person_id
"""

_EVIDENCE_OUT = """
CREATE OR REPLACE TABLE evidence AS
SELECT e.person_id, e.rid, e.source, e.kind, e.record_id, e.occurred_at, e.link_probability,
       CASE WHEN e.role = 'certifies' AND v.method IN ('strong', 'face', 'in_person')
                 AND e.source = b.source AND e.record_id = b.record_id THEN 'decides'
            ELSE e.role END AS role,
       e.weight,
       CASE WHEN e.role = 'weak' THEN
           CASE WHEN e.d >= w.window_from AND s.total > 0 THEN s.delta * e.weight / s.total ELSE 0.0 END
       END AS contribution
FROM liveness_evidence e
LEFT JOIN picked_weak_windows w ON w.person_id = e.person_id
LEFT JOIN picked_window_sources s ON s.person_id = e.person_id AND s.source = e.source
LEFT JOIN deciding_records b ON b.person_id = e.person_id
LEFT JOIN verdicts v ON v.person_id = e.person_id
"""


def score_round(con: duckdb.DuckDBPyConnection, as_of: date, settings: LivenessSettings) -> dict[str, Any]:
    """Score every registry person; returns the stage statistics (counts by status, method, state, source)."""
    params = _params(as_of, settings)
    write_previous_ends(con, "previous_period_ends")
    create_period_state_macro(con)
    sql.run(con, "liveness_deaths", _DEATHS, params)
    sql.run(con, "liveness_evidence", _EVIDENCE, params)
    sql.run(con, "labelled_dead", _LABELLED, params)
    ratios = estimate_ratios(con, settings, evidence="liveness_evidence", deaths="liveness_deaths",
                             labelled="labelled_dead")
    base = _write_ratio_logs(con, ratios, settings)
    sql.run(con, "weak_records", _WEAK_RECORDS)
    write_steps(con, "weak_window_steps", "weak_records", params)
    write_windows(con, "weak_windows", "weak_window_steps", base)
    write_reach(con, "weak_reach", "weak_windows", settings.min_weak_sources)
    threshold = calibrate_threshold(con, settings, base, evidence="liveness_evidence", labelled="labelled_dead")
    params = {**params, "threshold": threshold, "base_probability": sigmoid(base)}
    sql.run(con, "picked_weak_windows", _PICKED_WEAK_WINDOWS, params)
    sql.run(con, "picked_window_sources", _PICKED_WINDOW_SOURCES)
    sql.run(con, "seen_source_lists", _SEEN_SOURCE_LISTS, params)
    sql.run(con, "deciding_records", _DECIDING_RECORDS)
    sql.run(con, "verdicts", _VERDICTS, params)
    sql.run(con, "evidence", _EVIDENCE_OUT)
    points = operating_points(con, as_of, settings, threshold)
    highest = highest_weak_log_odds(ratios.values(), settings)
    stats = {**_stats(con, ratios), "weak_threshold_log_odds": round(threshold, 4),
             "weak_highest_log_odds": round(highest, 4),
             # persons' scores are rounded to 1e-9 (_PICKED_WEAK_WINDOWS): a tie at the ceiling stays below a
             # threshold above it
             "weak_can_certify": round(highest, 9) >= threshold,
             "weak_operating_points": points}
    for view in _SCRATCH_VIEWS:
        sql.run(con, "drop_scoring_scratch", sql.with_idents(_DROP_VIEW, view=view))
    for table in SCRATCH:
        sql.run(con, "drop_scoring_scratch", sql.with_idents(_DROP_TABLE, table=table))
    return stats


_DROP_VIEW = "DROP VIEW IF EXISTS {view}"
_DROP_TABLE = "DROP TABLE IF EXISTS {table}"


def _params(as_of: date, settings: LivenessSettings) -> dict[str, Any]:
    return {
        "as_of": as_of, "start": window_start(as_of, settings), "confident": settings.confident_link,
        "floor": settings.link_floor, "discount": settings.shared_discount,
        "cap": settings.source_cap, "min_sources": settings.min_weak_sources,
        "min_weight": settings.min_source_weight,
        "months": settings.period_months, "clamp": LOG_ODDS_CLAMP,
        "exposure": settings.min_dead_exposure_days, "registers": settings.labelled_death_registers,
        **period_params(as_of, settings),
    }


def _write_ratio_logs(con: duckdb.DuckDBPyConnection, ratios: dict[str, LikelihoodRatio],
                      settings: LivenessSettings) -> float:
    """Log ratios per source for the SQL; returns the base log-odds (prior + every source unseen)."""
    sql.run(con, "source_log_ratios", _SOURCE_LOG_RATIOS)
    rows = [(r.source, r.seen_log_ratio, r.unseen_log_ratio, r.seen_dead > 0) for r in ratios.values()]
    if rows:
        sql.run_many(con, "source_log_ratios_rows", _SOURCE_LOG_RATIO_ROWS, rows)
    return base_log_odds(ratios.values(), settings)


_SOURCE_LOG_RATIOS = """
CREATE OR REPLACE TEMP TABLE source_log_ratios (source VARCHAR, seen_lr DOUBLE, unseen_lr DOUBLE, relatives BOOLEAN)
"""
_SOURCE_LOG_RATIO_ROWS = "INSERT INTO source_log_ratios VALUES (?, ?, ?, ?)"
_COUNTS = "SELECT {column}, count(*) FROM verdicts GROUP BY 1 ORDER BY 1"
_BY_SOURCE = "SELECT method, source, count(*) FROM verdicts WHERE source IS NOT NULL GROUP BY ALL ORDER BY ALL"
_ROLES = "SELECT role, count(*) FROM evidence GROUP BY 1 ORDER BY 1"
_PERSONS = "SELECT count(*) FROM verdicts"


def _stats(con: duckdb.DuckDBPyConnection, ratios: dict[str, LikelihoodRatio]) -> dict[str, Any]:
    def counts(column: str) -> dict[str, int]:
        rows = sql.fetchall(con, f"verdict_counts_{column}", sql.with_idents(_COUNTS, column=column))
        return {str(k): int(n) for k, n in rows}

    by_source = sql.fetchall(con, "verdicts_by_source", _BY_SOURCE)
    roles = sql.fetchall(con, "evidence_roles", _ROLES)
    return {
        "persons": int(sql.scalar(con, "verdict_persons", _PERSONS)),
        "status": counts("status"),
        "method": counts("method"),
        "period_state": counts("period_state"),
        "deciding_source": [{"method": m, "source": s, "persons": int(n)} for m, s, n in by_source],
        "evidence_roles": {r: int(n) for r, n in roles},
        "likelihood_ratios": {s: {"lr": round(r.lr, 4), "p_seen_alive": round(r.p_seen_alive, 4),
                                  "p_seen_dead": round(r.p_seen_dead, 4), "n_alive": r.n_alive,
                                  "n_dead": r.n_dead, "estimated": r.estimated} for s, r in ratios.items()},
    }
