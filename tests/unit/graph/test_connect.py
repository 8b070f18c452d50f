"""Choosing the store from settings; an unreachable Neo4j becomes StoreUnavailable without the password."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from silentcert.graph.connect import StoreSettings, open_store
from silentcert.graph.embedded import EmbeddedStore
from silentcert.graph.errors import StoreUnavailable

SECRET = "s3cret-Pa55word"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_from_env_reads_the_neo4j_variables():
    settings = StoreSettings.from_env({"NEO4J_URI": "bolt://db:7687", "NEO4J_USER": "svc",
                                       "NEO4J_PASSWORD": SECRET, "SILENTCERT_GRAPH_PATH": "/data/g.duckdb"})
    assert (settings.neo4j_uri, settings.neo4j_user, settings.neo4j_password) == ("bolt://db:7687", "svc", SECRET)
    assert settings.embedded_path == Path("/data/g.duckdb")
    assert settings.uses_neo4j
    assert SECRET not in repr(settings)


def test_from_env_defaults_to_embedded_and_overrides_win(tmp_path):
    settings = StoreSettings.from_env({}, embedded_path=tmp_path / "x.duckdb", neo4j_uri=None)
    assert not settings.uses_neo4j
    assert settings.embedded_path == tmp_path / "x.duckdb"


def test_open_store_gives_the_embedded_default(tmp_path):
    with open_store(StoreSettings(embedded_path=tmp_path / "graph.duckdb")) as store:
        assert isinstance(store, EmbeddedStore)
        assert store.counts()["Pensioner"] == 0


def test_unreachable_neo4j_is_store_unavailable_without_the_password():
    settings = StoreSettings(neo4j_uri=f"bolt://127.0.0.1:{_free_port()}", neo4j_password=SECRET,
                             retry_seconds=0.5)
    with pytest.raises(StoreUnavailable) as raised:
        open_store(settings)
    assert "127.0.0.1" in str(raised.value)
    assert SECRET not in str(raised.value)


def test_a_second_writer_on_the_embedded_file_is_store_unavailable(tmp_path):
    import subprocess
    import sys

    path = tmp_path / "graph.duckdb"
    holder = subprocess.Popen([sys.executable, "-c", f"import duckdb,sys; c=duckdb.connect({str(path)!r}); "
                               "print('ok', flush=True); sys.stdin.read()"],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "ok"
        with pytest.raises(StoreUnavailable, match="in use"):
            EmbeddedStore(path)
    finally:
        holder.stdin.close()
        holder.wait(timeout=10)


@pytest.mark.parametrize("compress", [False, True])
def test_the_embedded_file_compresses_strings_only_when_asked(tmp_path, compress):
    settings = StoreSettings(embedded_path=tmp_path / "graph.duckdb", embedded_compress_strings=compress)
    with open_store(settings) as store:
        disabled = store._con.execute("SELECT current_setting('disabled_compression_methods')").fetchall()[0][0]
    assert ("dict_fsst" in disabled.lower()) is not compress


def test_the_embedded_stores_memory_comes_from_the_environment_unless_a_round_sets_it():
    assert StoreSettings.from_env({}).embedded_memory_limit == "2GB"
    assert StoreSettings.from_env({"SILENTCERT_GRAPH_MEMORY_LIMIT": "8GB"}).embedded_memory_limit == "8GB"
    assert StoreSettings.from_env({"SILENTCERT_GRAPH_MEMORY_LIMIT": "8GB"},
                                  embedded_memory_limit="6GB").embedded_memory_limit == "6GB"
