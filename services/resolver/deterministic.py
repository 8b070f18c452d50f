"""The set-wise passes that need no model: direct person_id and exact valid ID number.

Both write into the ``link_candidates`` table made by ``resolve_stage.create_candidates``.
"""

from __future__ import annotations

import duckdb

from silentcert.graph import sql

# Face / in-person records that name a registry person_id link to that person.
_DIRECT = """
        INSERT INTO link_candidates
        SELECT r.rid, g.person_id, 1.0, 'direct', false
        FROM records r JOIN registry g USING (person_id)
        WHERE r.kind IN ('face', 'in_person')
"""

# A valid ID number equal to a registry ID, birth date and sex not contradicting; an ID number the registry holds
# for k > 1 persons (a duplicate enrolment) gives each holder 1/k, marked shared, so it lands in review, never auto.
_ID_NUMBER = """
        INSERT INTO link_candidates
        WITH holders AS (
            SELECT id_number, count(*) AS k FROM registry
            WHERE id_number IS NOT NULL GROUP BY id_number
        )
        SELECT r.rid, g.person_id, 1.0 / h.k, 'deterministic', h.k > 1
        FROM records r
        JOIN registry g ON g.id_number = r.id_number
        JOIN holders h ON h.id_number = r.id_number
        WHERE r.id_number IS NOT NULL
          AND (r.birth_date IS NULL OR g.birth_date IS NULL OR r.birth_date = g.birth_date)
          AND (r.sex IS NULL OR g.sex IS NULL OR r.sex = g.sex)
          AND NOT EXISTS (SELECT 1 FROM link_candidates c WHERE c.rid = r.rid)
"""
_COUNT = "SELECT count(*) FROM link_candidates"


def direct_candidates(con: duckdb.DuckDBPyConnection) -> int:
    """Face / in-person records that name a registry person_id link to that person (:data:`_DIRECT`)."""
    return _insert(con, "direct_candidates", _DIRECT)


def id_number_candidates(con: duckdb.DuckDBPyConnection) -> int:
    """A valid ID number equal to a registry ID, birth date and sex not contradicting (:data:`_ID_NUMBER`)."""
    return _insert(con, "id_number_candidates", _ID_NUMBER)


def _insert(con: duckdb.DuckDBPyConnection, name: str, statement: str) -> int:
    before = sql.scalar(con, "link_candidates_count", _COUNT)
    sql.run(con, name, statement)
    return sql.scalar(con, "link_candidates_count", _COUNT) - before
