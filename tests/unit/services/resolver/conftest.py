"""Shared fixture of the normaliser tests: run normaliser SQL in DuckDB over a list of Python values."""

from collections.abc import Callable

import duckdb
import pyarrow as pa
import pytest


@pytest.fixture(scope="module")
def run_sql() -> Callable[..., list[tuple]]:
    """``run_sql(values, *exprs)``: the rows of ``SELECT exprs FROM values`` (column ``v``), in order."""
    connection = duckdb.connect()

    def run(values: list[str | None], *exprs: str) -> list[tuple]:
        table = pa.table({"i": pa.array(range(len(values)), pa.int64()), "v": pa.array(values, pa.string())})
        connection.register("raw_values", table)
        try:
            return connection.execute(f"SELECT {', '.join(exprs)} FROM raw_values ORDER BY i").fetchall()
        finally:
            connection.unregister("raw_values")

    yield run
    connection.close()
