"""Publishing one round into the embedded store's tables, set-wise.

Each export table is read once, as a stream of conformed record batches, into a temporary table of the store's
connection (DuckDB holds it under the connection's ``memory_limit`` and spills the rest to its temp directory), and
its keys are checked there in SQL; a round's ~10M evidence rows are never an arrow table in memory. Each step is then
one or two set-wise statements (no per-row Python); the caller wraps all of them in one transaction. The rules
mirror the Neo4j MERGE statements in graph/queries/publish_*.cypher: edges only to pensioners that exist, a decided
flag keeps its status, a record resolves to at most one person.

Indexes cost: DuckDB keeps every ART index in memory (it cannot spill one) and writes it at commit, and a 10M-row
string index is gigabytes. So the big tables (event, identifier, holds, verdict) carry no primary key, only the
single-column lookup indexes the reads use, and are merged without one: plain columns are updated where they
differ, rows with new keys inserted through an anti-join (:func:`_merge`). Into an empty table (a province's first
publish) rows go in with a plain INSERT.

DuckDB rewrites a row whose indexed column an update sets (delete + insert in every index), which is a hundred times
slower than setting plain columns. So no bulk update sets an indexed column (pensioner.id_number,
event.person_id); a second UPDATE touches only the rows whose indexed value really changed, and unchanged rows
are not rewritten at all.
"""

from __future__ import annotations

import contextlib
import functools
from typing import Any

import duckdb

from graph import exports
from graph.store import EXPORT_COLUMNS, ExportTable, Progress, RoundExport

_BATCH_ROWS = 65_536

_PENSIONER_COLUMNS = EXPORT_COLUMNS["pensioners"]
_PENSIONER_PLAIN = tuple(c for c in _PENSIONER_COLUMNS if c not in ("person_id", "id_number"))
_VERDICT_COLUMNS = ("status", "method", "source", "evidence_at", "probability", "certified_until", "period_state")
_EVENT_PLAIN = ("source", "kind", "record_id", "occurred_at", "id_number", "phone", "card_no", "passed")
_EVENT_PERSON = "x_events x LEFT JOIN pensioner p ON p.person_id = x.person_id"  # who each record resolves to
_FLAG_COLUMNS = ("person_id", "kind", "severity", "detail", "overpayment", "ring_id", "county_code")


def publish(cur: duckdb.DuckDBPyConnection, export: RoundExport, progress: Progress | None) -> dict[str, int]:
    """Write the round inside the caller's transaction; returns the rows read per export table."""
    tables = {name: getattr(export, name) for name in EXPORT_COLUMNS}
    for name, table in tables.items():
        exports.check_columns(name, table)
    written = {name: _stage(cur, name, table) for name, table in tables.items()}
    for name in tables:
        exports.check_rows(name, functools.partial(_staged_scalar, cur, name))
    cur.execute("INSERT INTO round VALUES (?, ?, now()) ON CONFLICT (round_id) DO UPDATE SET as_of = excluded.as_of",
                [export.round_id, export.as_of])
    steps = (("pensioners", _pensioners), ("identifiers", _identifiers), ("events", _events),
             ("flags", _flags), ("flag_citations", _flag_citations))
    for name, step in steps:
        step(cur, export.round_id)
        if progress:
            progress(name, written[name])
    for name in tables:
        cur.execute(f"DROP TABLE x_{name}")
    return written


def _stage(cur: duckdb.DuckDBPyConnection, name: str, table: ExportTable) -> int:
    """Stream one export table into the temporary table x_<name>; returns its rows."""
    cur.register("x_stream", exports.reader(name, table, _BATCH_ROWS))
    try:
        cur.execute(f"CREATE OR REPLACE TEMP TABLE x_{name} AS SELECT * FROM x_stream")
    except duckdb.Error:
        with contextlib.suppress(duckdb.Error):  # an aborted transaction refuses it; raise what aborted it
            cur.unregister("x_stream")
        raise
    cur.unregister("x_stream")
    return int(cur.execute(f"SELECT count(*) FROM x_{name}").fetchall()[0][0])


def empty(cur: duckdb.DuckDBPyConnection, table: str) -> bool:
    return not cur.execute(f"SELECT 1 FROM {table} LIMIT 1").fetchall()


def _upsert_set(table: str, columns: tuple[str, ...]) -> str:
    """SET every column from the new row, only where something differs (a republish rewrites nothing)."""
    sets = ", ".join(f"{c} = excluded.{c}" for c in columns)
    changed = " OR ".join(f"{table}.{c} IS DISTINCT FROM excluded.{c}" for c in columns)
    return f"{sets} WHERE {changed}"


def _merge(cur: duckdb.DuckDBPyConnection, table: str, rows: str, keys: tuple[str, ...], plain: tuple[str, ...],
           params: dict[str, object] | None = None) -> None:
    """Merge the rows of the query `rows` into `table` by `keys`, with or without a constraint on them: `plain`
    columns set where they differ (never an indexed column), rows with new keys inserted."""
    if empty(cur, table):
        cur.execute(f"INSERT INTO {table} BY NAME {rows}", params)
        return
    if plain:
        sets = ", ".join(f"{c} = n.{c}" for c in plain)
        changed = " OR ".join(f"{table}.{c} IS DISTINCT FROM n.{c}" for c in plain)
        on = " AND ".join(f"{table}.{k} = n.{k}" for k in keys)
        cur.execute(f"UPDATE {table} SET {sets} FROM ({rows}) n WHERE {on} AND ({changed})", params)
    on = " AND ".join(f"t.{k} = n.{k}" for k in keys)
    cur.execute(f"INSERT INTO {table} BY NAME SELECT n.* FROM ({rows}) n ANTI JOIN {table} t ON {on}", params)


def _update_indexed(cur: duckdb.DuckDBPyConnection, table: str, column: str, source: str, key: str) -> None:
    """Set one indexed column from `source` on just the rows where it changed."""
    cur.execute(
        f"""UPDATE {table} SET {column} = s.{column} FROM {source} s
            WHERE {table}.{key} = s.{key} AND {table}.{column} IS DISTINCT FROM s.{column}"""
    )


def _pensioners(cur: duckdb.DuckDBPyConnection, round_id: str) -> None:
    cols = ", ".join(_PENSIONER_COLUMNS)
    first = empty(cur, "pensioner")
    upsert = f"ON CONFLICT (person_id) DO UPDATE SET {_upsert_set('pensioner', (*_PENSIONER_PLAIN, 'round_id'))}"
    cur.execute(
        f"""INSERT INTO pensioner ({cols}, round_id) SELECT {cols}, $round_id FROM x_pensioners
            {"" if first else upsert}""",
        {"round_id": round_id},
    )
    if not first:
        _update_indexed(cur, "pensioner", "id_number", "x_pensioners", "person_id")
    verdict = ", ".join(_VERDICT_COLUMNS)
    _merge(cur, "verdict", f"SELECT person_id, $round_id AS round_id, {verdict} FROM x_pensioners",
           ("person_id", "round_id"), _VERDICT_COLUMNS, {"round_id": round_id})


def _identifiers(cur: duckdb.DuckDBPyConnection, round_id: str) -> None:
    held = "SELECT x.* FROM x_identifiers x SEMI JOIN pensioner p ON p.person_id = x.person_id"
    _merge(cur, "identifier",
           f"SELECT kind, value, bool_or(coalesce(shared, false)) AS shared FROM ({held}) GROUP BY ALL",
           ("kind", "value"), ("shared",))
    _merge(cur, "holds",
           f"SELECT person_id, kind, value, origin, coalesce(shared, false) AS shared FROM ({held})",
           ("person_id", "kind", "value"), ("origin", "shared"))


def _events(cur: duckdb.DuckDBPyConnection, round_id: str) -> None:
    resolved = f"""
        SELECT x.key, CASE WHEN x.kind = 'death' THEN 'DeathRecord' ELSE 'Event' END AS label,
               {", ".join(f"x.{c}" for c in _EVENT_PLAIN)}, p.person_id,
               CASE WHEN p.person_id IS NOT NULL THEN x.match_probability END AS probability,
               CASE WHEN p.person_id IS NOT NULL THEN x.method END AS method,
               CASE WHEN p.person_id IS NOT NULL THEN $round_id END AS round_id
        FROM {_EVENT_PERSON}"""
    if not empty(cur, "event"):  # who a record resolves to: set on just the rows where it changed
        cur.execute(
            f"""UPDATE event SET person_id = n.person_id FROM (SELECT x.key, p.person_id FROM {_EVENT_PERSON}) n
                WHERE event.key = n.key AND event.person_id IS DISTINCT FROM n.person_id"""
        )
    _merge(cur, "event", resolved, ("key",), ("label", *_EVENT_PLAIN, "probability", "method", "round_id"),
           {"round_id": round_id})
    observed = """SELECT 'id_number' AS kind, id_number AS value, false AS shared FROM x_events
                  WHERE id_number IS NOT NULL
                  UNION SELECT 'phone', phone, false FROM x_events WHERE phone IS NOT NULL
                  UNION SELECT 'card', card_no, false FROM x_events WHERE card_no IS NOT NULL"""
    _merge(cur, "identifier", observed, ("kind", "value"), ())


def _flags(cur: duckdb.DuckDBPyConnection, round_id: str) -> None:
    cols = ", ".join(_FLAG_COLUMNS)
    cur.execute(
        f"""INSERT INTO flag (flag_id, {cols}, status, round_id)
            SELECT flag_id, {cols}, 'open', $round_id FROM x_flags
            {"" if empty(cur, "flag") else
             f"ON CONFLICT (flag_id) DO UPDATE SET {_upsert_set('flag', (*_FLAG_COLUMNS, 'round_id'))}"}""",
        {"round_id": round_id},
    )


def _flag_citations(cur: duckdb.DuckDBPyConnection, round_id: str) -> None:
    _merge(cur, "flag_citation",
           """SELECT c.flag_id, c.event_key FROM x_flag_citations c
              SEMI JOIN flag f ON f.flag_id = c.flag_id SEMI JOIN event e ON e.key = c.event_key""",
           ("flag_id", "event_key"), ())


def _staged_scalar(cur: duckdb.DuckDBPyConnection, name: str, select: str) -> Any:
    """One aggregate `select` over the staged copy of export table `name` (exports.check_rows)."""
    return cur.execute(f"SELECT {select} FROM x_{name}").fetchall()[0][0]
