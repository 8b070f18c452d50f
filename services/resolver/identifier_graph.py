"""The identifier graph: which person holds which ID number, phone and card.

Identifiers come from the registry and from confident (auto-band) links of records that
carried identifying fields together with a phone or card. Records that carry nothing but a
phone or a card link through it; a value held by k > 1 persons is shared, and each holder
gets a split probability that never reaches the auto band.
"""

from __future__ import annotations

import duckdb

from silentcert.graph import sql
from silentcert.services.resolver.settings import LinkageSettings

# identifiers held by the registry's persons and by the persons of {confident_links}(rid, person_id)
_IDENTIFIERS = """
        CREATE OR REPLACE TABLE identifiers AS
        WITH raw AS (
            SELECT person_id, 'id_number' AS kind, id_number AS value, 'registry' AS origin FROM registry
            WHERE id_number IS NOT NULL
            UNION ALL SELECT person_id, 'phone', phone, 'registry' FROM registry WHERE phone IS NOT NULL
            UNION ALL SELECT person_id, 'card', card_no, 'registry' FROM registry WHERE card_no IS NOT NULL
            UNION ALL SELECT l.person_id, 'id_number', r.id_number, 'link' FROM {confident_links} l
                      JOIN records r USING (rid) WHERE r.id_number IS NOT NULL
            UNION ALL SELECT l.person_id, 'phone', r.phone, 'link' FROM {confident_links} l
                      JOIN records r USING (rid) WHERE r.phone IS NOT NULL
            UNION ALL SELECT l.person_id, 'card', r.card_no, 'link' FROM {confident_links} l
                      JOIN records r USING (rid) WHERE r.card_no IS NOT NULL
        ),
        held AS (  -- one row per (person, identifier); a registry origin wins over a link
            SELECT person_id, kind, value,
                   CASE WHEN bool_or(origin = 'registry') THEN 'registry' ELSE 'link' END AS origin
            FROM raw GROUP BY person_id, kind, value
        )
        SELECT person_id, kind, value, origin,
               count(*) OVER (PARTITION BY kind, value) > 1 AS shared
        FROM held
"""
_COUNT_IDENTIFIERS = "SELECT count(*) FROM identifiers"
_COUNT_CANDIDATES = "SELECT count(*) FROM link_candidates"


def build_identifiers(con: duckdb.DuckDBPyConnection, confident_links: str) -> int:
    """Write ``identifiers`` from the registry and the ``confident_links(rid, person_id)`` table."""
    sql.run(con, "identifiers", sql.with_idents(_IDENTIFIERS, confident_links=confident_links))
    return sql.scalar(con, "identifiers_count", _COUNT_IDENTIFIERS)


# Candidates for phone/card-only records (a phone or card and nothing else that identifies).
_IDENTIFIER_CANDIDATES = """
        INSERT INTO link_candidates
        WITH only_identifier AS (
            SELECT rid, phone, card_no FROM records r
            WHERE r.id_number IS NULL AND r.id_number_raw IS NULL AND r.name IS NULL AND r.birth_date IS NULL
              AND (r.phone IS NOT NULL OR r.card_no IS NOT NULL)
        ),
        observed AS (
            SELECT rid, 'phone' AS kind, phone AS value FROM only_identifier WHERE phone IS NOT NULL
            UNION ALL
            SELECT rid, 'card', card_no FROM only_identifier WHERE card_no IS NOT NULL
        ),
        holders AS (
            SELECT kind, value, count(*) AS k FROM identifiers GROUP BY kind, value
        )
        SELECT o.rid, i.person_id,
               max(CASE WHEN h.k = 1 THEN $base ELSE least($base / h.k, $cap) END),
               'identifier', bool_and(h.k > 1)
        FROM observed o
        JOIN identifiers i USING (kind, value)
        JOIN holders h USING (kind, value)
        GROUP BY o.rid, i.person_id
"""


def identifier_candidates(con: duckdb.DuckDBPyConnection, settings: LinkageSettings) -> int:
    """Candidates for phone/card-only records: base probability, split over k holders."""
    before = sql.scalar(con, "link_candidates_count", _COUNT_CANDIDATES)
    sql.run(con, "identifier_candidates", _IDENTIFIER_CANDIDATES,
            {"base": float(settings.identifier_probability), "cap": float(settings.shared_identifier_cap)})
    return sql.scalar(con, "link_candidates_count", _COUNT_CANDIDATES) - before
