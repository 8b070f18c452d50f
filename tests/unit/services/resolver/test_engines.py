"""Linkage engines: the same round linked on Spark and on DuckDB gives the same links.

The Spark test needs pyspark (``pip install .[spark]``) and Java 17; it is skipped without them.
"""

from __future__ import annotations

import shutil
import subprocess
import sys

import duckdb
import pytest

from silentcert.graph.errors import InvalidInput
from silentcert.services.resolver.engines import DuckDBEngine, engine_for
from silentcert.services.resolver.resolve_stage import link_round
from silentcert.services.resolver.settings import LinkageSettings

RECORDS = 3000
# Both engines score with the model's priors: EM on a different engine draws different random
# samples, so trained parameters (and links near a threshold) may legitimately differ.
PRIORS = LinkageSettings(min_training_records=10**9)
LINKS = "SELECT rid, person_id, round(match_probability, 9), method, band FROM links ORDER BY rid"


def _round_copy(small_round) -> duckdb.DuckDBPyConnection:
    source, _, _ = small_round
    registry = source.sql("SELECT * FROM registry").to_arrow_table()
    # Records without a valid ID number first: those are the ones the Splink pass scores.
    records = source.sql(f"SELECT * FROM records ORDER BY id_number IS NULL DESC, rid LIMIT {RECORDS}").to_arrow_table()
    con = duckdb.connect()
    con.register("registry_in", registry)
    con.register("records_in", records)
    con.execute("CREATE TABLE registry AS SELECT * FROM registry_in")
    con.execute("CREATE TABLE records AS SELECT * FROM records_in")
    return con


def test_importing_the_resolver_does_not_import_pyspark():
    code = "import sys, silentcert.services.resolver.resolve_stage, silentcert.services.resolver.engines; print('pyspark' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_unknown_engine_is_refused():
    with pytest.raises(InvalidInput):
        LinkageSettings(engine="hadoop")
    with pytest.raises(InvalidInput):
        engine_for("hadoop")


@pytest.mark.skipif(shutil.which("java") is None, reason="Spark needs Java 17 on PATH")
def test_spark_engine_gives_the_same_links_as_duckdb(small_round):
    pytest.importorskip("pyspark", reason="pip install .[spark]")
    from silentcert.services.resolver.engines import SparkEngine

    on_duckdb = _round_copy(small_round)
    duck_stats = link_round(on_duckdb, PRIORS, engine=DuckDBEngine(memory_limit="1GB"))
    on_spark = _round_copy(small_round)
    engine = SparkEngine(master="local[2]", shuffle_partitions=4)
    try:
        spark_stats = link_round(on_spark, PRIORS, engine=engine)
    finally:
        engine.close()
    assert duck_stats["splink"]["candidates"] > 100
    assert spark_stats["splink"]["candidates"] == duck_stats["splink"]["candidates"]
    assert on_spark.execute(LINKS).fetchall() == on_duckdb.execute(LINKS).fetchall()


def test_splink_spills_beside_the_round_database_not_in_the_working_directory(tmp_path):
    from silentcert.services.resolver.resolve_stage import _spill_directory

    round_db = duckdb.connect()
    assert _spill_directory(round_db) is None  # DuckDB's default, ./.tmp: the engine keeps its own default
    round_db.execute(f"SET temp_directory = '{tmp_path / 'spill'}'")
    assert _spill_directory(round_db) == str(tmp_path / "spill" / "linkage")
    engine = DuckDBEngine(temp_directory=_spill_directory(round_db))
    try:
        setting = engine.connection.execute("SELECT current_setting('temp_directory')").fetchall()[0][0]
        assert setting == str(tmp_path / "spill" / "linkage")
    finally:
        engine.close()


def test_splink_spills_even_when_the_round_database_has_not_yet(tmp_path):
    """A round resumed at resolve: the round database has not spilled in this run, so state/spill is not there,
    and the engine's own spill directory below it must still be usable (it failed the 8.5M resolve)."""
    spill = tmp_path / "state" / "spill" / "linkage"
    engine = DuckDBEngine(memory_limit="100MB", threads=1, temp_directory=str(spill))
    try:
        rows = engine.connection.execute(
            "SELECT count(*) FROM (SELECT i, md5(i::VARCHAR) AS h FROM range(4000000) t(i) ORDER BY h)").fetchall()
        assert rows == [(4_000_000,)]
    finally:
        engine.close()
