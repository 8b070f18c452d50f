"""The identifier graph: which person holds which ID number, phone and card.

Identifiers come from the registry and from confident (auto-band) links of records that
carried identifying fields together with a phone or card. Records that carry nothing but a
phone or a card link through it; a value held by k > 1 persons is shared, and each holder
gets a split probability that never reaches the auto band.
"""

from __future__ import annotations

import duckdb

from services.resolver.settings import LinkageSettings

_KINDS = (("id_number", "id_number"), ("phone", "phone"), ("card", "card_no"))


def build_identifiers(con: duckdb.DuckDBPyConnection, confident_links: str) -> int:
    """Write ``identifiers`` from the registry and the ``confident_links(rid, person_id)`` table."""
    from_registry = " UNION ALL ".join(
        f"SELECT person_id, '{kind}' AS kind, {col} AS value, 'registry' AS origin FROM registry "
        f"WHERE {col} IS NOT NULL" for kind, col in _KINDS
    )
    from_links = " UNION ALL ".join(
        f"SELECT l.person_id, '{kind}', r.{col}, 'link' FROM {confident_links} l JOIN records r USING (rid) "
        f"WHERE r.{col} IS NOT NULL" for kind, col in _KINDS
    )
    con.execute(f"""
        CREATE OR REPLACE TABLE identifiers AS
        WITH raw AS ({from_registry} UNION ALL {from_links}),
        held AS (  -- one row per (person, identifier); a registry origin wins over a link
            SELECT person_id, kind, value,
                   CASE WHEN bool_or(origin = 'registry') THEN 'registry' ELSE 'link' END AS origin
            FROM raw GROUP BY person_id, kind, value
        )
        SELECT person_id, kind, value, origin,
               count(*) OVER (PARTITION BY kind, value) > 1 AS shared
        FROM held
    """)
    return con.execute("SELECT count(*) FROM identifiers").fetchall()[0][0]


def identifier_only_filter(alias: str = "r") -> str:
    """SQL condition: the record carries a phone or card and nothing else that identifies."""
    return (
        f"{alias}.id_number IS NULL AND {alias}.id_number_raw IS NULL AND {alias}.name IS NULL "
        f"AND {alias}.birth_date IS NULL AND ({alias}.phone IS NOT NULL OR {alias}.card_no IS NOT NULL)"
    )


def identifier_candidates(con: duckdb.DuckDBPyConnection, settings: LinkageSettings) -> int:
    """Candidates for phone/card-only records: base probability, split over k holders."""
    before = con.execute("SELECT count(*) FROM link_candidates").fetchall()[0][0]
    con.execute(f"""
        INSERT INTO link_candidates
        WITH observed AS (
            SELECT rid, 'phone' AS kind, phone AS value FROM records r
            WHERE {identifier_only_filter()} AND phone IS NOT NULL
            UNION ALL
            SELECT rid, 'card', card_no FROM records r
            WHERE {identifier_only_filter()} AND card_no IS NOT NULL
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
    """, {"base": float(settings.identifier_probability), "cap": float(settings.shared_identifier_cap)})
    return con.execute("SELECT count(*) FROM link_candidates").fetchall()[0][0] - before
