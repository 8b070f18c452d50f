"""Publishing one round into the embedded store's tables, set-wise from the export's arrow tables.

Each step is one ``INSERT ... SELECT ... ON CONFLICT`` over a whole table registered with DuckDB (no per-row
Python); the caller wraps all of them in one transaction. The rules mirror the Neo4j MERGE statements in
graph/queries/publish_*.cypher: edges only to pensioners that exist, a decided flag keeps its status, a record
resolves to at most one person.

DuckDB rewrites a row whose indexed column an upsert sets (delete + insert in every index), which is a hundred times
slower than setting plain columns. So the bulk upsert never sets an indexed column (pensioner.id_number,
resolved_to.person_id); a second UPDATE touches only the rows whose indexed value really changed, and unchanged rows
are not rewritten at all.
"""

from __future__ import annotations

import duckdb

from graph import exports
from graph.store import EXPORT_COLUMNS, Progress, RoundExport

_PENSIONER_COLUMNS = EXPORT_COLUMNS["pensioners"]
_PENSIONER_PLAIN = tuple(c for c in _PENSIONER_COLUMNS if c not in ("person_id", "id_number"))
_VERDICT_COLUMNS = ("status", "method", "source", "evidence_at", "probability", "certified_until", "period_state")
_EVENT_PLAIN = ("source", "kind", "record_id", "occurred_at", "id_number", "phone", "card_no", "passed")
_EVENT_PLAIN_SQL = ", ".join(_EVENT_PLAIN)
_FLAG_COLUMNS = ("person_id", "kind", "severity", "detail", "overpayment", "ring_id", "county_code")


def publish(cur: duckdb.DuckDBPyConnection, export: RoundExport, progress: Progress | None) -> dict[str, int]:
    """Write the round inside the caller's transaction; returns the rows read per export table."""
    tables = {name: exports.conform(name, getattr(export, name)) for name in EXPORT_COLUMNS}
    for name, table in tables.items():
        cur.register(f"x_{name}", table)
    cur.execute("INSERT INTO round VALUES (?, ?, now()) ON CONFLICT (round_id) DO UPDATE SET as_of = excluded.as_of",
                [export.round_id, export.as_of])
    steps = (("pensioners", _pensioners), ("identifiers", _identifiers), ("events", _events),
             ("flags", _flags), ("flag_citations", _flag_citations))
    for name, step in steps:
        step(cur, export.round_id)
        if progress:
            progress(name, tables[name].num_rows)
    for name in tables:
        cur.unregister(f"x_{name}")
    return {name: table.num_rows for name, table in tables.items()}


def _upsert_set(table: str, columns: tuple[str, ...]) -> str:
    """SET every column from the new row, only where something differs (a republish rewrites nothing)."""
    sets = ", ".join(f"{c} = excluded.{c}" for c in columns)
    changed = " OR ".join(f"{table}.{c} IS DISTINCT FROM excluded.{c}" for c in columns)
    return f"{sets} WHERE {changed}"


def _update_indexed(cur: duckdb.DuckDBPyConnection, table: str, column: str, source: str, key: str) -> None:
    """Set one indexed column from `source` on just the rows where it changed."""
    cur.execute(
        f"""UPDATE {table} SET {column} = s.{column} FROM {source} s
            WHERE {table}.{key} = s.{key} AND {table}.{column} IS DISTINCT FROM s.{column}"""
    )


def _pensioners(cur: duckdb.DuckDBPyConnection, round_id: str) -> None:
    cols = ", ".join(_PENSIONER_COLUMNS)
    cur.execute(
        f"""INSERT INTO pensioner ({cols}, round_id) SELECT {cols}, $round_id FROM x_pensioners
            ON CONFLICT (person_id) DO UPDATE SET {_upsert_set("pensioner", (*_PENSIONER_PLAIN, "round_id"))}""",
        {"round_id": round_id},
    )
    _update_indexed(cur, "pensioner", "id_number", "x_pensioners", "person_id")
    verdict = ", ".join(_VERDICT_COLUMNS)
    cur.execute(
        f"""INSERT INTO verdict (person_id, round_id, {verdict})
            SELECT person_id, $round_id, {verdict} FROM x_pensioners
            ON CONFLICT (person_id, round_id) DO UPDATE SET {_upsert_set("verdict", _VERDICT_COLUMNS)}""",
        {"round_id": round_id},
    )


def _identifiers(cur: duckdb.DuckDBPyConnection, round_id: str) -> None:
    held = "SELECT x.* FROM x_identifiers x SEMI JOIN pensioner p ON p.person_id = x.person_id"
    cur.execute(
        f"""INSERT INTO identifier SELECT kind, value, bool_or(coalesce(shared, false)) FROM ({held}) GROUP BY ALL
            ON CONFLICT (kind, value) DO UPDATE SET {_upsert_set("identifier", ("shared",))}"""
    )
    cur.execute(
        f"""INSERT INTO holds SELECT person_id, kind, value, origin, coalesce(shared, false) FROM ({held})
            ON CONFLICT (person_id, kind, value) DO UPDATE SET {_upsert_set("holds", ("origin", "shared"))}"""
    )


def _events(cur: duckdb.DuckDBPyConnection, round_id: str) -> None:
    cur.execute(
        f"""INSERT INTO event (key, label, {_EVENT_PLAIN_SQL})
            SELECT key, CASE WHEN kind = 'death' THEN 'DeathRecord' ELSE 'Event' END, {_EVENT_PLAIN_SQL}
            FROM x_events
            ON CONFLICT (key) DO UPDATE SET {_upsert_set("event", _EVENT_PLAIN)}"""
    )
    cur.execute(
        """INSERT INTO identifier
           SELECT DISTINCT 'id_number', id_number, false FROM x_events WHERE id_number IS NOT NULL
           UNION SELECT DISTINCT 'phone', phone, false FROM x_events WHERE phone IS NOT NULL
           UNION SELECT DISTINCT 'card', card_no, false FROM x_events WHERE card_no IS NOT NULL
           ON CONFLICT (kind, value) DO NOTHING"""
    )
    cur.execute(
        """DELETE FROM resolved_to WHERE key IN (
               SELECT x.key FROM x_events x ANTI JOIN pensioner p ON p.person_id = x.person_id)"""
    )
    cur.execute(
        f"""INSERT INTO resolved_to
            SELECT x.key, x.person_id, x.match_probability, x.method, $round_id
            FROM x_events x SEMI JOIN pensioner p ON p.person_id = x.person_id
            ON CONFLICT (key) DO UPDATE SET {_upsert_set("resolved_to", ("probability", "method", "round_id"))}""",
        {"round_id": round_id},
    )
    _update_indexed(cur, "resolved_to", "person_id", "x_events", "key")


def _flags(cur: duckdb.DuckDBPyConnection, round_id: str) -> None:
    cols = ", ".join(_FLAG_COLUMNS)
    cur.execute(
        f"""INSERT INTO flag (flag_id, {cols}, status, round_id)
            SELECT flag_id, {cols}, 'open', $round_id FROM x_flags
            ON CONFLICT (flag_id) DO UPDATE SET {_upsert_set("flag", (*_FLAG_COLUMNS, "round_id"))}""",
        {"round_id": round_id},
    )


def _flag_citations(cur: duckdb.DuckDBPyConnection, round_id: str) -> None:
    cur.execute(
        """INSERT INTO flag_citation
           SELECT c.flag_id, c.event_key FROM x_flag_citations c
           SEMI JOIN flag f ON f.flag_id = c.flag_id SEMI JOIN event e ON e.key = c.event_key
           ON CONFLICT DO NOTHING"""
    )
