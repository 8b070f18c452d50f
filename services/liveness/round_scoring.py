"""Score a whole province in one pass of set-wise DuckDB SQL: evidence, verdicts, likelihood ratios.

The SQL is the twin of :func:`services.liveness.scoring.explain_person` (same roles, same weights, same
decision order, same period rules, same explanation line); the unit tests hold the two to the same verdicts.
Reads ``registry``, ``records``, ``links``, ``link_candidates`` and ``previous_periods`` (may be absent: first
round); writes ``evidence``, ``verdicts`` and ``likelihood_ratios``. Scratch tables are TEMP and dropped.
It neither begins nor commits a transaction: the pipeline wraps the stage in one.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import duckdb

from services.liveness.calibration import calibrate_threshold, highest_weak_log_odds
from services.liveness.periods import period_state_sql, previous_ends_sql, window_start
from services.liveness.ratios import LikelihoodRatio, estimate_ratios
from services.liveness.scoring import LOG_ODDS_CLAMP, sigmoid
from services.liveness.settings import LivenessSettings

SCRATCH = ("lv_deaths", "lv_ev", "lv_ratios", "lv_src", "lv_weak", "lv_best", "lv_prev")

_DEATHS = """
CREATE OR REPLACE TEMP TABLE lv_deaths AS
SELECT l.person_id, min(r.occurred_at::DATE) AS death_date,
       bool_or(l.match_probability >= $confident) AS confident
FROM records r JOIN links l USING (rid)
WHERE r.kind = 'death' AND l.person_id IS NOT NULL AND l.match_probability >= $floor
GROUP BY l.person_id
"""

# One row per linked in-window record, with the role the model gives it (scoring.classify).
_EVIDENCE = """
CREATE OR REPLACE TEMP TABLE lv_ev AS
WITH cand AS (  -- only the few shared links: a join on them beats grouping every candidate
    SELECT DISTINCT rid, person_id, method, true AS shared FROM link_candidates WHERE shared
),
linked AS (
    SELECT l.person_id, r.rid, r.source, r.kind, r.record_id, r.occurred_at, r.occurred_at::DATE AS d,
           l.match_probability AS p, coalesce(c.shared, false) AS shared, r.passed, dd.death_date
    FROM records r
    JOIN links l USING (rid)
    LEFT JOIN cand c ON c.rid = l.rid AND c.person_id = l.person_id AND c.method = l.method
    LEFT JOIN lv_deaths dd ON dd.person_id = l.person_id
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
    SELECT person_id, rid, source, kind, record_id, occurred_at, d, p AS link_probability, role,
           CASE WHEN kind = 'weak' AND p >= $floor THEN p * pow(0.5, ($as_of - d) / $half_life)
                * CASE WHEN shared THEN $discount ELSE 1.0 END END AS raw_weight
    FROM roles
)
"""

_SOURCES = """
CREATE OR REPLACE TEMP TABLE lv_src AS
SELECT s.*, s.capped * r.seen_lr - least(s.capped, 1.0) * r.unseen_lr AS delta
FROM (
    SELECT person_id, source, round(sum(weight), 9) AS total, least($cap, round(sum(weight), 9)) AS capped,
           max(d) AS latest
    FROM lv_ev WHERE role = 'weak' GROUP BY person_id, source
) s JOIN lv_ratios r USING (source)
"""

_WEAK = f"""
CREATE OR REPLACE TEMP TABLE lv_weak AS
SELECT *, seen >= $min_sources AND log_odds >= $threshold AS certifies
FROM (
    SELECT *, 1.0 / (1.0 + exp(-greatest(-{LOG_ODDS_CLAMP}, least({LOG_ODDS_CLAMP}, log_odds)))) AS probability
    FROM (
        SELECT person_id, round($base + sum(delta), 9) AS log_odds, count(*) FILTER (WHERE capped >= $min_weight) AS seen,
               list_sort(list(latest) FILTER (WHERE capped >= $min_weight), 'DESC')[$min_sources] AS latest,
               first(source ORDER BY delta DESC, source ASC) AS top_source
        FROM lv_src GROUP BY person_id
    )
)
"""

_BEST = """
CREATE OR REPLACE TEMP TABLE lv_best AS
SELECT person_id, d, kind, link_probability, source, record_id
FROM (
    SELECT person_id, d, kind, link_probability, source, record_id FROM lv_ev WHERE role = 'certifies'
    UNION ALL
    SELECT person_id, latest, 'weak', 0.0, top_source, '' FROM lv_weak WHERE certifies
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
           b.kind, b.source, b.d, b.link_probability AS decision_p,
           (b.d + to_months($months))::DATE AS new_end,
           coalesce(w.probability, $base_probability) AS weak_probability, coalesce(w.seen, 0) AS seen,
           cp.p AS certifying_p
    FROM registry g
    LEFT JOIN lv_prev pp USING (person_id)
    LEFT JOIN lv_best b USING (person_id)
    LEFT JOIN lv_weak w USING (person_id)
    LEFT JOIN (SELECT person_id, max(link_probability) AS p FROM lv_ev WHERE role = 'certifies'
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
       {state} AS period_state,
       CASE
         WHEN method IN ('strong', 'face', 'in_person') THEN
           printf('%s: %s on %s linked %.3f; certified until %s', method, source, d::VARCHAR, decision_p, until)
         WHEN method = 'weak' THEN
           printf('weak: %d sources, P(alive)=%.4f, led by %s, latest on %s; certified until %s',
                  seen, probability, source, d::VARCHAR, until)
         WHEN method = 'carried' THEN printf('carried: earlier period valid until %s; P(alive)=%.4f', until,
                                             probability)
         ELSE printf('none: P(alive)=%.4f from %d weak source(s), needs %d and log-odds >= %.3f; period %s',
                     probability, seen, $min_sources, $threshold, until)
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
       CASE WHEN e.role = 'weak' THEN CASE WHEN s.total > 0 THEN s.delta * e.weight / s.total ELSE 0.0 END
       END AS contribution
FROM lv_ev e
LEFT JOIN lv_src s ON s.person_id = e.person_id AND s.source = e.source
LEFT JOIN lv_best b ON b.person_id = e.person_id
LEFT JOIN verdicts v ON v.person_id = e.person_id
"""


def score_round(con: duckdb.DuckDBPyConnection, as_of: date, settings: LivenessSettings) -> dict[str, Any]:
    """Score every registry person; returns the stage statistics (counts by status, method, state, source)."""
    params = _params(as_of, settings)
    _previous_periods(con)
    con.execute(_DEATHS, _pick(params, "confident", "floor"))
    con.execute(_EVIDENCE, _pick(params, "confident", "floor", "start", "as_of", "half_life", "discount"))
    ratios = estimate_ratios(con, as_of, settings, evidence="lv_ev", deaths="lv_deaths")
    base = _write_ratio_logs(con, ratios, settings)
    con.execute(_SOURCES, _pick(params, "cap"))
    threshold = calibrate_threshold(con, as_of, settings, base, evidence="lv_ev", deaths="lv_deaths")
    con.execute(_WEAK, {**_pick(params, "min_sources", "min_weight"), "base": base, "threshold": threshold})
    con.execute(_BEST)
    con.execute(_VERDICTS.format(state=period_state_sql("certified_until", "$as_of::DATE", settings)),
                {**_pick(params, "months", "as_of", "min_sources"), "base_probability": sigmoid(base),
                 "threshold": threshold})
    con.execute(_EVIDENCE_OUT)
    highest = highest_weak_log_odds(ratios.values(), settings)
    stats = {**_stats(con, ratios), "weak_threshold_log_odds": round(threshold, 4),
             "weak_highest_log_odds": round(highest, 4),
             # persons' scores are rounded to 1e-9 (_WEAK): a tie at the ceiling stays below a threshold above it
             "weak_can_certify": round(highest, 9) >= threshold}
    for table in SCRATCH:
        con.execute(f"DROP TABLE IF EXISTS {table}")
    return stats


def _params(as_of: date, settings: LivenessSettings) -> dict[str, Any]:
    return {
        "as_of": as_of, "start": window_start(as_of, settings), "confident": settings.confident_link,
        "floor": settings.link_floor, "half_life": settings.half_life_days, "discount": settings.shared_discount,
        "cap": settings.source_cap, "min_sources": settings.min_weak_sources,
        "min_weight": settings.min_source_weight,
        "months": settings.period_months,
    }


def _pick(params: dict[str, Any], *names: str) -> dict[str, Any]:
    return {n: params[n] for n in names}


def _previous_periods(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(f"CREATE OR REPLACE TEMP TABLE lv_prev AS {previous_ends_sql(con)}")


def _write_ratio_logs(con: duckdb.DuckDBPyConnection, ratios: dict[str, LikelihoodRatio],
                      settings: LivenessSettings) -> float:
    """Log ratios per source for the SQL; returns the base log-odds (prior + every source unseen)."""
    con.execute("CREATE OR REPLACE TEMP TABLE lv_ratios (source VARCHAR, seen_lr DOUBLE, unseen_lr DOUBLE)")
    rows = [(r.source, r.seen_log_ratio, r.unseen_log_ratio) for r in ratios.values()]
    if rows:
        con.executemany("INSERT INTO lv_ratios VALUES (?, ?, ?)", rows)
    return settings.prior_log_odds + sum(r.unseen_log_ratio for r in ratios.values())


def _stats(con: duckdb.DuckDBPyConnection, ratios: dict[str, LikelihoodRatio]) -> dict[str, Any]:
    def counts(column: str) -> dict[str, int]:
        rows = con.execute(f"SELECT {column}, count(*) FROM verdicts GROUP BY 1 ORDER BY 1").fetchall()
        return {str(k): int(n) for k, n in rows}

    by_source = con.execute("SELECT method, source, count(*) FROM verdicts WHERE source IS NOT NULL "
                            "GROUP BY ALL ORDER BY ALL").fetchall()
    roles = con.execute("SELECT role, count(*) FROM evidence GROUP BY 1 ORDER BY 1").fetchall()
    return {
        "persons": int(con.execute("SELECT count(*) FROM verdicts").fetchone()[0]),
        "status": counts("status"),
        "method": counts("method"),
        "period_state": counts("period_state"),
        "deciding_source": [{"method": m, "source": s, "persons": int(n)} for m, s, n in by_source],
        "evidence_roles": {r: int(n) for r, n in roles},
        "likelihood_ratios": {s: {"lr": round(r.lr, 4), "p_seen_alive": round(r.p_seen_alive, 4),
                                  "p_seen_dead": round(r.p_seen_dead, 4), "n_alive": r.n_alive,
                                  "n_dead": r.n_dead, "estimated": r.estimated} for s, r in ratios.items()},
    }
