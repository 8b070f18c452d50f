"""One memory budget for a round (`[resources] memory_limit`), shared by every DuckDB the round process opens."""

from __future__ import annotations

import duckdb
import pytest
from hypothesis import given
from hypothesis import strategies as st

from silentcert.graph import sql
from silentcert.graph.errors import RoundFileError
from silentcert.services.settings import ResourceSettings, RoundSettings, memory_bytes

MIB = 2**20


@pytest.mark.parametrize(("size", "expected"), [
    ("1GB", 10**9), ("1GiB", 2**30), ("512MB", 512 * 10**6), ("512 MiB", 512 * MIB), ("1.5 GB", 1_500_000_000),
    ("4gb", 4 * 10**9), ("16TiB", 16 * 2**40), ("64KB", 64_000),
])
def test_memory_sizes_count_as_duckdb_counts_them(size, expected):
    assert memory_bytes(size) == expected


def test_duckdb_agrees_with_the_count():
    """DuckDB shows its bound cut to a tenth of a unit (``953.6 MiB``, 3GB as ``2.7 GiB``): the count is within it."""
    con = duckdb.connect()
    for size in ("1GB", "1GiB", "700MB", "1536MiB", "3GB"):
        con.execute(f"SET memory_limit = '{size}'")
        number, unit = con.execute("SELECT current_setting('memory_limit')").fetchall()[0][0].split()
        shown = float(number) * {"MiB": MIB, "GiB": 2**30}[unit]
        assert 0 <= memory_bytes(size) - shown < 0.1 * {"MiB": MIB, "GiB": 2**30}[unit], size


def test_by_default_the_store_and_splink_take_their_shares_out_of_the_budget():
    resources = ResourceSettings()
    budget = memory_bytes(resources.memory_limit)
    assert memory_bytes(resources.store_limit) + memory_bytes(resources.publish_memory_limit) <= budget
    assert memory_bytes(resources.linkage_limit) + memory_bytes(resources.linking_limit) <= budget
    assert memory_bytes(resources.linkage_limit) > 0 and memory_bytes(resources.linking_limit) > 0


def test_shares_a_round_file_names_are_used_as_given():
    resources = RoundSettings.from_tables({"resources": {
        "memory_limit": "10GB", "publish_memory_limit": "4GB", "store_memory_limit": "8GB",
        "linkage_memory_limit": "2GB"}}).resources
    assert (resources.store_limit, resources.linkage_limit) == ("8GB", "2GB")
    assert 0 <= 8 * 10**9 - memory_bytes(resources.linking_limit) < 1024  # 10GB less Splink's 2GB, to the KiB


sizes = st.builds(lambda n, unit: f"{n}{unit}", st.integers(1, 64_000), st.sampled_from(["MB", "MiB", "GB", "GiB"]))


@given(sizes, sizes)
def test_no_share_outgrows_the_budget(memory, publish):
    """Whatever a round file says, the derived shares fit in memory_limit, or the file is refused naming why."""
    try:
        resources = RoundSettings.from_tables({"resources": {"memory_limit": memory,
                                                             "publish_memory_limit": publish}}).resources
    except RoundFileError as exc:
        assert memory_bytes(publish) >= memory_bytes(memory)
        assert "publish_memory_limit" in str(exc) and "memory_limit" in str(exc)
        return
    budget = memory_bytes(memory)
    assert memory_bytes(resources.store_limit) + memory_bytes(publish) <= budget
    assert memory_bytes(resources.linkage_limit) + memory_bytes(resources.linking_limit) <= budget


def test_a_splink_share_as_large_as_the_budget_is_refused():
    with pytest.raises(RoundFileError, match=r"\[resources\] linkage_memory_limit .* must be less than memory_limit"):
        RoundSettings.from_tables({"resources": {"memory_limit": "2GB", "linkage_memory_limit": "2GB"}})


def test_a_store_share_given_outright_needs_no_room_left_by_publish():
    resources = RoundSettings.from_tables({"resources": {"memory_limit": "1GB", "publish_memory_limit": "1GB",
                                                         "store_memory_limit": "1GB"}}).resources
    assert resources.store_limit == "1GB"


def test_a_bounded_block_gives_the_memory_back_even_when_it_fails():
    con = duckdb.connect()
    con.execute("SET memory_limit = '1GB'")
    read = "SELECT current_setting('memory_limit')"
    before = con.execute(read).fetchall()
    with pytest.raises(RuntimeError), sql.memory_limit(con, "test_share", "100MB", restore="1GB"):
        assert con.execute(read).fetchall() != before
        raise RuntimeError("the block failed")
    assert con.execute(read).fetchall() == before
