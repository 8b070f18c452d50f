"""The deathcheck stage of a round: merge deaths, raise flags, find rings, keep reviewers' decisions, amend the
verdicts and write the round's audit events.

Reads ``registry``, ``records``, ``links``, ``identifiers``, ``verdicts`` and ``decided_flags``; writes ``deaths``,
``flags``, ``flag_citations``, ``audit_events`` and updates ``verdicts`` (status deceased/review; period ended for
the dead, suspended while under review; certified_until kept). Runs inside the caller's transaction.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import duckdb

from silentcert.graph import sql
from silentcert.services.deathcheck.conflicts import death_flags, home_visits, start_flags
from silentcert.services.deathcheck.duplicates import duplicate_flags, share_certification
from silentcert.services.deathcheck.effects import effect_rows
from silentcert.services.deathcheck.merge import merge_deaths
from silentcert.services.deathcheck.rings import find_rings
from silentcert.services.deathcheck.round_audit import write_audit_events
from silentcert.services.deathcheck.settings import DeathCheckSettings

_DECIDED_FLAGS = """
CREATE TABLE IF NOT EXISTS decided_flags (flag_id VARCHAR, status VARCHAR, decided_by VARCHAR, decided_at TIMESTAMPTZ,
                                          note VARCHAR)
"""


def check_round(con: duckdb.DuckDBPyConnection, as_of: date, round_id: str,
                settings: DeathCheckSettings) -> dict[str, Any]:
    """Run the death check over the round's tables; returns the stage statistics."""
    merge_deaths(con, settings)
    start_flags(con)
    death_flags(con, as_of, settings)
    rings = find_rings(con, settings)
    home_visits(con, as_of, settings)
    shared = share_certification(con)  # before the flags: an account certified so is being paid
    pairs = duplicate_flags(con, as_of, settings)
    _decided(con)
    _outcomes(con)
    _write_flags(con)
    write_audit_events(con, as_of, round_id)
    _amend_verdicts(con)
    _keep_earlier_deaths(con)
    return {**_stats(con), "rings": rings, "duplicate_pairs": pairs, "certified_by_twin": shared}


_FLAG_EFFECTS = "CREATE OR REPLACE TEMP TABLE flag_effects (kind VARCHAR, status VARCHAR, effect VARCHAR)"
_FLAG_EFFECT_ROWS = "INSERT INTO flag_effects VALUES (?, ?, ?)"
_DECIDED_RULES = """
        CREATE OR REPLACE TEMP TABLE decided AS
        SELECT f.flag_id, f.person_id, f.kind, d.status, d.decided_by, CAST(d.decided_at AS VARCHAR) AS decided_at,
               CASE WHEN e.effect = 'restore' AND f.outcome IS NULL THEN 'none' ELSE e.effect END AS effect
        FROM raised f JOIN decided_flags d USING (flag_id)
        JOIN flag_effects e ON e.kind = f.kind AND e.status = d.status
    """


def _decided(con: duckdb.DuckDBPyConnection) -> None:
    """``decided``: this round's flags a reviewer decided in an earlier run, with the effect of the decision."""
    sql.run(con, "decided_flags", _DECIDED_FLAGS)
    sql.run(con, "flag_effects", _FLAG_EFFECTS)
    sql.run_many(con, "flag_effect_rows", _FLAG_EFFECT_ROWS, effect_rows())
    sql.run(con, "decided_rules", _DECIDED_RULES)


_OUTCOMES = """
        CREATE OR REPLACE TEMP TABLE outcomes AS
        WITH auto AS (  -- review beats deceased: evidence of life is never overruled automatically
            SELECT person_id,
                   first(outcome ORDER BY CASE outcome WHEN 'review' THEN 1 ELSE 2 END, flag_id) AS outcome,
                   first(flag_id ORDER BY CASE outcome WHEN 'review' THEN 1 ELSE 2 END, flag_id) AS flag_id
            FROM raised WHERE outcome IS NOT NULL GROUP BY person_id),
        ranked AS (
            SELECT person_id, flag_id,
                   CASE effect WHEN 'deceased' THEN 'deceased' WHEN 'hold' THEN 'review' ELSE 'restore' END AS outcome,
                   CASE effect WHEN 'deceased' THEN 1 WHEN 'hold' THEN 2 ELSE 3 END AS rank
            FROM decided WHERE effect <> 'none'),
        by_decision AS (
            SELECT person_id, first(outcome ORDER BY rank, flag_id) AS outcome,
                   first(flag_id ORDER BY rank, flag_id) AS flag_id
            FROM ranked GROUP BY person_id)
        SELECT person_id, coalesce(d.outcome, a.outcome) AS outcome, coalesce(d.flag_id, a.flag_id) AS flag_id,
               d.person_id IS NOT NULL AS by_decision
        FROM auto a FULL JOIN by_decision d USING (person_id)
    """


def _outcomes(con: duckdb.DuckDBPyConnection) -> None:
    """``outcomes(person_id, outcome, flag_id, by_decision)``: deceased, review or restore, one row a person.

    A decision beats the rules: deceased over hold over restore."""
    sql.run(con, "outcomes", _OUTCOMES)


_WRITE_FLAGS = """
        CREATE OR REPLACE TABLE flags AS
        SELECT flag_id, person_id, kind, severity, detail, overpayment, ring_id, county_code
        FROM raised ORDER BY flag_id;
        CREATE OR REPLACE TABLE flag_citations AS SELECT DISTINCT flag_id, rid FROM cited ORDER BY flag_id, rid;
    """


def _write_flags(con: duckdb.DuckDBPyConnection) -> None:
    sql.run(con, "write_flags", _WRITE_FLAGS)


_AMEND_VERDICTS = """
        UPDATE verdicts SET
            status = o.outcome,
            period_state = CASE WHEN o.outcome = 'deceased' THEN 'ended' ELSE 'suspended' END,
            probability = CASE WHEN o.outcome = 'deceased' THEN 0.0 ELSE verdicts.probability END,
            source = CASE WHEN o.outcome = 'deceased' THEN coalesce(o.death_sources, verdicts.source)
                          ELSE verdicts.source END,
            explanation = concat_ws(' ', verdicts.explanation, o.reason)
        FROM (SELECT o.person_id, o.outcome, d.sources AS death_sources,
                     CASE WHEN o.by_decision THEN 'Death check: reviewer decision on flag ' || o.flag_id || ' applied.'
                          ELSE 'Death check: flag ' || o.flag_id || ' (' || f.kind || ').' END AS reason
              FROM outcomes o LEFT JOIN deaths d USING (person_id) LEFT JOIN raised f USING (flag_id)
              WHERE o.outcome IN ('deceased', 'review')) o
        WHERE verdicts.person_id = o.person_id
    """


def _amend_verdicts(con: duckdb.DuckDBPyConnection) -> None:
    sql.run(con, "amend_verdicts", _AMEND_VERDICTS)


_KEEP_EARLIER_DEATHS = """
        UPDATE verdicts SET
            status = k.status,
            period_state = CASE k.status WHEN 'review' THEN 'suspended' ELSE 'ended' END,
            probability = CASE k.status WHEN 'deceased' THEN 0.0 ELSE verdicts.probability END,
            certified_until = greatest(verdicts.certified_until, k.earlier_until),
            explanation = concat_ws(' ', verdicts.explanation, 'Death check: deceased since an earlier round.')
        FROM (SELECT v.person_id, p.certified_until AS earlier_until,
                     CASE WHEN v.status = 'review' OR (v.status = 'certified'
                               AND v.method IN ('strong', 'face', 'in_person')) THEN 'review'
                          ELSE 'deceased' END AS status
              FROM verdicts v JOIN previous_periods p USING (person_id)
              WHERE p.status = 'deceased') k
        WHERE verdicts.person_id = k.person_id
    """


def _keep_earlier_deaths(con: duckdb.DuckDBPyConnection) -> None:
    """A death confirmed in an earlier round stays: next month's registers need not report it again.

    Strong evidence or a passed check since then sends the person to review instead; a deceased person's period
    end never moves backward."""
    if not sql.has_table(con, "previous_periods"):
        return
    sql.run(con, "keep_earlier_deaths", _KEEP_EARLIER_DEATHS)


_DEATH_COUNTS = "SELECT count(*), count(*) FILTER (WHERE confirmed), count(*) FILTER (WHERE conflict) FROM deaths"
_FLAG_COUNTS = "SELECT kind, count(*) FROM flags GROUP BY kind ORDER BY kind"
_OUTCOME_COUNTS = "SELECT outcome, count(*) FROM outcomes GROUP BY outcome ORDER BY 1"
_OVERPAYMENT = "SELECT coalesce(sum(overpayment), 0) FROM flags WHERE kind = 'confirmed_death'"
_DECISIONS_KEPT = "SELECT count(*) FROM decided"


def _stats(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    deaths, confirmed, conflicts = sql.one(con, "death_counts", _DEATH_COUNTS)
    by_kind = dict(sql.run(con, "flag_counts", _FLAG_COUNTS).fetchall())
    outcomes = dict(sql.run(con, "outcome_counts", _OUTCOME_COUNTS).fetchall())
    overpayment = sql.scalar(con, "overpayment", _OVERPAYMENT)
    kept = sql.scalar(con, "decisions_kept", _DECISIONS_KEPT)
    return {"deaths": deaths, "confirmed_deaths": confirmed, "date_conflicts": conflicts, "flags": sum(by_kind.values()),
            "flags_by_kind": by_kind, "deceased": outcomes.get("deceased", 0), "review": outcomes.get("review", 0),
            "restored_by_decision": outcomes.get("restore", 0), "decisions_kept": kept,
            "overpayment_confirmed": round(float(overpayment), 2)}
