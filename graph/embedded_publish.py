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

import duckdb

from silentcert.graph import exports, sql
from silentcert.graph.store import EXPORT_COLUMNS, ExportTable, Progress, RoundExport

_BATCH_ROWS = 65_536

_PENSIONER_COLUMNS = EXPORT_COLUMNS["pensioners"]
_PENSIONER_PLAIN = tuple(c for c in _PENSIONER_COLUMNS if c not in ("person_id", "id_number"))
_VERDICT_COLUMNS = ("status", "method", "source", "evidence_at", "probability", "certified_until", "period_state")
_EVENT_PLAIN = ("source", "kind", "record_id", "occurred_at", "id_number", "phone", "card_no", "passed")
_FLAG_COLUMNS = ("person_id", "kind", "severity", "detail", "overpayment", "ring_id", "county_code")

# The statements. {table}, {columns} and the like are identifiers (graph.sql.with_idents); {rows} is one of the
# row queries below and {sets}, {on}, {changed} lists of quoted columns (_assign, _equal, _differs), put in by
# graph.sql.compose.
_STAGE = "CREATE OR REPLACE TEMP TABLE {table} AS SELECT * FROM export_stream"
_COUNT = "SELECT count(*) FROM {table}"
_ANY_ROW = "SELECT 1 FROM {table} LIMIT 1"
_CHECK = "SELECT {aggregate} FROM {table}"
_DROP = "DROP TABLE {table}"
_ROUND = "INSERT INTO round VALUES ($round_id, $as_of, now()) ON CONFLICT (round_id) DO UPDATE SET as_of = excluded.as_of"
_INSERT_ALL = "INSERT INTO {table} BY NAME {rows}"
_UPDATE_CHANGED = "UPDATE {table} SET {sets} FROM ({rows}) n WHERE {on} AND ({changed})"
_INSERT_NEW = "INSERT INTO {table} BY NAME SELECT n.* FROM ({rows}) n ANTI JOIN {table} t ON {on}"
_UPDATE_INDEXED = """
UPDATE {table} SET {column} = s.{column} FROM {source} s
WHERE {table}.{key} = s.{key} AND {table}.{column} IS DISTINCT FROM s.{column}
"""
_PENSIONERS = "INSERT INTO pensioner ({columns}, round_id) SELECT {columns}, $round_id FROM staged_pensioners"
_PENSIONERS_UPSERT = """
INSERT INTO pensioner ({columns}, round_id) SELECT {columns}, $round_id FROM staged_pensioners
ON CONFLICT (person_id) DO UPDATE SET {sets} WHERE {changed}
"""
_VERDICT_ROWS = "SELECT person_id, $round_id AS round_id, {columns} FROM staged_pensioners"
_HELD_IDENTIFIERS = """
SELECT kind, value, bool_or(coalesce(shared, false)) AS shared FROM (
    SELECT x.* FROM staged_identifiers x SEMI JOIN pensioner p ON p.person_id = x.person_id) GROUP BY ALL
"""
_HOLDS = """
SELECT person_id, kind, value, origin, coalesce(shared, false) AS shared FROM (
    SELECT x.* FROM staged_identifiers x SEMI JOIN pensioner p ON p.person_id = x.person_id)
"""
# who each record resolves to: the staged events (x, its plain columns _EVENT_PLAIN) joined to the pensioners
_RESOLVED_EVENTS = """
SELECT x.key, CASE WHEN x.kind = 'death' THEN 'DeathRecord' ELSE 'Event' END AS label,
       x.source, x.kind, x.record_id, x.occurred_at, x.id_number, x.phone, x.card_no, x.passed, p.person_id,
       CASE WHEN p.person_id IS NOT NULL THEN x.match_probability END AS probability,
       CASE WHEN p.person_id IS NOT NULL THEN x.method END AS method,
       CASE WHEN p.person_id IS NOT NULL THEN $round_id END AS round_id
FROM staged_events x LEFT JOIN pensioner p ON p.person_id = x.person_id
"""
_RESOLVE_CHANGED = """
UPDATE event SET person_id = n.person_id
FROM (SELECT x.key, p.person_id FROM staged_events x LEFT JOIN pensioner p ON p.person_id = x.person_id) n
WHERE event.key = n.key AND event.person_id IS DISTINCT FROM n.person_id
"""
_OBSERVED = """
SELECT 'id_number' AS kind, id_number AS value, false AS shared FROM staged_events WHERE id_number IS NOT NULL
UNION SELECT 'phone', phone, false FROM staged_events WHERE phone IS NOT NULL
UNION SELECT 'card', card_no, false FROM staged_events WHERE card_no IS NOT NULL
"""
_FLAGS = """
INSERT INTO flag (flag_id, {columns}, status, round_id) SELECT flag_id, {columns}, 'open', $round_id FROM staged_flags
"""
_FLAGS_UPSERT = """
INSERT INTO flag (flag_id, {columns}, status, round_id) SELECT flag_id, {columns}, 'open', $round_id FROM staged_flags
ON CONFLICT (flag_id) DO UPDATE SET {sets} WHERE {changed}
"""
_CITATIONS = """
SELECT c.flag_id, c.event_key FROM staged_flag_citations c
SEMI JOIN flag f ON f.flag_id = c.flag_id SEMI JOIN event e ON e.key = c.event_key
"""


def publish(cur: duckdb.DuckDBPyConnection, export: RoundExport, progress: Progress | None) -> dict[str, int]:
    """Write the round inside the caller's transaction; returns the rows read per export table."""
    tables = {name: getattr(export, name) for name in EXPORT_COLUMNS}
    for name, table in tables.items():
        exports.check_columns(name, table)
    written = {name: _stage(cur, name, table) for name, table in tables.items()}
    export.on_staged()
    for name in tables:
        exports.check_rows(name, functools.partial(_check, cur, name))
    sql.run(cur, "publish_round", _ROUND, {"round_id": export.round_id, "as_of": export.as_of})
    steps = (("pensioners", _pensioners), ("identifiers", _identifiers), ("events", _events),
             ("flags", _flags), ("flag_citations", _flag_citations))
    for name, step in steps:
        step(cur, export.round_id)
        # each staged table is read by its own step only: its memory back before the next, bigger one
        sql.run(cur, "publish_drop_staged", sql.with_idents(_DROP, table=f"staged_{name}"))
        if progress:
            progress(name, written[name])
    return written


def _check(cur: duckdb.DuckDBPyConnection, name: str, aggregate: str) -> object:
    """One aggregate of graph.exports' row checks over staged_<name>."""
    statement = sql.compose(sql.with_idents(_CHECK, table=f"staged_{name}"), aggregate=aggregate)
    return sql.scalar(cur, f"publish_check_{name}", statement)


def _stage(cur: duckdb.DuckDBPyConnection, name: str, table: ExportTable) -> int:
    """Stream one export table into the temporary table staged_<name>; returns its rows."""
    cur.register("export_stream", exports.reader(name, table, _BATCH_ROWS))
    try:
        sql.run(cur, f"publish_stage_{name}", sql.with_idents(_STAGE, table=f"staged_{name}"))
    except duckdb.Error:
        with contextlib.suppress(duckdb.Error):  # an aborted transaction refuses it; raise what aborted it
            cur.unregister("export_stream")
        raise
    cur.unregister("export_stream")
    return int(sql.scalar(cur, f"publish_staged_{name}", sql.with_idents(_COUNT, table=f"staged_{name}")))


def empty(cur: duckdb.DuckDBPyConnection, table: str) -> bool:
    return not sql.fetchall(cur, f"empty_{table}", sql.with_idents(_ANY_ROW, table=table))


def _assign(source: str, columns: tuple[str, ...]) -> str:
    """``"c" = source."c"`` for each column (quoted by graph.sql.quote_ident)."""
    q = sql.quote_ident
    return ", ".join(f"{q(c)} = {source}.{q(c)}" for c in columns)


def _equal(left: str, right: str, columns: tuple[str, ...]) -> str:
    q = sql.quote_ident
    return " AND ".join(f"{left}.{q(c)} = {right}.{q(c)}" for c in columns)


def _differs(left: str, right: str, columns: tuple[str, ...]) -> str:
    q = sql.quote_ident
    return " OR ".join(f"{left}.{q(c)} IS DISTINCT FROM {right}.{q(c)}" for c in columns)


def _merge(cur: duckdb.DuckDBPyConnection, table: str, rows: str, keys: tuple[str, ...], plain: tuple[str, ...],
           params: dict[str, object] | None = None) -> None:
    """Merge the rows of the query `rows` into `table` by `keys`, with or without a constraint on them: `plain`
    columns set where they differ (never an indexed column), rows with new keys inserted."""
    target = sql.quote_ident(table)
    if empty(cur, table):
        sql.run(cur, f"publish_{table}", sql.compose(sql.with_idents(_INSERT_ALL, table=table), rows=rows), params)
        return
    if plain:
        update = sql.compose(sql.with_idents(_UPDATE_CHANGED, table=table), rows=rows, sets=_assign("n", plain),
                             on=_equal(target, "n", keys), changed=_differs(target, "n", plain))
        sql.run(cur, f"publish_{table}_changed", update, params)
    insert = sql.compose(sql.with_idents(_INSERT_NEW, table=table), rows=rows, on=_equal("t", "n", keys))
    sql.run(cur, f"publish_{table}_new", insert, params)


def _update_indexed(cur: duckdb.DuckDBPyConnection, table: str, column: str, source: str, key: str) -> None:
    """Set one indexed column from `source` on just the rows where it changed."""
    sql.run(cur, f"publish_{table}_{column}",
            sql.with_idents(_UPDATE_INDEXED, table=table, column=column, source=source, key=key))


def _pensioners(cur: duckdb.DuckDBPyConnection, round_id: str) -> None:
    first = empty(cur, "pensioner")
    if first:
        statement = sql.with_idents(_PENSIONERS, columns=_PENSIONER_COLUMNS)
    else:
        plain = (*_PENSIONER_PLAIN, "round_id")
        statement = sql.compose(sql.with_idents(_PENSIONERS_UPSERT, columns=_PENSIONER_COLUMNS),
                                sets=_assign("excluded", plain), changed=_differs('"pensioner"', "excluded", plain))
    sql.run(cur, "publish_pensioners", statement, {"round_id": round_id})
    if not first:
        _update_indexed(cur, "pensioner", "id_number", "staged_pensioners", "person_id")
    _merge(cur, "verdict", sql.with_idents(_VERDICT_ROWS, columns=_VERDICT_COLUMNS),
           ("person_id", "round_id"), _VERDICT_COLUMNS, {"round_id": round_id})


def _identifiers(cur: duckdb.DuckDBPyConnection, round_id: str) -> None:
    _merge(cur, "identifier", _HELD_IDENTIFIERS, ("kind", "value"), ("shared",))
    _merge(cur, "holds", _HOLDS, ("person_id", "kind", "value"), ("origin", "shared"))


def _events(cur: duckdb.DuckDBPyConnection, round_id: str) -> None:
    if not empty(cur, "event"):  # who a record resolves to: set on just the rows where it changed
        sql.run(cur, "publish_event_resolved", _RESOLVE_CHANGED)
    _merge(cur, "event", _RESOLVED_EVENTS, ("key",), ("label", *_EVENT_PLAIN, "probability", "method", "round_id"),
           {"round_id": round_id})
    _merge(cur, "identifier", _OBSERVED, ("kind", "value"), ())


def _flags(cur: duckdb.DuckDBPyConnection, round_id: str) -> None:
    if empty(cur, "flag"):
        statement = sql.with_idents(_FLAGS, columns=_FLAG_COLUMNS)
    else:
        plain = (*_FLAG_COLUMNS, "round_id")
        statement = sql.compose(sql.with_idents(_FLAGS_UPSERT, columns=_FLAG_COLUMNS),
                                sets=_assign("excluded", plain), changed=_differs('"flag"', "excluded", plain))
    sql.run(cur, "publish_flags", statement, {"round_id": round_id})


def _flag_citations(cur: duckdb.DuckDBPyConnection, round_id: str) -> None:
    _merge(cur, "flag_citation", _CITATIONS, ("flag_id", "event_key"), ())
