"""The audit trail as an attacker and a race would test it: decisions racing each other over gRPC never leave a
decided flag without its entry, a chain re-hashed without the server's key is caught by `silentcert audit verify`
and by `serve` at start, and the key file is the owner's only. Embedded store; the Neo4j variant of the race is
below it (marked neo4j)."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime

import duckdb
import grpc
import pyarrow as pa
import pytest

from silentcert.clients.cli import main as cli_main
from silentcert.clients.grpc_client import SilentcertClient
from silentcert.deathcheck.v1 import deathcheck_pb2 as dc
from silentcert.graph.audit_key import load_audit_key
from silentcert.graph.connect import StoreSettings, open_store
from silentcert.graph.embedded import EmbeddedStore
from silentcert.graph.errors import Conflict
from silentcert.graph.exports import schema
from silentcert.graph.model import AuditEntry
from silentcert.graph.store import GraphStore, RoundExport
from silentcert.services import serving
from silentcert.services.deathcheck.audit import canonical, verify, verify_store
from silentcert.services.deathcheck.review import decide
from silentcert.services.security.rate_limit import RateLimit
from silentcert.services.security.settings import SecuritySettings

FLAGS = 24


def _table(name: str, rows: list[dict]) -> pa.Table:
    return pa.Table.from_pylist([{c: r.get(c) for c in schema(name).names} for r in rows], schema=schema(name))


def flagged_export(flags: int = FLAGS) -> RoundExport:
    """`flags` pensioners, each with one open low-severity flag (deciding one changes only the flag)."""
    people = [dict(person_id=f"P{i}", status="certified", method="strong", certified_until=date(2022, 9, 1),
                   period_state="valid") for i in range(flags)]
    rows = [dict(flag_id=f"F{i}", person_id=f"P{i}", kind="shared_phone", severity="low", detail="phone shared",
                 overpayment=0.0) for i in range(flags)]
    return RoundExport("2021-10", date(2021, 10, 31), _table("pensioners", people), _table("identifiers", []),
                       _table("events", []), _table("flags", rows), _table("flag_citations", []))


def race_decisions(store: GraphStore) -> None:
    """Escalate every flag at once over gRPC (16 workers); then every decided flag must have its audit entry and
    the chain must verify. A decision that lost the race may fail (and stays undecided), never half-done."""
    security = SecuritySettings(insecure_dev=True, rate=RateLimit(10_000, 10_000))
    running = serving.start(serving.ServeSettings(address="127.0.0.1:0", security=security, grace_seconds=0),
                            [store])
    try:
        with SilentcertClient(f"127.0.0.1:{running.port}", timeout=30) as client:
            def decide(i: int) -> str:
                request = dc.DecideFlagRequest(flag_id=f"F{i}", action=dc.DECISION_ACTION_ESCALATE,
                                               reviewer="reviewer-1", note="race")
                try:
                    client.deathcheck.DecideFlag(request, timeout=30)
                    return "ok"
                except (grpc.RpcError, Conflict) as error:
                    return type(error).__name__
            with ThreadPoolExecutor(max_workers=FLAGS) as pool:
                outcomes = list(pool.map(decide, range(FLAGS)))
    finally:
        running.server.stop(0).wait()
    decided = {f"F{i}" for i in range(FLAGS) if store.flag(f"F{i}").flag.status != "open"}
    audited = {e.subject.removeprefix("flag:") for e in store.audit_trail() if e.action.startswith("decide_flag")}
    assert decided == audited, (outcomes, sorted(decided - audited))
    assert outcomes.count("ok") == len(decided) > 0
    assert verify(store.audit_trail(), key=store.audit_key) is None


def test_racing_decisions_never_leave_a_decided_flag_without_its_entry(tmp_path):
    with EmbeddedStore(tmp_path / "graph.duckdb") as store:
        store.publish_round(flagged_export())
        race_decisions(store)


def test_racing_decisions_on_neo4j_never_leave_a_decided_flag_without_its_entry(neo4j_driver):
    from silentcert.graph.neo4j_store import Neo4jStore

    store = Neo4jStore(neo4j_driver, retry_seconds=5)
    store.clear()
    store.apply_schema()
    store.publish_round(flagged_export())
    race_decisions(store)


# --- the key ----------------------------------------------------------------------------------------------------

def _decided_store(tmp_path) -> tuple[StoreSettings, GraphStore]:
    settings = StoreSettings(embedded_path=tmp_path / "graph.duckdb")
    store = open_store(settings)
    store.publish_round(flagged_export(2))
    decide(store, "F0", "escalate", "reviewer-1", "check", datetime(2021, 11, 2, tzinfo=UTC))
    decide(store, "F1", "escalate", "reviewer-1", "check", datetime(2021, 11, 3, tzinfo=UTC))
    return settings, store


def _rechain_unkeyed(path, entries: list[AuditEntry]) -> None:
    """What someone with write access to the store file but not the key can do: change an entry and re-hash the
    chain from there with plain SHA-256 (the unkeyed chain of before)."""
    con = duckdb.connect(str(path))
    prev = entries[0].prev_hash
    for entry in entries:
        after = {**entry.after, "note": "nothing to see"} if entry.seq == 1 else entry.after
        entry = dataclasses.replace(entry, prev_hash=prev, after=after)
        digest = hashlib.sha256((prev + canonical(entry)).encode("utf-8")).hexdigest()
        con.execute("UPDATE audit SET after = ?, prev_hash = ?, hash = ? WHERE seq = ?",
                    [json.dumps(entry.after, sort_keys=True, ensure_ascii=False), prev, digest, entry.seq])
        prev = digest
    con.close()


def test_a_chain_rehashed_without_the_key_is_caught_by_verify_and_by_serve(tmp_path, capsys):
    settings, store = _decided_store(tmp_path)
    entries = store.audit_trail()
    assert verify_store(store) == (2, None)
    store.close()
    assert cli_main(["audit", "verify", "--store", str(settings.embedded_path)]) == 0
    assert "audit chain intact: 2 entries" in capsys.readouterr().out

    _rechain_unkeyed(settings.embedded_path, entries)
    assert cli_main(["audit", "verify", "--store", str(settings.embedded_path)]) == 1
    assert "audit chain broken at entry 1 of 2" in capsys.readouterr().out
    with open_store(settings) as reopened:
        with pytest.raises(Conflict, match="refusing to serve: the audit chain is broken at entry 1"):
            serving.start(serving.ServeSettings(address="127.0.0.1:0",
                                                security=SecuritySettings(insecure_dev=True)), [reopened])


def test_the_audit_key_file_is_made_once_for_the_owner_only(tmp_path):
    settings, store = _decided_store(tmp_path)
    store.close()
    key_file = settings.audit_key_path
    assert key_file.name == "graph.duckdb.audit-key" and key_file.stat().st_mode & 0o077 == 0
    assert load_audit_key(key_file) == load_audit_key(key_file) and len(load_audit_key(key_file)) == 32
    with open_store(StoreSettings(embedded_path=settings.embedded_path,
                                  audit_key_file=tmp_path / "another.key")) as wrong_key:
        assert verify_store(wrong_key)[1].seq == 1
