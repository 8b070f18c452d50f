"""Linkage engines: the objects that give Splink a database to run in.

The linkage core receives an engine object and never names a backend, so
``import services.resolver`` works without pyspark. A Spark engine fills the same two
hooks with ``splink.SparkAPI`` and a Spark DataFrame built from the Arrow table.
"""

from __future__ import annotations

import tempfile
from abc import ABC, abstractmethod
from pathlib import Path

import duckdb
import pyarrow as pa

from silentcert.graph import sql
from silentcert.graph.errors import InvalidInput


class LinkageEngine(ABC):
    """Builds the Splink database API and moves Arrow tables into it."""

    @abstractmethod
    def db_api(self):
        """The Splink ``DatabaseAPI`` this engine runs on (one per engine)."""

    @abstractmethod
    def register(self, table: pa.Table, name: str):
        """Register an Arrow table with the engine's db_api; returns a SplinkDataFrame."""

    def close(self) -> None:  # noqa: B027 -- optional hook: an engine without resources keeps this no-op
        """Release the engine's resources; the default holds none."""


_NO_INSERTION_ORDER = "SET preserve_insertion_order = false"
_SPILL = "SET temp_directory = $spill"
_THREADS = "SET threads = $threads"
_ALLOWED_DIRECTORIES = "SET allowed_directories = $spill"
_NO_EXTERNAL_ACCESS = "SET enable_external_access = false"


class DuckDBEngine(LinkageEngine):
    """Splink on an in-process DuckDB, separate from the round database.

    Splink writes many ``__splink__`` work tables; keeping them out of the round file
    means a killed stage leaves nothing behind. ``memory_limit`` and ``threads`` bound the
    engine on a shared machine. With a ``temp_directory`` the connection may touch no other file:
    a saved model's comparison levels are SQL, and a round may name a model file.
    """

    def __init__(self, *, memory_limit: str | None = "2GB", threads: int | None = None,
                 temp_directory: str | None = None):
        from splink import DuckDBAPI  # lazy: importing Splink takes seconds; only a linker needs it

        self._con = duckdb.connect()
        if temp_directory:  # else DuckDB spills to ./.tmp, wherever the process was started
            # DuckDB makes the spill directory itself (and removes it when done) but not its parents: a round
            # resumed at resolve has no state/spill until its own database spills, and Splink spilling first
            # failed the stage with "Failed to create directory".
            Path(temp_directory).parent.mkdir(parents=True, exist_ok=True)
            sql.run(self._con, "spill", _SPILL, {"spill": temp_directory})
        if memory_limit:
            sql.set_memory_limit(self._con, "memory_limit", memory_limit)
        if threads:
            sql.run(self._con, "threads", _THREADS, {"threads": int(threads)})
        sql.run(self._con, "no_insertion_order", _NO_INSERTION_ORDER)
        if temp_directory:
            sql.run(self._con, "allowed_directories", _ALLOWED_DIRECTORIES, {"spill": [temp_directory.rstrip("/") + "/"]})
            sql.run(self._con, "no_external_access", _NO_EXTERNAL_ACCESS)
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


class SparkEngine(LinkageEngine):
    """Splink on Spark (``splink.SparkAPI``): ``local[*]`` on one machine, a cluster URL on many.

    pyspark is imported here and only here, so the rest of the resolver runs without it. The
    Splink similarity jar (Jaro–Winkler and friends as Spark UDFs) is put on ``spark.jars``.
    ``checkpoint_dir`` is where Splink breaks long lineages; a temporary directory by default.
    """

    def __init__(self, *, master: str = "local[*]", driver_memory: str = "2g", shuffle_partitions: int = 8,
                 checkpoint_dir: str | None = None, app_name: str = "silentcert-linkage"):
        # lazy: pyspark is the optional [spark] extra; `import services.resolver` works without it
        from pyspark.sql import SparkSession
        from splink import SparkAPI
        from splink.backends.spark import similarity_jar_location

        self._tmp = None if checkpoint_dir else tempfile.TemporaryDirectory(prefix="silentcert-spark-")
        self._spark = (
            SparkSession.builder.master(master).appName(app_name)
            .config("spark.jars", similarity_jar_location())
            .config("spark.driver.memory", driver_memory)
            .config("spark.sql.shuffle.partitions", str(shuffle_partitions))
            .config("spark.default.parallelism", str(shuffle_partitions))
            .config("spark.ui.enabled", "false")
            .getOrCreate()
        )
        self._spark.sparkContext.setCheckpointDir(self._tmp.name if self._tmp is not None else str(checkpoint_dir))
        self._api = SparkAPI(spark_session=self._spark, num_partitions_on_repartition=shuffle_partitions)

    def db_api(self):
        return self._api

    def register(self, table: pa.Table, name: str):
        return self._api.register(self._spark.createDataFrame(table), dataset_display_name=name)

    def close(self) -> None:
        self._spark.stop()
        if self._tmp is not None:
            self._tmp.cleanup()


def engine_for(name: str, *, spark_master: str = "local[*]", memory_limit: str | None = "2GB",
               temp_directory: str | None = None) -> LinkageEngine:
    """The engine a round's ``[linkage] engine`` names: ``duckdb`` (default) or ``spark``."""
    if name == "duckdb":
        return DuckDBEngine(memory_limit=memory_limit, temp_directory=temp_directory)
    if name == "spark":
        return SparkEngine(master=spark_master)
    raise InvalidInput(f"unknown linkage engine {name!r}: choose duckdb or spark", field="engine")
