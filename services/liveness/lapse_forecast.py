"""The lapse forecast: for every person with a valid period, P(no new silent evidence before the period ends).

A period ends ``period_months`` after the evidence that set it; any new certifying evidence dated after as_of
moves it. A person whose silent streams go quiet until the end lapses (reminder, overdue, suspension), so the
round estimates, set-wise in the round's DuckDB, how likely each person is to stay quiet (docs/scoring.md,
section 7):

* each person's silent *streams*: per strong source, the days with a record that certifies (role ``certifies``
  or ``decides`` in ``evidence``), and a ``weak`` stream of the day a weak window certified them, over the
  round's evidence window (a monthly round's sources are a rolling year: a year of each person's history);
* per source, a Gamma prior over people's rates, fitted by moments to the counts of the round's own population,
  and the source's cadence: the Kaplan-Meier survival of people's gaps between events, each in units of the
  person's own mean gap;
* per person and source, the posterior rate (Gamma–Poisson) and the chance the stream stays quiet from the last
  event through the period end, read off that survival;
* a population hazard ``kappa`` of a person's evidence stopping altogether (death, moving away, a long stay in
  a home), fitted by maximum likelihood over the population's quiet spells; each person's chance of having
  stopped given how long they have been quiet for their rate.

Reads ``verdicts`` and ``evidence``; writes ``forecast``. Scratch tables are
TEMP and dropped. Every rate, cadence and the hazard are estimated from the round; nothing is a constant.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import duckdb

from silentcert.graph import sql
from silentcert.services.liveness.periods import window_start
from silentcert.services.liveness.settings import LivenessSettings

SCRATCH = ("forecast_stream_days", "forecast_population", "forecast_person_streams", "forecast_stream_priors", "forecast_gap_survival", "forecast_gap_extent", "forecast_gap_survival_grid", "forecast_person_quiet")
WEAK_STREAM = "weak"

# One event per person, stream and day: several records of one visit are one visit.
_EVENTS = """
CREATE OR REPLACE TEMP TABLE forecast_stream_days AS
SELECT DISTINCT person_id, source, d FROM (
    SELECT person_id, source, occurred_at::DATE AS d FROM evidence
    WHERE kind = 'strong' AND role IN ('certifies', 'decides')
    UNION ALL
    SELECT person_id, $weak AS source, evidence_at::DATE AS d FROM verdicts WHERE method = 'weak'
)
WHERE d BETWEEN $start AND $as_of
"""

# Who the forecast is for: certified, the period covering as_of.
_POPULATION = """
CREATE OR REPLACE TEMP TABLE forecast_population AS
SELECT person_id, certified_until, (certified_until - $as_of::DATE)::INT AS horizon
FROM verdicts WHERE status = 'certified' AND certified_until >= $as_of
"""

# Per person and stream: events and the last one.
_PER_STREAM = """
CREATE OR REPLACE TEMP TABLE forecast_person_streams AS
SELECT person_id, source, count(*) AS n, max(d) AS last
FROM forecast_stream_days e SEMI JOIN forecast_population p USING (person_id)
GROUP BY ALL
"""

# Per stream, over the whole population (people with no event count as zeros): Gamma(alpha, beta) by moments of the
# counts (a Poisson count's own variance taken out, so what is left is the spread of rates between people; when
# nothing is left every person has the mean rate).
_PRIORS = """
CREATE OR REPLACE TEMP TABLE forecast_stream_priors AS
WITH m AS (SELECT source, sum(n)::DOUBLE / $people AS mean, sum(n * n)::DOUBLE / $people AS m2 FROM forecast_person_streams GROUP BY source),
g AS (SELECT *, greatest(m2 - mean * mean - mean, mean * 1e-6) AS excess FROM m)
SELECT source, mean * mean / excess AS alpha, mean * $exposure / excess AS beta FROM g
"""

# The stream's cadence: every gap between a person's consecutive events, and the open gap from their last event to
# as_of (censored), in units of the person's own mean gap (days x posterior rate), so that weekly and yearly
# visitors pool; the Kaplan-Meier survival of these gaps per stream (rounded to 1/1000 of a mean gap).
_GAPS = """
CREATE OR REPLACE TEMP TABLE forecast_gap_survival AS
WITH e AS (
    SELECT person_id, source, d, lead(d) OVER (PARTITION BY person_id, source ORDER BY d) AS next
    FROM forecast_stream_days SEMI JOIN forecast_population USING (person_id)
),
gaps AS (
    SELECT e.source, round((coalesce(e.next, $as_of::DATE) - e.d) * (r.alpha + s.n) / (r.beta + $exposure), 3) AS u,
           (e.next IS NOT NULL)::INT AS ended
    FROM e JOIN forecast_person_streams s USING (person_id, source) JOIN forecast_stream_priors r USING (source)
),
k AS (SELECT source, u, sum(ended) AS ended, count(*) AS c FROM gaps GROUP BY ALL),
risk AS (SELECT *, sum(c) OVER (PARTITION BY source ORDER BY u DESC ROWS UNBOUNDED PRECEDING) AS at_risk FROM k)
SELECT source, u, exp(sum(ln(greatest(1e-12, 1 - ended / at_risk))) OVER (PARTITION BY source ORDER BY u
                                                                         ROWS UNBOUNDED PRECEDING)) AS s
FROM risk
"""

# The Kaplan-Meier table made dense, one row per 1/1000 of a mean gap up to the longest gap seen, so a person's
# S(u) is an equality join (an ASOF join per stream row was most of the stage's time).
_KM_DENSE = """
CREATE OR REPLACE TEMP TABLE forecast_gap_survival_grid AS
WITH grid AS (
    SELECT source, unnest(range(0, round(max(u) * 1000)::BIGINT + 1)) AS b FROM forecast_gap_survival GROUP BY source
)
SELECT g.source, g.b, coalesce(last_value(k.s IGNORE NULLS) OVER (PARTITION BY g.source ORDER BY g.b
                                                                  ROWS UNBOUNDED PRECEDING), 1.0) AS s
FROM grid g LEFT JOIN forecast_gap_survival k ON k.source = g.source AND round(k.u * 1000)::BIGINT = g.b
"""

# Per person: the stop model's total rate and quiet spell, and log P(no stream fires before the end | active).
# A stream the person never used fires at its prior rate (memoryless); a used one, quiet since the last event for g
# days, stays quiet h more with S(g + h) / S(g) of its stream's gaps, g and h in the person's mean gaps. S(u) of a
# stream (s_g, s_gh): the step at or below u; past the longest gap seen, the last value times a memoryless tail at
# the person's own rate (one mean gap per unit of u).
_PERSON = """
CREATE OR REPLACE TEMP TABLE forecast_person_quiet AS
WITH streams AS (
    SELECT s.person_id, s.source, s.n, s.last, p.horizon,
           (r.alpha + s.n) / (r.beta + $exposure) AS rate, r.alpha / (r.beta + $exposure) AS prior_rate,
           ($as_of::DATE - s.last) * (r.alpha + s.n) / (r.beta + $exposure) AS ug,
           ($as_of::DATE - s.last + p.horizon) * (r.alpha + s.n) / (r.beta + $exposure) AS ugh, m.u_max, m.b_max
    FROM forecast_person_streams s JOIN forecast_stream_priors r USING (source) JOIN forecast_population p USING (person_id) JOIN forecast_gap_extent m USING (source)
),
buckets AS (
    SELECT *, least(floor(ug * 1000)::BIGINT, b_max) AS b_g, least(floor(ugh * 1000)::BIGINT, b_max) AS b_gh
    FROM streams
),
at_g AS (SELECT x.*, CASE WHEN x.ug > x.u_max THEN k.s * exp(-(x.ug - x.u_max)) ELSE k.s END AS s_g
         FROM buckets x JOIN forecast_gap_survival_grid k ON k.source = x.source AND k.b = x.b_g),
at_gh AS (SELECT x.*, CASE WHEN x.ugh > x.u_max THEN k.s * exp(-(x.ugh - x.u_max)) ELSE k.s END AS s_gh
          FROM at_g x JOIN forecast_gap_survival_grid k ON k.source = x.source AND k.b = x.b_gh),
seen AS (
    SELECT person_id, sum(rate) AS rate, sum(prior_rate) AS prior_rate, max(last) AS last, sum(n) AS events,
           sum(least(0.0, ln(greatest(s_gh, 1e-300)) - ln(greatest(s_g, 1e-300)))) AS log_quiet
    FROM at_gh GROUP BY person_id
),
unseen AS (SELECT sum(alpha / (beta + $exposure)) AS rate FROM forecast_stream_priors)
SELECT p.person_id, p.certified_until, p.horizon, s.last, coalesce(s.events, 0) AS events,
       u.rate - coalesce(s.prior_rate, 0) + coalesce(s.rate, 0) AS rate,
       coalesce(($as_of::DATE - s.last)::DOUBLE, $exposure) AS quiet,
       coalesce(s.log_quiet, 0) - (u.rate - coalesce(s.prior_rate, 0)) * p.horizon AS log_quiet
FROM forecast_population p LEFT JOIN seen s USING (person_id) CROSS JOIN unseen u
"""

# The stop model's log-likelihood for each hazard on the grid (docs/scoring.md 7.3): a person with rate lambda,
# quiet for g days of an exposure T, has likelihood e^(-kT) (1 + r (e^x - 1)), r = k/(k+lambda), x = (k+lambda) g,
# up to a factor free of k; written so that no exp overflows.
_STOP_LIKELIHOOD = """
SELECT k, sum(-k * $exposure + x + ln(r + (1 - r) * exp(-x))) AS ll
FROM (SELECT k, k / (k + rate) AS r, (k + rate) * quiet AS x
      FROM forecast_person_quiet CROSS JOIN (SELECT unnest($grid::DOUBLE[]) AS k))
GROUP BY k ORDER BY ll DESC, k LIMIT 1
"""

_PEOPLE = "SELECT count(*) FROM forecast_population"
_GAP_EXTENT = """
CREATE OR REPLACE TEMP TABLE forecast_gap_extent AS
SELECT source, max(u) AS u_max, round(max(u) * 1000)::BIGINT AS b_max FROM forecast_gap_survival GROUP BY source
"""
_DROP = "DROP TABLE IF EXISTS {table}"
_STREAM_FIGURES = """
SELECT r.source, r.alpha, r.beta, min(k.u) FILTER (WHERE k.s <= 0.5) AS median
FROM forecast_stream_priors r LEFT JOIN forecast_gap_survival k USING (source) GROUP BY ALL ORDER BY r.source
"""
_BANDS = """
SELECT count(*) FILTER (WHERE lapse_probability >= 0.5), avg(lapse_probability), quantile_disc(lapse_probability, 0.9)
FROM forecast
"""

_FORECAST = """
CREATE OR REPLACE TABLE forecast AS
WITH a AS (
    SELECT *, CASE WHEN $kappa = 0 THEN 1.0 ELSE
              exp(-x) / (exp(-x) * (1 - r) + r) END AS p_active
    FROM (SELECT *, $kappa / ($kappa + rate) AS r, ($kappa + rate) * quiet AS x FROM forecast_person_quiet)
)
SELECT person_id, certified_until, last AS last_silent_evidence, events, horizon,
       least(1.0, greatest(0.0, (1 - p_active) + p_active * exp(least(0.0, log_quiet)))) AS lapse_probability,
       p_active,
       row_number() OVER (ORDER BY (1 - p_active) + p_active * exp(least(0.0, log_quiet)) DESC,
                                   certified_until, person_id) AS priority
FROM a
"""


def forecast_lapses(con: duckdb.DuckDBPyConnection, as_of: date, settings: LivenessSettings) -> dict[str, Any]:
    """Write ``forecast`` (one row per certified person whose period covers ``as_of``); returns the statistics."""
    start = window_start(as_of, settings)
    exposure = float((as_of - start).days + 1)
    params = {"weak": WEAK_STREAM, "start": start, "as_of": as_of, "exposure": exposure}
    sql.run(con, "forecast_stream_days", _EVENTS, params)
    sql.run(con, "forecast_population", _POPULATION, params)
    people = int(sql.scalar(con, "forecast_people", _PEOPLE))
    sql.run(con, "forecast_person_streams", _PER_STREAM)
    sql.run(con, "forecast_stream_priors", _PRIORS, {**params, "people": max(people, 1)})
    sql.run(con, "forecast_gap_survival", _GAPS, params)
    sql.run(con, "forecast_gap_extent", _GAP_EXTENT)
    sql.run(con, "forecast_gap_survival_grid", _KM_DENSE)
    sql.run(con, "forecast_person_quiet", _PERSON, params)
    kappa = stop_hazard(con, exposure) if people else 0.0
    sql.run(con, "forecast", _FORECAST, {"kappa": kappa})
    stats = _stats(con, people, kappa)
    for table in SCRATCH:
        sql.run(con, "drop_forecast_scratch", sql.with_idents(_DROP, table=table))
    return stats


def stop_hazard(con: duckdb.DuckDBPyConnection, exposure: float) -> float:
    """The daily hazard of a person's evidence stopping, by maximum likelihood over ``forecast_person_quiet``.

    A log grid from one stop in a thousand lifetimes to one a week, refined once around the best point; 0 is a
    candidate (no one stops)."""
    coarse = [0.0] + [10 ** (e / 4) for e in range(-32, -3)]
    best = _best(con, coarse, exposure)
    if best == 0.0:
        return 0.0
    fine = [best * 10 ** (e / 40) for e in range(-10, 11)]
    return _best(con, fine, exposure)


def _best(con: duckdb.DuckDBPyConnection, grid: list[float], exposure: float) -> float:
    return float(sql.scalar(con, "forecast_stop_likelihood", _STOP_LIKELIHOOD, {"grid": grid, "exposure": exposure}))


def _stats(con: duckdb.DuckDBPyConnection, people: int, kappa: float) -> dict[str, Any]:
    priors = sql.fetchall(con, "forecast_stream_figures", _STREAM_FIGURES)
    bands = sql.one(con, "forecast_bands", _BANDS)
    return {
        "persons": people,
        "likely_to_lapse": int(bands[0] or 0),
        "expected_lapses": round(float(bands[1] or 0.0) * people, 1),
        "top_decile_from": round(float(bands[2]), 6) if bands[2] is not None else None,
        "stop_hazard_per_year": round(kappa * 365.25, 6),
        "streams": {s: {"mean_events_per_year": round(a / b * 365.25, 4) if b else None,
                        "rate_spread_alpha": round(a, 4),
                        "median_gap_in_mean_gaps": round(k, 3) if k is not None else None}
                    for s, a, b, k in priors},
    }
