"""The one place SQL runs on DuckDB: named statements, ``$parameters`` bound, each statement timed and logged.

Statements are module-level constants beside the code that uses them (the Cypher catalog's discipline, and Splink's
``*_sql`` builders apart from its one executor). Every value is a ``$parameter``; only identifiers may vary in the
text (a source's table, a column list from the round's settings), and they go in through :func:`with_idents`,
which takes them from the caller's allow-list and quotes them with :func:`quote_ident`. A statement that reuses
another catalog statement as a subquery takes it through :func:`compose`.

Each statement is logged at DEBUG on ``silentcert.sql`` with its name, its duration and, for statements that report
one (CREATE TABLE AS, INSERT, COPY), its row count, so ``round run -v`` shows where a round's time goes.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import duckdb
import pyarrow as pa

log = logging.getLogger("silentcert.sql")

_PARAMETER = re.compile(r"\$([A-Za-z_]\w*)")
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_TYPE = re.compile(r"[A-Z]+(\[\])?")
_SLOT = re.compile(r"\{([A-Za-z_]\w*)\}")


def quote_ident(name: str) -> str:
    """``name`` as a double-quoted SQL identifier (``db.table``: each part quoted); refuses anything but letters,
    digits and underscores in a part."""
    if not isinstance(name, str) or not all(_IDENT.fullmatch(part) for part in name.split(".")):
        raise ValueError(f"not a plain SQL identifier: {name!r} (letters, digits and _ only, not starting with a digit)")
    return ".".join(f'"{part}"' for part in name.split("."))


def with_idents(template: str, **idents: str | list[str] | tuple[str, ...] | dict[str, str]) -> str:
    """``template`` with each ``{slot}`` filled by a quoted identifier (a list: quoted and comma-separated; a dict
    of name to type, for a column list in CREATE TABLE: ``"name" TYPE`` comma-separated).

    Only the named slots are filled, so other braces (DuckDB struct literals, a regex's ``{6}``) stay as written and
    a slot left unnamed is there for :func:`compose`; a value without a slot is an error.
    """
    used: set[str] = set()

    def fill(match: re.Match[str]) -> str:
        slot = match.group(1)
        if slot not in idents:
            return match.group(0)
        used.add(slot)
        value = idents[slot]
        if isinstance(value, str):
            return quote_ident(value)
        if isinstance(value, dict):
            return ", ".join(f"{quote_ident(k)} {_type(t)}" for k, t in value.items())
        return ", ".join(quote_ident(v) for v in value)

    text = _SLOT.sub(fill, template)
    if unused := set(idents) - used:
        raise ValueError(f"identifier slots not in the statement: {sorted(unused)}")
    return text


def compose(template: str, **fragments: str) -> str:
    """``template`` with each ``{slot}`` filled by a SQL fragment that is itself a named statement of a catalog
    (a SELECT used as a subquery, as Splink chains its ``*_sql`` builders): never text made from data, which goes in
    as a ``$parameter``. Other braces stay as written; a slot without a fragment is left, a fragment without a slot
    is an error."""
    used: set[str] = set()

    def fill(match: re.Match[str]) -> str:
        slot = match.group(1)
        if slot not in fragments:
            return match.group(0)
        used.add(slot)
        return fragments[slot]

    text = _SLOT.sub(fill, template)
    if unused := set(fragments) - used:
        raise ValueError(f"fragment slots not in the statement: {sorted(unused)}")
    return text


def _type(name: str) -> str:
    if not _TYPE.fullmatch(name):
        raise ValueError(f"not a plain SQL type name: {name!r}")
    return name


def bind(sql: str, params: Mapping[str, Any] | Sequence[Any] | None) -> dict[str, Any] | list[Any]:
    """The subset of ``params`` the statement names as ``$parameters`` (DuckDB refuses unused ones); positional
    values for ``?`` placeholders pass as they are."""
    if not params:
        return {}
    if not isinstance(params, Mapping):
        return list(params)
    names = set(_PARAMETER.findall(sql))
    return {k: v for k, v in params.items() if k in names}


def run(con: duckdb.DuckDBPyConnection, name: str, sql: str,
        params: Mapping[str, Any] | Sequence[Any] | None = None) -> duckdb.DuckDBPyConnection:
    """Execute the statement ``name`` with the ``$parameters`` it uses from ``params``; returns the cursor.

    The row count is logged for statements whose result is DuckDB's ``Count`` row (CREATE TABLE AS, INSERT, COPY):
    it is read for the log and handed on to the caller, who may read it too. A SELECT is logged with its duration
    and read by the caller (or use :func:`fetchall`).
    """
    start = time.perf_counter()
    cur = con.execute(sql, bind(sql, params))
    if not log.isEnabledFor(logging.DEBUG):
        return cur
    if cur.description is not None and [d[0] for d in cur.description] == ["Count"]:
        counted = cur.fetchall()
        log.debug("sql %s: %.3fs, %s rows", name, time.perf_counter() - start, counted[0][0] if counted else 0)
        return _Counted(cur, counted)  # type: ignore[return-value]
    log.debug("sql %s: %.3fs", name, time.perf_counter() - start)
    return cur


class _Counted:
    """A cursor whose Count row was read for the log: it answers fetchall/fetchone with that row."""

    def __init__(self, cur: duckdb.DuckDBPyConnection, rows: list[tuple[Any, ...]]):
        self._cur, self._rows = cur, rows

    def fetchall(self) -> list[tuple[Any, ...]]:
        rows, self._rows = self._rows, []
        return rows

    def fetchone(self) -> tuple[Any, ...] | None:
        return self._rows.pop(0) if self._rows else None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._cur, name)


def run_many(con: duckdb.DuckDBPyConnection, name: str, sql: str, rows: list[Any]) -> None:
    """Execute the statement ``name`` once per row of positional ``?`` values (an INSERT of rows built in Python)."""
    start = time.perf_counter()
    con.executemany(sql, rows)
    log.debug("sql %s: %.3fs, %d rows", name, time.perf_counter() - start, len(rows))


def arrow(con: duckdb.DuckDBPyConnection, name: str, sql: str,
          params: Mapping[str, Any] | Sequence[Any] | None = None) -> pa.Table:
    """Every row of the query ``name`` as one arrow table (read from a relation: no extra copy of the rows)."""
    start = time.perf_counter()
    table = con.sql(sql, params=bind(sql, params) or None).to_arrow_table()
    log.debug("sql %s: %.3fs, %d rows", name, time.perf_counter() - start, table.num_rows)
    return table


def reader(con: duckdb.DuckDBPyConnection, name: str, sql: str, batch_rows: int,
           params: Mapping[str, Any] | None = None) -> pa.RecordBatchReader:
    """The rows of the query ``name`` streamed in record batches of at most ``batch_rows`` (logged when it starts:
    its time is spent by whoever reads the batches)."""
    log.debug("sql %s: streamed", name)
    return con.sql(sql, params=bind(sql, params) or None).to_arrow_reader(batch_rows)


def fetchall(con: duckdb.DuckDBPyConnection, name: str, sql: str,
             params: Mapping[str, Any] | Sequence[Any] | None = None) -> list[tuple[Any, ...]]:
    """Every row of the query ``name``; logged with its duration and row count."""
    start = time.perf_counter()
    rows = con.execute(sql, bind(sql, params)).fetchall()
    log.debug("sql %s: %.3fs, %d rows", name, time.perf_counter() - start, len(rows))
    return rows


def fetchone(con: duckdb.DuckDBPyConnection, name: str, sql: str,
             params: Mapping[str, Any] | Sequence[Any] | None = None) -> tuple[Any, ...] | None:
    """The first row of the query ``name`` (None when it has none); meant for one-row queries, whose result it reads
    to the end (a result left half read blocks the connection's next relation)."""
    rows = fetchall(con, name, sql, params)
    return rows[0] if rows else None


def one(con: duckdb.DuckDBPyConnection, name: str, sql: str,
        params: Mapping[str, Any] | Sequence[Any] | None = None) -> tuple[Any, ...]:
    """The row of the query ``name``, which always has one (an aggregate without GROUP BY, a one-row table); a
    query that returns none is a fault of the statement or of the stage that should have filled its table, and
    raises LookupError naming the statement."""
    row = fetchone(con, name, sql, params)
    if row is None:
        raise LookupError(f"sql {name}: no row, where the statement always returns one")
    return row


def scalar(con: duckdb.DuckDBPyConnection, name: str, sql: str, params: Mapping[str, Any] | Sequence[Any] | None = None) -> Any:
    """The first column of the row of the query ``name``, which always has one (:func:`one`: LookupError if not)."""
    return one(con, name, sql, params)[0]


_HAS_TABLE = """
SELECT count(*) FROM duckdb_tables() WHERE table_name = $name AND ($temporary OR NOT temporary)"""


def has_table(con: duckdb.DuckDBPyConnection, table: str, *, temporary: bool = True) -> bool:
    """Whether the connection sees a table named `table` (with ``temporary=False``: a persistent one; a stage
    that loads an optional input as a table asks so, when a TEMP table of the same name may exist)."""
    return bool(scalar(con, "has_table", _HAS_TABLE, {"name": table, "temporary": temporary}))


_SET_MEMORY_LIMIT = "SET memory_limit = $limit"


def set_memory_limit(con: duckdb.DuckDBPyConnection, name: str, limit: str) -> None:
    """Bound `con`'s buffer pool to `limit` (a size settings.memory_size accepted); lowering it evicts down to it."""
    run(con, name, _SET_MEMORY_LIMIT, {"limit": limit})


@contextmanager
def memory_limit(con: duckdb.DuckDBPyConnection, name: str, limit: str, *, restore: str) -> Iterator[None]:
    """`con` bounded to `limit` while the block runs (DuckDB evicts its cached blocks down to it), then to `restore`:
    how a round gives another DuckDB of the process its share of the memory."""
    set_memory_limit(con, name, limit)
    try:
        yield
    finally:
        set_memory_limit(con, f"{name}_restored", restore)
