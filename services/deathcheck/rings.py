"""Rings: phones, cards or accounts shared by several unrelated pensioners, especially dead ones.

What a ring looks like: one operator's phone, card or account written on several unrelated pensioners, often
dead ones, often in different counties, and still in use after their deaths. What it is not: a family line.

Only identifiers held by two or more people are looked at, and of those only the ones a family would not
explain. A value held by exactly two people of one county, a man and a woman, is a couple's whatever their ages
(it cannot be a ring's own identifier: a ring has at least ``ring_min_size`` members). A value held by at most
``family_max_size`` people of one county, each related to another holder (same surname within
``family_max_age_gap`` years, or a man and a woman within ``couple_max_age_gap`` years), is a family's line.
The rest form a person–identifier bipartite graph (networkx, built on the shared identifiers only); a connected
component with at least ``ring_min_size`` persons is a candidate, scored by size, share of reported deaths and
post-death activity.

A candidate is flagged as a ring — every member with the ring's id — when a member has a reported death (any
linked death record, certain or not) or activity after one, or when its score reaches ``ring_min_score`` (0.25:
five or more unrelated living holders of one value). A small component of living people nobody reported dead is
left alone: that is what a recycled number, a carer's phone or a step-family looks like, and it costs nothing
to leave, because a pensioner nobody sees alive is not certified by the liveness rules anyway.
"""

from __future__ import annotations

import hashlib

import duckdb
import networkx as nx
import pyarrow as pa

from silentcert.graph import sql
from silentcert.services.deathcheck.settings import DeathCheckSettings

_RING_MEMBERS = "CREATE OR REPLACE TEMP TABLE ring_members AS SELECT * FROM _ring_members"
_SUSPICIOUS_EDGES = "SELECT person_id, kind || ':' || value FROM suspicious_holds"


def find_rings(con: duckdb.DuckDBPyConnection, settings: DeathCheckSettings) -> int:
    """Write temp ``ring_members(person_id, ring_id)`` and flag every member; returns the number of rings."""
    _suspicious_identifiers(con, settings)
    edges = sql.run(con, "suspicious_edges", _SUSPICIOUS_EDGES).fetchall()
    members = ring_components(edges, settings.ring_min_size)
    con.register("_ring_members", pa.table({"person_id": pa.array([m[0] for m in members], pa.string()),
                                           "ring_id": pa.array([m[1] for m in members], pa.string())}))
    sql.run(con, "ring_members", _RING_MEMBERS)
    con.unregister("_ring_members")
    return _flag_members(con, settings.ring_min_score)


def ring_components(edges: list[tuple[str, str]], min_size: int) -> list[tuple[str, str]]:
    """(person_id, ring_id) for every person in a component with at least `min_size` persons.

    The ring id hashes the component's smallest identifier, so it stays the same while that identifier does."""
    graph = nx.Graph()
    graph.add_edges_from((("p", person), ("i", ident)) for person, ident in edges)
    members: list[tuple[str, str]] = []
    for component in nx.connected_components(graph):
        persons = sorted(node[1] for node in component if node[0] == "p")
        if len(persons) < min_size:
            continue
        anchor = min(node[1] for node in component if node[0] == "i")
        ring_id = "ring-" + hashlib.sha256(anchor.encode()).hexdigest()[:12]
        members.extend((person, ring_id) for person in persons)
    return members


def _suspicious_identifiers(con: duckdb.DuckDBPyConnection, s: DeathCheckSettings) -> None:
    """``suspicious_holds(person_id, kind, value)``: holdings of shared identifiers no family explains."""
    sql.run(con, "shared_holds", _SHARED_HOLDS)
    sql.run(con, "family_values", _FAMILY_VALUES,
            {"family_size": int(s.family_max_size), "family_gap": int(s.family_max_age_gap),
             "couple_gap": int(s.couple_max_age_gap)})
    sql.run(con, "suspicious_holds", _SUSPICIOUS_HOLDS)


_SHARED_HOLDS = """
        CREATE OR REPLACE TEMP TABLE shared_holds AS
        WITH holds AS (
            SELECT DISTINCT i.person_id, i.kind, i.value FROM identifiers i
            WHERE i.value IS NOT NULL AND i.person_id IS NOT NULL),
        counted AS (
            SELECT *, count(*) OVER (PARTITION BY kind, value) AS holders FROM holds)
        SELECT c.person_id, c.kind, c.value, c.holders, left(g.name, 1) AS surname, g.sex, g.county_code,
               g.birth_date
        FROM counted c JOIN registry g USING (person_id) WHERE c.holders >= 2
"""
_FAMILY_VALUES = """
        CREATE OR REPLACE TEMP TABLE family_values AS
        WITH small AS (SELECT * FROM shared_holds WHERE holders <= $family_size),
        pairs AS (
            SELECT a.kind, a.value, a.person_id AS pa, b.person_id AS pb
            FROM small a JOIN small b ON a.kind = b.kind AND a.value = b.value AND a.person_id < b.person_id
            WHERE a.county_code = b.county_code
              AND ((a.surname = b.surname
                    AND abs(date_diff('year', a.birth_date, b.birth_date)) <= $family_gap)
                   OR (a.sex <> b.sex
                       AND abs(date_diff('year', a.birth_date, b.birth_date)) <= $couple_gap))),
        related AS (
            SELECT kind, value, count(DISTINCT person_id) AS related_holders, count(*) / 2 AS pair_count FROM (
                SELECT kind, value, pa AS person_id FROM pairs UNION ALL SELECT kind, value, pb FROM pairs)
            GROUP BY ALL),
        per_value AS (
            SELECT h.kind, h.value, any_value(h.holders) AS holders, any_value(r.related_holders) AS related_holders,
                   any_value(r.pair_count) AS pair_count
            FROM small h JOIN related r USING (kind, value) GROUP BY h.kind, h.value)
        -- every holder related to another and at least holders-1 relations: connected for up to 4 holders
        SELECT kind, value FROM per_value WHERE related_holders = holders AND pair_count >= holders - 1
        UNION
        -- two holders, a man and a woman of one county: a couple at any age gap
        SELECT kind, value FROM shared_holds WHERE holders = 2 GROUP BY kind, value
        HAVING count(DISTINCT county_code) = 1 AND count(county_code) = 2
           AND count(DISTINCT sex) = 2 AND count(sex) = 2
"""
_SUSPICIOUS_HOLDS = """
        CREATE OR REPLACE TEMP TABLE suspicious_holds AS
        SELECT h.person_id, h.kind, h.value FROM shared_holds h ANTI JOIN family_values f USING (kind, value)
"""


_RING_FLAGS = """
        INSERT INTO raised
        WITH member_facts AS (
            SELECT m.person_id, m.ring_id, d.person_id IS NOT NULL AS dead, coalesce(f.overpayment, 0.0) AS op
            FROM ring_members m LEFT JOIN deaths d USING (person_id) LEFT JOIN death_facts f USING (person_id)),
        scored AS (SELECT * FROM ring_scores),
        shared AS (
            SELECT s.person_id, m.ring_id,
                   string_agg(s.kind || ' ' || s.value, ', ' ORDER BY s.kind, s.value) AS values
            FROM suspicious_holds s JOIN ring_members m USING (person_id) GROUP BY ALL)
        SELECT 'shared_identifier_ring:' || f.person_id || ':' || f.ring_id, f.person_id, 'shared_identifier_ring',
               CASE WHEN r.score >= 0.6 THEN 'critical' WHEN r.score >= 0.4 THEN 'high' ELSE 'medium' END,
               format('Shares {} with unrelated pensioners: ring {} of {} members, {} reported dead, {} with '
                      || 'activity after death (score {:.2f}).{}', sh.values, f.ring_id, r.size, r.dead, r.active,
                      r.score, CASE WHEN f.dead THEN ' This member is reported dead.' ELSE '' END),
               f.op, f.ring_id, g.county_code, NULL
        FROM member_facts f JOIN scored r USING (ring_id) JOIN shared sh USING (person_id, ring_id)
        JOIN registry g USING (person_id);

        INSERT INTO cited
        SELECT f.flag_id, r.rid FROM raised f JOIN death_reports r USING (person_id)
        WHERE f.kind = 'shared_identifier_ring' AND r.band = 'auto'
        UNION ALL
        SELECT f.flag_id, p.rid FROM raised f JOIN post_death p USING (person_id)
        WHERE f.kind = 'shared_identifier_ring';
    """
_RING_COUNT = "SELECT count(*) FROM ring_scores"


def _flag_members(con: duckdb.DuckDBPyConnection, min_score: float) -> int:
    """Flag the members of every candidate that is a ring (module docstring); returns the number of rings."""
    sql.run(con, "ring_scores", _RING_SCORES)
    sql.run(con, "drop_weak_rings", _DROP_WEAK_RINGS, {"min_score": float(min_score)})
    sql.run(con, "ring_flags", _RING_FLAGS)
    return sql.scalar(con, "ring_count", _RING_COUNT)


_RING_SCORES = """
        CREATE OR REPLACE TEMP TABLE ring_scores AS
        WITH member_facts AS (
            SELECT m.person_id, m.ring_id, d.person_id IS NOT NULL AS dead,
                   m.person_id IN (SELECT person_id FROM death_reports) AS reported,
                   coalesce(f.strong_after + f.weak_after, 0) > 0 AS active_after
            FROM ring_members m LEFT JOIN deaths d USING (person_id) LEFT JOIN death_facts f USING (person_id)),
        ring AS (
            SELECT ring_id, count(*) AS size, count(*) FILTER (WHERE dead) AS dead,
                   count(*) FILTER (WHERE reported) AS reported, count(*) FILTER (WHERE active_after) AS active
            FROM member_facts GROUP BY ring_id)
        SELECT *, round(0.35 * least(1.0, (size - 2) / 4.0) + 0.45 * dead / size
                        + 0.2 * CASE WHEN active > 0 THEN 1 ELSE 0 END, 3) AS score
        FROM ring
"""
_DROP_WEAK_RINGS = "DELETE FROM ring_scores WHERE reported = 0 AND active = 0 AND score < $min_score"
