"""The embedded store's publish on a store file made by an earlier version (primary keys on every relationship
table): it must publish, republish and relink the same way as on a new file."""

from __future__ import annotations

import duckdb
import pytest

from graph.embedded import EmbeddedStore
from tests.integration.test_store_contract import EXPECTED_COUNTS, small_round

# The relationship tables as the first embedded store made them, with primary keys.
KEYED_TABLES = """
CREATE TABLE identifier (kind VARCHAR, value VARCHAR, shared BOOLEAN, PRIMARY KEY (kind, value));
CREATE TABLE holds (
    person_id VARCHAR, kind VARCHAR, value VARCHAR, origin VARCHAR, shared BOOLEAN,
    PRIMARY KEY (person_id, kind, value));
CREATE TABLE resolved_to (
    key VARCHAR PRIMARY KEY, person_id VARCHAR, probability DOUBLE, method VARCHAR, round_id VARCHAR);
CREATE TABLE verdict (
    person_id VARCHAR, round_id VARCHAR, status VARCHAR, method VARCHAR, source VARCHAR, evidence_at DATE,
    probability DOUBLE, certified_until DATE, period_state VARCHAR, PRIMARY KEY (person_id, round_id));
"""


@pytest.fixture(params=["new", "keyed"])
def store(request, tmp_path):
    path = tmp_path / "graph.duckdb"
    if request.param == "keyed":
        with duckdb.connect(str(path)) as con:
            con.execute(KEYED_TABLES)
    with EmbeddedStore(path) as opened:
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


def test_identifiers_of_a_keyed_and_a_new_store_read_alike(store):
    store.publish_round(small_round())
    shared = [i for i in store.identifiers("P2") if i.kind == "phone"]
    assert [(i.value, i.shared) for i in shared] == [("13800000002", True)]
