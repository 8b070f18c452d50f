"""Linkage engines: the objects that give Splink a database to run in.

The linkage core receives an engine object and never names a backend, so
``import services.resolver`` works without pyspark. A Spark engine fills the same two
hooks with ``splink.SparkAPI`` and a Spark DataFrame built from the Arrow table.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import duckdb
import pyarrow as pa


class LinkageEngine(ABC):
    """Builds the Splink database API and moves Arrow tables into it."""

    @abstractmethod
    def db_api(self):
        """The Splink ``DatabaseAPI`` this engine runs on (one per engine)."""

    @abstractmethod
    def register(self, table: pa.Table, name: str):
        """Register an Arrow table with the engine's db_api; returns a SplinkDataFrame."""

    def close(self) -> None:
        """Release the engine's resources; the default holds none."""


class DuckDBEngine(LinkageEngine):
    """Splink on an in-process DuckDB, separate from the round database.

    Splink writes many ``__splink__`` work tables; keeping them out of the round file
    means a killed stage leaves nothing behind. ``memory_limit`` and ``threads`` bound the
    engine on a shared machine.
    """

    def __init__(self, *, memory_limit: str | None = "2GB", threads: int | None = None):
        from splink import DuckDBAPI

        self._con = duckdb.connect()
        if memory_limit:
            self._con.execute(f"SET memory_limit = '{memory_limit}'")
        if threads:
            self._con.execute(f"SET threads = {int(threads)}")
        self._con.execute("SET preserve_insertion_order = false")
        self._api = DuckDBAPI(self._con)

    def db_api(self):
        return self._api

    def register(self, table: pa.Table, name: str):
        return self._api.register(table, dataset_display_name=name)

    @property
    def connection(self) -> duckdb.DuckDBPyConnection:
        """The engine's own DuckDB connection (for reading Splink results set-wise)."""
        return self._con

    def close(self) -> None:
        self._con.close()
