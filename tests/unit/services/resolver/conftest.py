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


@pytest.fixture(scope="session")
def small_round(tmp_path_factory):
    """A synthetic county (1,500 pensioners) ingested and linked on DuckDB, its model trained and saved.

    Yields ``(con, spec, model_path)``; the round database holds ``registry``, ``records`` and ``links``.
    """
    import datetime as dt

    from silentcert.services.resolver.ingest_stage import ingest_round
    from silentcert.services.resolver.resolve_stage import link_round
    from silentcert.services.resolver.settings import LinkageSettings
    from silentcert.services.rounds.progress import silent_progress
    from silentcert.services.rounds.roundfile import load_round
    from silentcert.synthetic.province import generate

    root = tmp_path_factory.mktemp("small_round")
    generate(1500, 11, dt.date(2021, 10, 31), root / "round")
    spec = load_round(root / "round" / "round.toml")
    con = duckdb.connect(str(root / "round.duckdb"))
    ingest_round(con, spec, silent_progress)
    model_path = root / "linkage_model.json"
    stats = link_round(con, LinkageSettings(save_model_path=model_path))
    assert stats["splink"]["model"]["source"] == "trained", stats["splink"]
    yield con, spec, model_path
    con.close()
