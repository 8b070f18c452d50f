"""Shared fixtures: a DuckDB connection that runs normaliser SQL over a list of Python values."""

from collections.abc import Callable

import duckdb
import pyarrow as pa
import pytest


@pytest.fixture(scope="module")
def con():
    connection = duckdb.connect()
    yield connection
    connection.close()


@pytest.fixture(scope="module")
def run_sql(con) -> Callable[..., list[tuple]]:
    """``run_sql(values, *exprs)``: the rows of ``SELECT exprs FROM values`` (column ``v``), in order."""

    def run(values: list[str | None], *exprs: str) -> list[tuple]:
        table = pa.table({"i": pa.array(range(len(values)), pa.int64()), "v": pa.array(values, pa.string())})
        con.register("raw_values", table)
        try:
            return con.execute(f"SELECT {', '.join(exprs)} FROM raw_values ORDER BY i").fetchall()
        finally:
            con.unregister("raw_values")

    return run
