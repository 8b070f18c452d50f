"""Per-source likelihood ratios of weak evidence, estimated from each round's own labelled population.

Alive: people certified this round by a confidently linked strong record or a passed face / in-person check,
with no linked death record. Dead: the labelled dead of score_stage (a confidently linked death record dated at
least ``min_dead_exposure_days`` before as_of, no certifying record of their own after it). A weak source *sees*
an alive person when one of its records (linked at ``link_floor`` or better) falls in the evidence window; it sees
a dead person only through records dated on or after the death ("seen although dead": a relative using the card
or phone). The raw rates are shrunk towards the
configured defaults with ``ratio_prior_weight`` pseudo-people each, so a round with few labelled dead keeps
close to the defaults and a zero count never gives an infinite ratio.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import duckdb

from silentcert.graph import sql
from silentcert.services.liveness.settings import LivenessSettings

COLUMNS = ("source", "p_seen_alive", "p_seen_dead", "lr", "n_alive", "n_dead", "estimated", "seen_dead")


@dataclass(frozen=True)
class LikelihoodRatio:
    """What being seen (or not) by one weak source says about being alive."""

    source: str
    p_seen_alive: float
    p_seen_dead: float
    n_alive: int = 0
    n_dead: int = 0
    estimated: bool = False
    seen_dead: int = 0  # labelled dead seen by the source after their death (relatives' use), before shrinkage

    @property
    def lr(self) -> float:
        return self.p_seen_alive / self.p_seen_dead

    @property
    def seen_log_ratio(self) -> float:
        """log LR of being seen: added when the source sees the person fully."""
        return math.log(self.p_seen_alive / self.p_seen_dead)

    @property
    def unseen_log_ratio(self) -> float:
        """log LR of not being seen (negative when alive people are seen more often than dead ones)."""
        return math.log((1.0 - self.p_seen_alive) / (1.0 - self.p_seen_dead))


def shrink(seen: int, n: int, prior: float, weight: float) -> float:
    """Posterior mean of a rate with a Beta prior of mean ``prior`` worth ``weight`` observations."""
    return (seen + weight * prior) / (n + weight)


def ratio_for(source: str, counts: tuple[int, int, int, int], settings: LivenessSettings) -> LikelihoodRatio:
    """One source's ratio from (seen_alive, n_alive, seen_dead, n_dead)."""
    seen_alive, n_alive, seen_dead, n_dead = counts
    prior = settings.rates_for(source)
    return LikelihoodRatio(
        source=source,
        p_seen_alive=shrink(seen_alive, n_alive, prior.alive, settings.ratio_prior_weight),
        p_seen_dead=shrink(seen_dead, n_dead, prior.dead, settings.ratio_prior_weight),
        n_alive=n_alive,
        n_dead=n_dead,
        estimated=n_alive > 0 and n_dead > 0,
        seen_dead=seen_dead,
    )


_CREATE_RATIOS = """
CREATE OR REPLACE TABLE likelihood_ratios (source VARCHAR, p_seen_alive DOUBLE, p_seen_dead DOUBLE, lr DOUBLE,
                                           n_alive BIGINT, n_dead BIGINT, estimated BOOLEAN, seen_dead BIGINT)
"""
_INSERT_RATIOS = "INSERT INTO likelihood_ratios VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
_LOAD_RATIOS = "SELECT {columns} FROM {table}"

_COUNTS_SQL = """
WITH sources AS (SELECT DISTINCT source FROM records WHERE kind = 'weak'),
alive AS (
    SELECT DISTINCT e.person_id FROM {evidence} e
    WHERE e.role IN ('certifies', 'decides')
      AND e.person_id NOT IN (SELECT person_id FROM {deaths})
),
dead AS (SELECT person_id, death_date FROM {labelled}),
seen_alive AS (
    SELECT e.source, count(DISTINCT e.person_id) AS n FROM {evidence} e JOIN alive USING (person_id)
    WHERE e.role = 'weak' GROUP BY e.source
),
seen_dead AS (
    SELECT e.source, count(DISTINCT e.person_id) AS n FROM {evidence} e JOIN dead USING (person_id)
    WHERE e.kind = 'weak' AND e.d >= dead.death_date AND e.link_probability >= $floor
    GROUP BY e.source
)
SELECT s.source, coalesce(sa.n, 0), (SELECT count(*) FROM alive), coalesce(sd.n, 0), (SELECT count(*) FROM dead)
FROM sources s LEFT JOIN seen_alive sa USING (source) LEFT JOIN seen_dead sd USING (source)
ORDER BY s.source
"""


def estimate_ratios(con: duckdb.DuckDBPyConnection, settings: LivenessSettings, *,
                    evidence: str, deaths: str, labelled: str) -> dict[str, LikelihoodRatio]:
    """Estimate every weak source's ratio and write ``likelihood_ratios``.

    ``evidence`` names the classified evidence table of :mod:`score_stage` (person_id, source, kind, d, role,
    link_probability), ``deaths`` its death cut-off table (person_id: anyone with a linked death record) and
    ``labelled`` its labelled dead (person_id, death_date).
    """
    rows = sql.fetchall(con, "ratio_counts",
                        sql.with_idents(_COUNTS_SQL, evidence=evidence, deaths=deaths, labelled=labelled),
                        {"floor": settings.link_floor})
    ratios = {row[0]: ratio_for(row[0], tuple(row[1:]), settings) for row in rows}
    write_ratios(con, ratios.values())
    return ratios


def write_ratios(con: duckdb.DuckDBPyConnection, ratios) -> None:
    """(Re)create ``likelihood_ratios`` from LikelihoodRatio objects."""
    sql.run(con, "likelihood_ratios", _CREATE_RATIOS)
    rows = [(r.source, r.p_seen_alive, r.p_seen_dead, r.lr, r.n_alive, r.n_dead, r.estimated, r.seen_dead)
            for r in ratios]
    if rows:
        sql.run_many(con, "likelihood_ratio_rows", _INSERT_RATIOS, rows)


def load_ratios(con: duckdb.DuckDBPyConnection, table: str = "likelihood_ratios") -> dict[str, LikelihoodRatio]:
    """Read a stored ratio table back (what the servicer hands to ``explain_person``)."""
    rows = sql.fetchall(con, "load_ratios",
                        sql.with_idents(_LOAD_RATIOS, columns=[c for c in COLUMNS if c != "lr"], table=table))
    return {r[0]: LikelihoodRatio(r[0], r[1], r[2], int(r[3]), int(r[4]), bool(r[5]), int(r[6] or 0))
            for r in rows}
