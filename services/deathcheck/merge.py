"""Death merging: the death reports linked to each person become one row of ``deaths``.

A person's reports are anchored on the earliest date a decisive source gives (police by default), or on the
median date when no decisive source reports. Reports within the tolerance of the anchor *agree*. The death is
confirmed when a decisive source agrees, or when enough distinct sources agree (DeathCheckSettings); a report
outside the tolerance makes the death a *conflict*. Only links in the ``auto`` band count here; uncertain links of
death reports become flags of their own (conflicts.py).
"""

from __future__ import annotations

import duckdb
import pyarrow as pa

from services.deathcheck.settings import DeathCheckSettings


def merge_deaths(con: duckdb.DuckDBPyConnection, settings: DeathCheckSettings) -> int:
    """Write ``death_reports`` (temp) and ``deaths``; returns the number of persons with a death."""
    _classify_sources(con, settings)
    con.execute("""
        CREATE OR REPLACE TEMP TABLE death_reports AS
        SELECT l.person_id, r.rid, r.source, r.record_id, CAST(r.occurred_at AS DATE) AS death_date,
               s.decisive, l.band, l.match_probability, _identity_mismatch(r, g) AS identity_mismatch
        FROM records r
        JOIN links l USING (rid)
        JOIN death_sources s ON s.source = r.source
        JOIN registry g ON g.person_id = l.person_id
        WHERE r.kind = 'death' AND r.occurred_at IS NOT NULL AND l.band IN ('auto', 'review')
    """.replace("_identity_mismatch(r, g)", IDENTITY_MISMATCH))
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE death_anchor AS
        SELECT person_id,
               coalesce(min(death_date) FILTER (WHERE decisive), quantile_disc(death_date, 0.5)) AS anchor
        FROM death_reports WHERE band = 'auto' GROUP BY person_id;
        CREATE OR REPLACE TEMP TABLE death_reports_auto AS
        SELECT d.*, abs(date_diff('day', a.anchor, d.death_date)) <= {int(settings.date_tolerance_days)} AS agrees,
               a.anchor
        FROM death_reports d JOIN death_anchor a USING (person_id) WHERE d.band = 'auto';
        CREATE OR REPLACE TABLE deaths AS
        SELECT person_id, any_value(anchor) AS death_date,
               coalesce(bool_or(decisive AND agrees), false)
                 OR count(DISTINCT source) FILTER (WHERE agrees) >= {int(settings.min_agreeing_sources)}
                 AS confirmed,
               string_agg(DISTINCT source, ',' ORDER BY source) AS sources,
               bool_or(NOT agrees) AS conflict,
               bool_and(identity_mismatch) AS identity_unclear,
               bool_or(identity_mismatch) AS identity_mismatch,
               count(*) AS reports
        FROM death_reports_auto GROUP BY person_id ORDER BY person_id;
    """)
    return con.execute("SELECT count(*) FROM deaths").fetchone()[0]


# A death report whose sex, birth date or name contradicts the registry person it is linked to.
IDENTITY_MISMATCH = """coalesce(
    (r.sex IS NOT NULL AND g.sex IS NOT NULL AND r.sex <> g.sex)
    OR (r.birth_date IS NOT NULL AND g.birth_date IS NOT NULL AND r.birth_date <> g.birth_date)
    OR (r.name IS NOT NULL AND g.name IS NOT NULL AND r.name <> g.name
        AND coalesce(r.name_pinyin <> g.name_pinyin, true)), false)"""


def _classify_sources(con: duckdb.DuckDBPyConnection, settings: DeathCheckSettings) -> None:
    """``death_sources(source, decisive)``: the few death source names, classified by the settings."""
    names = [row[0] for row in con.execute("SELECT DISTINCT source FROM records WHERE kind = 'death'").fetchall()]
    table = pa.table({"source": pa.array(names, pa.string()),
                      "decisive": pa.array([settings.is_decisive(n) for n in names], pa.bool_())})
    con.register("_death_sources", table)
    con.execute("CREATE OR REPLACE TEMP TABLE death_sources AS SELECT * FROM _death_sources")
    con.unregister("_death_sources")
