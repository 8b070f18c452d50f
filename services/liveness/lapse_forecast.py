"""The lapse forecast: for every person with a valid period, P(no new silent evidence before the period ends).

A period ends ``period_months`` after the evidence that set it; any new certifying evidence dated after as_of
moves it. A person whose silent streams go quiet until the end lapses (reminder, overdue, suspension), so the
round estimates, set-wise in the round's DuckDB, how likely each person is to stay quiet (docs/scoring.md,
section 7):

* each person's silent *streams*: per strong source, the days with a record that certifies (role ``certifies``
  or ``decides`` in ``evidence``), and a ``weak`` stream of the day a weak window certified them, over the
  round's evidence window (a monthly round's sources are a rolling year: a year of each person's history);
* per source, a Gamma prior over people's rates, fitted by moments to the counts of the round's own population,
  and the source's regularity: a Weibull shape from the spread of people's gaps between events;
* per person and source, the posterior rate (Gamma–Poisson) and the chance the renewal process stays quiet
  from the last event through the period end;
* a population hazard ``kappa`` of a person's evidence stopping altogether (death, moving away, a long stay in
  a home), fitted by maximum likelihood over the population's quiet spells; each person's chance of having
  stopped given how long they have been quiet for their rate.

Reads ``verdicts`` and ``evidence``; writes ``forecast``. Scratch tables are
TEMP and dropped. Every rate, shape and the hazard are estimated from the round; nothing is a constant.
"""

from __future__ import annotations

import math
from datetime import date
from typing import Any

import duckdb

from services.liveness.periods import window_start
from services.liveness.settings import LivenessSettings

SCRATCH = ("lf_events", "lf_pop", "lf_ps", "lf_prior", "lf_person")
WEAK_STREAM = "weak"
# Weibull shapes outside this range are not a cadence any department keeps (a shape of 20 is a gap CV of 6%).
SHAPE_RANGE = (0.3, 20.0)

# One event per person, stream and day: several records of one visit are one visit.
_EVENTS = """
CREATE OR REPLACE TEMP TABLE lf_events AS
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
CREATE OR REPLACE TEMP TABLE lf_pop AS
SELECT person_id, certified_until, (certified_until - $as_of::DATE)::INT AS horizon
FROM verdicts WHERE status = 'certified' AND certified_until >= $as_of
"""

# Per person and stream: events, the last one, and the gaps between consecutive events.
_PER_STREAM = """
CREATE OR REPLACE TEMP TABLE lf_ps AS
SELECT person_id, source, count(*) AS n, max(d) AS last,
       avg(gap) AS gap_mean, var_pop(gap) AS gap_var, count(gap) AS gaps
FROM (SELECT e.person_id, e.source, e.d,
             (e.d - lag(e.d) OVER (PARTITION BY e.person_id, e.source ORDER BY e.d))::DOUBLE AS gap
      FROM lf_events e SEMI JOIN lf_pop p USING (person_id))
GROUP BY ALL
"""

# Per stream, over the whole population (people with no event count as zeros): Gamma(alpha, beta) by moments of the
# counts (a Poisson count's own variance taken out, so what is left is the spread of rates between people; when
# nothing is left every person has the mean rate), and the Weibull shape of the gaps, each person's gaps divided by
# their own mean so that fast and slow visitors pool (k from the pooled coefficient of variation, Justus'
# approximation k = CV^-1.086; one person's gaps say little, a source's thousands say a lot).
_PRIORS = """
CREATE OR REPLACE TEMP TABLE lf_prior AS
WITH m AS (
    SELECT source, sum(n)::DOUBLE / $people AS mean, sum(n * n)::DOUBLE / $people AS m2,
           sum(gap_var / (gap_mean * gap_mean) * gaps) FILTER (WHERE gaps >= 2 AND gap_mean > 0)
             / sum(gaps) FILTER (WHERE gaps >= 2 AND gap_mean > 0) AS cv2
    FROM lf_ps GROUP BY source
),
g AS (SELECT *, greatest(m2 - mean * mean - mean, mean * 1e-6) AS excess FROM m)
SELECT source, mean * mean / excess AS alpha, mean * $exposure / excess AS beta,
       CASE WHEN cv2 IS NULL OR cv2 <= 0 THEN 1.0
            ELSE greatest($shape_lo, least($shape_hi, pow(sqrt(cv2), -1.086))) END AS shape
FROM g
"""

# Per person: the stop model's total rate and quiet spell, and log P(no stream fires before the end | active).
# A stream the person never used fires at its prior rate (memoryless); a used one is a renewal with the source's
# shape whose mean gap is the posterior rate's inverse, quiet from the last event: log S(g + h) - log S(g).
_PERSON = """
CREATE OR REPLACE TEMP TABLE lf_person AS
WITH unseen AS (SELECT sum(alpha / (beta + $exposure)) AS rate FROM lf_prior),
seen AS (
    SELECT s.person_id,
           sum((r.alpha + s.n) / (r.beta + $exposure)) AS rate,
           sum(r.alpha / (r.beta + $exposure)) AS prior_rate,
           max(s.last) AS last,
           sum(pow(($as_of::DATE - s.last) / eta, r.shape) - pow((($as_of::DATE - s.last) + p.horizon) / eta, r.shape))
             AS log_quiet,
           sum(s.n) AS events
    FROM (SELECT s.*, (r.beta + $exposure) / (r.alpha + s.n) / gamma(1 + 1 / r.shape) AS eta
          FROM lf_ps s JOIN lf_prior r USING (source)) s
    JOIN lf_prior r USING (source) JOIN lf_pop p USING (person_id)
    GROUP BY s.person_id
)
SELECT p.person_id, p.certified_until, p.horizon, s.last, coalesce(s.events, 0) AS events,
       u.rate - coalesce(s.prior_rate, 0) + coalesce(s.rate, 0) AS rate,
       coalesce(($as_of::DATE - s.last)::DOUBLE, $exposure) AS quiet,
       coalesce(s.log_quiet, 0) - (u.rate - coalesce(s.prior_rate, 0)) * p.horizon AS log_quiet
FROM lf_pop p LEFT JOIN seen s USING (person_id) CROSS JOIN unseen u
"""

# The stop model's log-likelihood for each hazard on the grid (docs/scoring.md 7.3): a person with rate lambda,
# quiet for g days of an exposure T, has likelihood e^(-kT) (1 + r (e^x - 1)), r = k/(k+lambda), x = (k+lambda) g,
# up to a factor free of k; written so that no exp overflows.
_STOP_LIKELIHOOD = """
SELECT k, sum(-k * $exposure + x + ln(r + (1 - r) * exp(-x))) AS ll
FROM (SELECT k, k / (k + rate) AS r, (k + rate) * quiet AS x
      FROM lf_person CROSS JOIN (SELECT unnest($grid::DOUBLE[]) AS k))
GROUP BY k ORDER BY ll DESC, k LIMIT 1
"""

_FORECAST = """
CREATE OR REPLACE TABLE forecast AS
WITH a AS (
    SELECT *, CASE WHEN $kappa = 0 THEN 1.0 ELSE
              exp(-x) / (exp(-x) * (1 - r) + r) END AS p_active
    FROM (SELECT *, $kappa / ($kappa + rate) AS r, ($kappa + rate) * quiet AS x FROM lf_person)
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
    con.execute(_EVENTS, {"weak": WEAK_STREAM, "start": start, "as_of": as_of})
    con.execute(_POPULATION, {"as_of": as_of})
    people = int(_one(con, "SELECT count(*) FROM lf_pop", {})[0])
    con.execute(_PER_STREAM)
    con.execute(_PRIORS, {"people": max(people, 1), "exposure": exposure,
                          "shape_lo": SHAPE_RANGE[0], "shape_hi": SHAPE_RANGE[1]})
    con.execute(_PERSON, {"as_of": as_of, "exposure": exposure})
    kappa = stop_hazard(con, exposure) if people else 0.0
    con.execute(_FORECAST, {"kappa": kappa})
    stats = _stats(con, people, kappa)
    for table in SCRATCH:
        con.execute(f"DROP TABLE IF EXISTS {table}")
    return stats


def stop_hazard(con: duckdb.DuckDBPyConnection, exposure: float) -> float:
    """The daily hazard of a person's evidence stopping, by maximum likelihood over ``lf_person``.

    A log grid from one stop in a thousand lifetimes to one a week, refined once around the best point; 0 is a
    candidate (no one stops)."""
    coarse = [0.0] + [10 ** (e / 4) for e in range(-32, -3)]
    best = _best(con, coarse, exposure)
    if best == 0.0:
        return 0.0
    fine = [best * 10 ** (e / 40) for e in range(-10, 11)]
    return _best(con, fine, exposure)


def _best(con: duckdb.DuckDBPyConnection, grid: list[float], exposure: float) -> float:
    return float(_one(con, _STOP_LIKELIHOOD, {"grid": grid, "exposure": exposure})[0])


def _one(con: duckdb.DuckDBPyConnection, sql: str, params: dict[str, Any]) -> tuple[Any, ...]:
    row = con.execute(sql, params).fetchone()
    if row is None:  # an aggregate always has a row
        raise RuntimeError(f"no row from {sql.split()[0]}")
    return row


def _stats(con: duckdb.DuckDBPyConnection, people: int, kappa: float) -> dict[str, Any]:
    priors = con.execute("SELECT source, alpha, beta, shape FROM lf_prior ORDER BY source").fetchall()
    bands = _one(con, """
        SELECT count(*) FILTER (WHERE lapse_probability >= 0.5), avg(lapse_probability),
               quantile_disc(lapse_probability, 0.9)
        FROM forecast""", {})
    return {
        "persons": people,
        "likely_to_lapse": int(bands[0] or 0),
        "expected_lapses": round(float(bands[1] or 0.0) * people, 1),
        "top_decile_from": round(float(bands[2]), 6) if bands[2] is not None else None,
        "stop_hazard_per_year": round(kappa * 365.25, 6),
        "streams": {s: {"mean_events_per_year": round(a / b * 365.25, 4) if b else None,
                        "rate_spread_alpha": round(a, 4), "shape": round(k, 3)}
                    for s, a, b, k in priors},
    }


def quiet_probability(rate: float, shape: float, quiet: float, horizon: float) -> float:
    """P(a renewal stream with mean rate ``rate``/day and Weibull ``shape``, quiet for ``quiet`` days, stays quiet
    ``horizon`` days more): the Python twin of one stream's term in ``_PERSON``, for the docs' worked example."""
    eta = 1.0 / rate / math.gamma(1.0 + 1.0 / shape)
    return math.exp((quiet / eta) ** shape - ((quiet + horizon) / eta) ** shape)
