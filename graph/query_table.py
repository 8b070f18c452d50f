"""An export table that is a query over a DuckDB database, read in record batches.

A province round's events table is ~10M rows; materialised as one arrow table it costs gigabytes before a store has
written a row. A :class:`QueryTable` holds only the query: each scan runs it again on a cursor of its own and yields
record batches, so a store reads it as often as it needs while memory stays bounded by the batch size (and by the
source connection's ``memory_limit``).

It offers the part of ``pyarrow.Table`` a :class:`graph.store.RoundExport` table must offer (``num_rows``,
``column_names``, ``to_batches``) and :meth:`scalar` for checks a store makes with SQL instead of reading every row.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import duckdb
import pyarrow as pa

from silentcert.graph import sql

DEFAULT_BATCH_ROWS = 131_072

# {query}: the table's own query (a named statement of its catalog, graph/exports or services/rounds/export_queries);
# {aggregate}: one aggregate expression of graph.exports' checks
_COLUMNS = "SELECT * FROM ({query}) LIMIT 0"
_SCALAR = "SELECT {aggregate} FROM ({query})"


class QueryTable:
    """The rows of `sql` on `con`, scanned anew each time they are read. The connection must outlive the table."""

    def __init__(self, con: duckdb.DuckDBPyConnection, sql: str):
        self._con = con
        self.sql = sql
        self._num_rows: int | None = None
        self._column_names: list[str] | None = None

    @property
    def num_rows(self) -> int:
        if self._num_rows is None:
            self._num_rows = int(self.scalar("count(*)"))
        return self._num_rows

    @property
    def column_names(self) -> list[str]:
        if self._column_names is None:
            with self._con.cursor() as cur:
                described = sql.run(cur, "query_table_columns", sql.compose(_COLUMNS, query=self.sql))
                self._column_names = [d[0] for d in described.description]
        return self._column_names

    def scalar(self, select: str) -> Any:
        """One value computed over the rows, e.g. ``scalar("count(DISTINCT key)")``."""
        with self._con.cursor() as cur:
            return sql.scalar(cur, "query_table_scalar", sql.compose(_SCALAR, aggregate=select, query=self.sql))

    def to_batches(self, max_chunksize: int | None = None) -> Iterator[pa.RecordBatch]:
        """The rows in record batches of at most `max_chunksize` rows, streamed from a cursor of their own."""
        cur = self._con.cursor()
        try:
            yield from sql.reader(cur, "query_table_batches", self.sql, max_chunksize or DEFAULT_BATCH_ROWS)
        finally:
            cur.close()

    def __repr__(self) -> str:
        return f"QueryTable({' '.join(self.sql.split())[:80]!r})"
