"""Bulk import builds exactly the graph that UNWIND publishing builds, on a second local Neo4j home.

A throwaway home on other ports (the session's shared server is cleared by other suites): the round is first
published through Neo4jStore.publish_round (as `round run --neo4j` does), the graph dumped; then
`silentcert neo4j import` refuses the non-empty database, replaces it with --overwrite, and the dump must be equal:
every node with every property and type, every relationship with its ends and properties.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from pathlib import Path

import duckdb
import neo4j
import pytest

from silentcert.clients.rounds import run_round_files
from silentcert.graph import catalog
from silentcert.graph.errors import Conflict, InvalidInput
from silentcert.graph.neo4j_local import LocalNeo4jSettings, bolt_settings, server
from silentcert.graph.neo4j_store import Neo4jStore
from silentcert.services.deathcheck.audit import append_round_events
from silentcert.services.rounds.bulk_publish import bulk_publish_round_dir
from silentcert.services.rounds.publish import round_export
from silentcert.synthetic import generate

AS_OF = dt.date(2021, 10, 31)
pytestmark = pytest.mark.neo4j


@pytest.fixture(scope="module")
def finished_round(tmp_path_factory) -> Path:
    inputs, out = tmp_path_factory.mktemp("round"), tmp_path_factory.mktemp("out")
    generate(pensioners=800, seed=5, as_of=AS_OF, out=inputs)
    run_round_files(inputs / "round.toml", out, store=None, neo4j_uri=None)
    return out


@pytest.fixture(scope="module")
def second_home(tmp_path_factory, throwaway_neo4j_home) -> LocalNeo4jSettings:
    settings = throwaway_neo4j_home(tmp_path_factory.mktemp("neo4j-home"))
    server.start(settings)
    yield settings
    server.stop(settings)


def test_bulk_import_gives_the_unwind_graph(finished_round: Path, second_home: LocalNeo4jSettings):
    with _store(second_home) as store:
        _publish_by_unwind(store, finished_round)
    unwound = _dump(second_home)
    with pytest.raises(Conflict, match="--overwrite"):
        bulk_publish_round_dir(second_home, finished_round)
    done = bulk_publish_round_dir(second_home, finished_round, overwrite=True)
    bulk = _dump(second_home)
    with _store(second_home) as store:
        assert store.counts() == done.counts
    assert done.counts["Pensioner"] == 800 and done.counts["Event"] > 1000 and done.counts["AuditEntry"] > 0
    assert bulk["counts"] == unwound["counts"]
    assert bulk["nodes"] == unwound["nodes"]
    assert bulk["relationships"] == unwound["relationships"]
    explained = [p for labels, p in bulk["nodes"]
                 if labels == ("Pensioner",) and any(k == "explanation" for k, *_ in p)]
    assert len(explained) == 800  # every verdict's sentence, in both graphs alike


def test_an_unfinished_round_is_refused(tmp_path: Path, second_home: LocalNeo4jSettings):
    with pytest.raises(InvalidInput, match="round run"):
        bulk_publish_round_dir(second_home, tmp_path)


def _store(settings: LocalNeo4jSettings) -> Neo4jStore:
    uri, user, password = bolt_settings(settings)
    return Neo4jStore(neo4j.GraphDatabase.driver(uri, auth=(user, password)), close_driver=True)


def _publish_by_unwind(store: Neo4jStore, out: Path) -> None:
    """What the publish stage of `round run --neo4j` does with a store."""
    con = duckdb.connect(str(out / "state" / "round.duckdb"), read_only=True)
    try:
        store.clear()
        store.apply_schema()
        store.publish_round(round_export(con, "2021-10", AS_OF))
        append_round_events(con, store)
    finally:
        con.close()


def _dump(settings: LocalNeo4jSettings) -> dict:
    """Nodes and relationships as sorted, hashable rows; the Round's publish time is the one thing that differs."""
    uri, user, password = bolt_settings(settings)

    def read(name: str) -> list[dict]:
        with neo4j.GraphDatabase.driver(uri, auth=(user, password)) as driver:
            return [r.data() for r in driver.execute_query(catalog.query(name)).records]

    nodes = []
    for row in read("dump_nodes"):
        properties = {k: v for k, v in row["properties"].items() if k != "published_at"}
        nodes.append((tuple(sorted(row["labels"])), _frozen(properties)))
    relationships = [(r["type"], tuple(r["start_labels"]), str(r["start_key"]), tuple(r["end_labels"]),
                      str(r["end_key"]), _frozen(r["properties"])) for r in read("dump_relationships")]
    counts = Counter(label for labels, _ in nodes for label in labels) + Counter(r[0] for r in relationships)
    return {"counts": counts, "nodes": sorted(nodes, key=repr), "relationships": sorted(relationships, key=repr)}


def _frozen(properties: dict) -> tuple:
    """Properties with their Python types kept (a date is not its text, 1.0 is not 1)."""
    return tuple(sorted((k, type(v).__name__, repr(v)) for k, v in properties.items()))

