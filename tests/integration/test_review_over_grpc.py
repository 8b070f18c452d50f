"""Issue 5's review workflow end to end: a synthetic round published into the local Neo4j, the three services
serving it over gRPC, a reviewer listing, opening and deciding flags through the typed client; the graph checked
through the catalog's queries and the audit chain, read back over gRPC, verified — then forged, and caught.

Everything happens inside one test: other modules empty the shared database.
"""

from __future__ import annotations

import csv
import json
from datetime import UTC

import neo4j
import pytest

from silentcert.clients.grpc_client import SilentcertClient
from silentcert.deathcheck.v1 import deathcheck_pb2 as dc
from silentcert.graph import catalog
from silentcert.graph.audit_key import load_audit_key
from silentcert.graph.errors import Conflict
from silentcert.graph.model import AuditEntry
from silentcert.graph.neo4j_store import Neo4jStore
from silentcert.services import serving
from silentcert.services.deathcheck.audit import verify
from silentcert.services.security.rate_limit import RateLimit
from silentcert.services.security.settings import SecuritySettings

REVIEWER = "reviewer.zhang"
FORGER = "nobody.in.particular"


@pytest.fixture
def client(published_round, neo4j_driver):
    store = Neo4jStore(neo4j_driver, retry_seconds=5)
    store.audit_key = load_audit_key(published_round.audit_key_file)  # serve verifies the chain at start
    # the chain is read back one person at a time: ~1,500 calls in a burst, over the default rate limit
    security = SecuritySettings(insecure_dev=True, rate=RateLimit(rate=10_000.0, burst=10_000.0))
    settings = serving.ServeSettings(address="127.0.0.1:0", neo4j_uri=published_round.bolt_uri, security=security)
    running = serving.start(settings, [store])
    with SilentcertClient(f"127.0.0.1:{running.port}", timeout=30) as the_client:
        yield the_client
    running.server.stop(0).wait()


def _rows(driver: neo4j.Driver, name: str, **parameters) -> list[dict]:
    records, _, _ = driver.execute_query(catalog.query(name), parameters, database_="neo4j")
    return [r.data() for r in records]


def _person(driver: neo4j.Driver, person_id: str) -> dict:
    (row,) = _rows(driver, "person_by_id", person_id=person_id)
    return row["row"]


def _flag(driver: neo4j.Driver, flag_id: str) -> dict:
    (row,) = _rows(driver, "flag_detail", flag_id=flag_id)
    return row["flag"]


def _entry(e: dc.AuditEntry) -> AuditEntry:
    """A GetAuditTrail entry back as the domain entry the chain's hashes were computed over."""
    return AuditEntry(seq=e.seq, at=e.at.ToDatetime(tzinfo=UTC), actor=e.actor, action=e.action,
                      person_id=e.person_id or None, subject=e.subject, sources=tuple(e.sources),
                      before=json.loads(e.before_json), after=json.loads(e.after_json), prev_hash=e.prev_hash,
                      hash=e.hash)


def _chain_over_grpc(client: SilentcertClient, subjects: list[str]) -> list[AuditEntry]:
    """The whole chain assembled from the per-person trails of every subject, in seq order."""
    entries = {e.seq: _entry(e) for subject in subjects for e in client.audit_trail(subject)}
    return [entries[seq] for seq in sorted(entries)]


def _subjects(out) -> list[str]:
    with open(out / "verdicts.csv", newline="", encoding="utf-8") as handle:
        people = [row["person_id"] for row in csv.DictReader(handle)]
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    return people + [f"round:{report['round_id']}"]


def _status_change(trail: list[AuditEntry], flag_id: str) -> AuditEntry:
    (change,) = [e for e in trail if e.action.startswith("status_") and e.after.get("flag_id") == flag_id]
    return change


def test_a_flag_driven_through_review_changes_the_graph_and_the_audit_chain_catches_a_forgery(
        published_round, client, neo4j_driver):
    # the review queue, filtered by kind
    unconfirmed = list(client.iter_flags(kind="unconfirmed_death", page_size=2))
    confirmed = list(client.iter_flags(kind="confirmed_death"))
    assert len(unconfirmed) >= 2 and confirmed
    assert {f.kind for f in unconfirmed} == {"unconfirmed_death"} and {f.kind for f in confirmed} == {"confirmed_death"}
    assert all(f.status == dc.FLAG_STATUS_OPEN for f in unconfirmed)
    dismissed, confirmed_now = unconfirmed[0], unconfirmed[1]

    # one flag with its evidence subgraph: the flag, its pensioner, the death record it cites, linked to them
    detail = client.get_flag(dismissed.flag_id)
    assert detail.flag.flag_id == dismissed.flag_id and detail.person.person_id == dismissed.person_id
    labels = {n.id: n.label for n in detail.nodes}
    cited = [e.target for e in detail.edges if e.source == f"Flag:{dismissed.flag_id}" and e.type == "CITES"]
    assert cited and all(labels[c] == "DeathRecord" for c in cited)
    assert {(e.source, e.target) for e in detail.edges if e.type == "RESOLVED_TO"} >= {
        (c, f"Pensioner:{dismissed.person_id}") for c in cited}

    # before: the lone death report held the person in review, payments suspended
    held = _person(neo4j_driver, dismissed.person_id)
    assert (held["status"], held["period_state"]) == ("review", "suspended")
    automatic = _status_change([_entry(e) for e in client.audit_trail(dismissed.person_id)], dismissed.flag_id)

    # decide: dismiss one (the evidence stands), confirm the other
    note = "seen at the township office on 2021-10-20; register entry is another person's"
    answer = client.decide_flag(dismissed.flag_id, dc.DECISION_ACTION_DISMISS, REVIEWER, note)
    assert answer.flag.status == dc.FLAG_STATUS_DISMISSED
    client.decide_flag(confirmed_now.flag_id, dc.DECISION_ACTION_CONFIRM, REVIEWER, "police and family confirm")
    with pytest.raises(Conflict, match="already dismissed"):
        client.decide_flag(dismissed.flag_id, dc.DECISION_ACTION_CONFIRM, REVIEWER)

    # the graph: decisions on the Flag nodes, the pensioners changed as the decisions say
    flag = _flag(neo4j_driver, dismissed.flag_id)
    assert (flag["status"], flag["decided_by"], flag["note"]) == ("dismissed", REVIEWER, note)
    assert flag["decided_at"]
    restored = _person(neo4j_driver, dismissed.person_id)
    assert (restored["status"], restored["period_state"]) == (automatic.before["status"],
                                                              automatic.before["period_state"])
    assert str(restored["certified_until"]) == automatic.before["certified_until"]
    assert _flag(neo4j_driver, confirmed_now.flag_id)["status"] == "confirmed"
    dead = _person(neo4j_driver, confirmed_now.person_id)
    assert (dead["status"], dead["period_state"]) == ("deceased", "ended")

    # the audit trail over gRPC: the decision recorded with who, what, before and after
    trail = [_entry(e) for e in client.audit_trail(dismissed.person_id)]
    decision = trail[-1]
    assert (decision.seq, decision.hash) == (answer.audit_entry.seq, answer.audit_entry.hash)
    assert (decision.actor, decision.action) == (REVIEWER, "decide_flag:dismiss")
    assert decision.after["effect"] == "restore" and decision.after["person"]["status"] == automatic.before["status"]
    assert decision.before["person"]["status"] == "review" and "arrears" in decision.after

    # the whole chain, read back over gRPC, is the stored chain and verifies
    subjects = _subjects(published_round.out)
    chain = _chain_over_grpc(client, subjects)
    stored = [row["row"]["seq"] for row in _rows(neo4j_driver, "audit_trail", person_id=None)]
    assert [e.seq for e in chain] == stored == list(range(1, len(stored) + 1))
    key = load_audit_key(published_round.audit_key_file)
    assert verify(chain, key=key) is None

    # a forger rewrites who made the dismissal: the chain names that entry
    (forged,) = _rows(neo4j_driver, "tamper_audit_entry", seq=decision.seq, actor=FORGER)
    assert forged["seq"] == decision.seq
    chain = _chain_over_grpc(client, subjects)
    assert chain[decision.seq - 1].actor == FORGER
    broken = verify(chain, key=key)
    assert broken is not None and broken.seq == decision.seq and "modified" in broken.reason
    assert verify(chain[:decision.seq - 1], key=key) is None
