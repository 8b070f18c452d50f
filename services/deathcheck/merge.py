"""Death merging: the death reports linked to each person become one row of ``deaths``.

Which reports agree. Each report's date is supported by the distinct sources dated within ``date_tolerance_days``
of it; the best-supported date (ties: a decisive source, then a dating source, then the earlier date) is the
*pivot*, and reports within the tolerance of the pivot *agree*. A report outside it makes the death a *conflict*.

Confirmation. A death is confirmed when ``min_agreeing_sources`` distinct registers agree (two by default), or
when a source named in ``decisive_sources`` agrees (none by default; ``["police"]`` lets police alone confirm).
A lone report of any register is therefore unconfirmed: a living person wrongly reported dead would otherwise lose
the pension with nobody looking.

The death date (the *anchor*) decides what counts as activity after death and how many payments were overpaid:

1. the date of a *dating* source (``dating_sources``, the health register's medical certificate by default) when
   it agrees: the certificate is written at the death, while police deregistration and civil-affairs cremation
   come days or weeks later;
2. otherwise the earliest agreeing report, so a late police date does not hide use of the card after the death
   or understate the overpayment — unless strong evidence (a hospital stay, a vaccination) lies between that
   report and a later agreeing one: the person was alive then, so the earliest agreeing report on or after the
   last such record is the anchor, and conflicts.py asks a reviewer to check the date.

Only links in the ``auto`` band count here; uncertain links of death reports become flags of their own
(conflicts.py).
"""

from __future__ import annotations

import duckdb
import pyarrow as pa

from silentcert.graph import sql
from silentcert.services.deathcheck.settings import DeathCheckSettings

_DEATH_COUNT = "SELECT count(*) FROM deaths"


def merge_deaths(con: duckdb.DuckDBPyConnection, settings: DeathCheckSettings) -> int:
    """Write ``death_reports``, ``death_strong`` (temp) and ``deaths``; returns the number of persons with a death."""
    _classify_sources(con, settings)
    sql.run(con, "death_reports", sql.compose(_DEATH_REPORTS, identity_mismatch=IDENTITY_MISMATCH))
    _strong_evidence(con)
    _agreement(con, settings.date_tolerance_days)
    _anchor(con)
    sql.run(con, "deaths", _DEATHS, {"min_sources": int(settings.min_agreeing_sources)})
    return sql.scalar(con, "death_count", _DEATH_COUNT)


# {identity_mismatch}: IDENTITY_MISMATCH over the record r and the registry row g
_DEATH_REPORTS = """
        CREATE OR REPLACE TEMP TABLE death_reports AS
        SELECT l.person_id, r.rid, r.source, r.record_id, CAST(r.occurred_at AS DATE) AS death_date,
               s.decisive, s.dating, l.band, l.match_probability, {identity_mismatch} AS identity_mismatch
        FROM records r
        JOIN links l USING (rid)
        JOIN death_sources s ON s.source = r.source
        JOIN registry g ON g.person_id = l.person_id
        WHERE r.kind = 'death' AND r.occurred_at IS NOT NULL AND l.band IN ('auto', 'review')
"""
_DEATHS = """
        CREATE OR REPLACE TABLE deaths AS
        SELECT person_id, any_value(anchor) AS death_date,
               coalesce(bool_or(decisive AND agrees), false)
                 OR count(DISTINCT source) FILTER (WHERE agrees) >= $min_sources
                 AS confirmed,
               string_agg(DISTINCT source, ',' ORDER BY source) AS sources,
               bool_or(NOT agrees) AS conflict,
               bool_and(identity_mismatch) AS identity_unclear,
               bool_or(identity_mismatch) AS identity_mismatch,
               count(*) AS reports,
               min(death_date) AS first_reported, max(death_date) AS last_reported,
               string_agg(DISTINCT source, ',' ORDER BY source) FILTER (WHERE death_date = anchor AND agrees)
                 AS anchored_by
        FROM death_reports_auto GROUP BY person_id ORDER BY person_id
"""


_STRONG_EVIDENCE = """
        CREATE OR REPLACE TEMP TABLE death_strong AS
        SELECT l.person_id, r.rid, r.source, CAST(r.occurred_at AS DATE) AS seen_on
        FROM records r JOIN links l USING (rid)
        WHERE l.band IN ('auto', 'review') AND r.occurred_at IS NOT NULL
          AND (r.kind = 'strong' OR (r.kind IN ('face', 'in_person') AND coalesce(r.passed, true)))
          AND l.person_id IN (SELECT person_id FROM death_reports WHERE band = 'auto')
    """


def _strong_evidence(con: duckdb.DuckDBPyConnection) -> None:
    """``death_strong``: strong or passed face/in-person records of every person with an ``auto`` death report."""
    sql.run(con, "strong_evidence", _STRONG_EVIDENCE)


def _agreement(con: duckdb.DuckDBPyConnection, tolerance_days: int) -> None:
    """``death_reports_auto``: the auto-band reports, each with ``agrees`` (within the tolerance of the pivot)."""
    sql.run(con, "death_pivot", _PIVOT, {"tolerance": int(tolerance_days)})
    sql.run(con, "death_reports_auto", _AGREEMENT, {"tolerance": int(tolerance_days)})


_PIVOT = """
        CREATE OR REPLACE TEMP TABLE death_pivot AS
        WITH support AS (
            SELECT a.person_id, a.death_date, bool_or(a.decisive) AS decisive, bool_or(a.dating) AS dating,
                   count(DISTINCT b.source) AS sources
            FROM death_reports a JOIN death_reports b
              ON a.person_id = b.person_id AND abs(date_diff('day', a.death_date, b.death_date)) <= $tolerance
            WHERE a.band = 'auto' AND b.band = 'auto'
            GROUP BY a.person_id, a.death_date)
        SELECT person_id, death_date AS pivot FROM support
        QUALIFY row_number() OVER (PARTITION BY person_id
                                   ORDER BY sources DESC, decisive DESC, dating DESC, death_date) = 1
"""
_AGREEMENT = """
        CREATE OR REPLACE TEMP TABLE death_reports_auto AS
        SELECT d.*, abs(date_diff('day', p.pivot, d.death_date)) <= $tolerance AS agrees
        FROM death_reports d JOIN death_pivot p USING (person_id) WHERE d.band = 'auto'
"""


_ANCHOR = """
        CREATE OR REPLACE TEMP TABLE death_anchor AS
        WITH span AS (
            SELECT person_id, min(death_date) FILTER (WHERE agrees) AS first_agreeing,
                   max(death_date) FILTER (WHERE agrees) AS last_agreeing,
                   min(death_date) FILTER (WHERE agrees AND dating) AS dated
            FROM death_reports_auto GROUP BY person_id),
        alive_inside AS (
            SELECT s.person_id, max(e.seen_on) AS last_alive
            FROM span s JOIN death_strong e USING (person_id)
            WHERE e.seen_on > s.first_agreeing AND e.seen_on <= s.last_agreeing GROUP BY s.person_id)
        SELECT s.person_id,
               coalesce(s.dated, min(r.death_date) FILTER (
                   WHERE r.agrees AND r.death_date >= coalesce(a.last_alive, s.first_agreeing))) AS anchor
        FROM span s JOIN death_reports_auto r USING (person_id) LEFT JOIN alive_inside a USING (person_id)
        GROUP BY s.person_id, s.dated;
        CREATE OR REPLACE TEMP TABLE death_reports_auto AS
        SELECT r.*, a.anchor FROM death_reports_auto r JOIN death_anchor a USING (person_id);
    """


def _anchor(con: duckdb.DuckDBPyConnection) -> None:
    """Add ``anchor`` to ``death_reports_auto``: the dating source's date, else the earliest agreeing report not
    contradicted by strong evidence before a later agreeing report."""
    sql.run(con, "anchor", _ANCHOR)


# A death report whose sex, birth date or name contradicts the registry person it is linked to.
IDENTITY_MISMATCH = """coalesce(
    (r.sex IS NOT NULL AND g.sex IS NOT NULL AND r.sex <> g.sex)
    OR (r.birth_date IS NOT NULL AND g.birth_date IS NOT NULL AND r.birth_date <> g.birth_date)
    OR (r.name IS NOT NULL AND g.name IS NOT NULL AND r.name <> g.name
        AND coalesce(r.name_pinyin <> g.name_pinyin, true)), false)"""


_DEATH_SOURCES = "CREATE OR REPLACE TEMP TABLE death_sources AS SELECT * FROM _death_sources"
_DEATH_SOURCE_NAMES = "SELECT DISTINCT source FROM records WHERE kind = 'death'"


def _classify_sources(con: duckdb.DuckDBPyConnection, settings: DeathCheckSettings) -> None:
    """``death_sources(source, decisive, dating)``: the few death source names, classified by the settings."""
    names = [row[0] for row in sql.run(con, "death_source_names", _DEATH_SOURCE_NAMES).fetchall()]
    table = pa.table({"source": pa.array(names, pa.string()),
                      "decisive": pa.array([settings.is_decisive(n) for n in names], pa.bool_()),
                      "dating": pa.array([settings.is_dating(n) for n in names], pa.bool_())})
    con.register("_death_sources", table)
    sql.run(con, "death_sources", _DEATH_SOURCES)
    con.unregister("_death_sources")
