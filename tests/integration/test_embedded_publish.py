"""The embedded store's publish, republish and relink, and the lookup indexes a first publish builds after its
commit: there after it, after a failed one, and after a kill between the two."""

from __future__ import annotations

import duckdb
import pytest

from silentcert.graph.embedded import INDEXES, EmbeddedStore
from tests.integration.test_store_contract import EXPECTED_COUNTS, small_round


@pytest.fixture
def store(tmp_path):
    with EmbeddedStore(tmp_path / "graph.duckdb") as opened:
        yield opened


def test_publish_republish_and_relink(store):
    assert store.publish_round(small_round())["events"] == 7
    assert store.counts() == EXPECTED_COUNTS
    store.publish_round(small_round())
    assert store.counts() == EXPECTED_COUNTS
    store.publish_round(small_round(telecom_person="P3"))
    assert [e.record_id for e in store.evidence("P2")] == []
    assert "t1" in [e.record_id for e in store.evidence("P3")]
    store.publish_round(small_round(telecom_person=None))
    assert store.counts()["RESOLVED_TO"] == EXPECTED_COUNTS["RESOLVED_TO"] - 1
    store.publish_round(small_round())
    assert store.counts() == EXPECTED_COUNTS
    assert [e.record_id for e in store.evidence("P2")] == ["t1"]


def test_a_phone_two_people_hold_reads_as_shared(store):
    store.publish_round(small_round())
    shared = [i for i in store.identifiers("P2") if i.kind == "phone"]
    assert [(i.value, i.shared) for i in shared] == [("13800000002", True)]


def _indexes(store) -> set[str]:
    with store._con.cursor() as cur:
        return {name for (name,) in cur.execute("SELECT index_name FROM duckdb_indexes()").fetchall()}


ALL_INDEXES = {name for indexes in INDEXES.values() for name in indexes}


def test_a_first_publish_builds_the_lookup_indexes_after_its_commit(tmp_path):
    with EmbeddedStore(tmp_path / "graph.duckdb") as store:
        store.publish_round(small_round())
        assert _indexes(store) == ALL_INDEXES
        assert store.counts() == EXPECTED_COUNTS


def test_a_failed_first_publish_leaves_the_store_empty_and_indexed(tmp_path):
    def stop_after_events(table: str, _rows: int) -> None:
        if table == "events":
            raise RuntimeError("stopped")

    with EmbeddedStore(tmp_path / "graph.duckdb") as store:
        with pytest.raises(RuntimeError, match="stopped"):
            store.publish_round(small_round(), progress=stop_after_events)
        assert _indexes(store) == ALL_INDEXES
        assert store.counts()["Event"] == 0 and store.counts()["Pensioner"] == 0
        store.publish_round(small_round())
        assert store.counts() == EXPECTED_COUNTS


def test_a_store_killed_before_its_indexes_were_built_gets_them_when_opened(tmp_path):
    path = tmp_path / "graph.duckdb"
    with EmbeddedStore(path) as store:
        store.publish_round(small_round())
        evidence = store.evidence("P2")
    with duckdb.connect(str(path)) as con:  # what a kill between the commit and the index builds leaves
        for index in ALL_INDEXES:
            con.execute(f"DROP INDEX {index}")
    with EmbeddedStore(path, read_only=True) as reader:  # reads by scanning meanwhile
        assert reader.evidence("P2") == evidence
    with EmbeddedStore(path) as store:
        assert _indexes(store) == ALL_INDEXES
        assert store.evidence("P2") == evidence
        assert store.counts() == EXPECTED_COUNTS
