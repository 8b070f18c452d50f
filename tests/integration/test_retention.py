"""The retention rule (docs/graph.md, "Retention"), the same in both stores: what a publish drops once it is older
than the certification window, and what it keeps."""

from __future__ import annotations

from datetime import date, datetime

import pyarrow as pa
import pytest

from silentcert.graph.embedded import EmbeddedStore
from silentcert.graph.neo4j_store import Neo4jStore
from silentcert.graph.store import GraphStore, RoundExport
from tests.integration.test_store_contract import (
    _citations,
    _events,
    _flags,
    _identifiers,
    _neo4j_driver,
    _pensioners,
)

SINCE = date(2021, 7, 15)  # the window of a round on 2022-07-15: everything of the small round before it is old
OLDER = [  # two older records of sources P1 has later records of, one carrying a card nobody holds
    ("vaccination/v0", "vaccination", "strong", "v0", datetime(2020, 12, 1, 9, 0), "P1", 1.0, "deterministic",
     "110101194001010012", None, None, None),
    ("bus/b0", "bus", "weak", "b0", datetime(2021, 1, 1, 8, 0), "P1", 0.9, "identifier", None, None, "C9", None),
]
NAMES = ("key", "source", "kind", "record_id", "occurred_at", "person_id", "match_probability", "method",
         "id_number", "phone", "card_no", "passed")
HELD = ("suspended", "ended")  # services.rounds.payments.HELD_STATES
ROUNDS = (("2021-10", date(2021, 10, 31)), ("2021-11", date(2021, 11, 30)), ("2021-12", date(2021, 12, 31)),
          ("2022-01", date(2022, 1, 31)))


@pytest.fixture(params=["embedded", pytest.param("neo4j", marks=pytest.mark.neo4j)])
def store(request: pytest.FixtureRequest, tmp_path) -> GraphStore:
    if request.param == "embedded":
        the_store: GraphStore = EmbeddedStore(tmp_path / "graph.duckdb")
    else:
        the_store = Neo4jStore(_neo4j_driver(request), batch_size=2, retry_seconds=5)
        the_store.clear()
    the_store.apply_schema()
    yield the_store
    the_store.close()


def _round(round_id: str, as_of: date, events: pa.Table | None = None, p2_state: str = "overdue") -> RoundExport:
    pensioners = _pensioners()
    if p2_state != "overdue":
        states = pensioners.column("period_state").to_pylist()
        statuses = pensioners.column("status").to_pylist()
        pensioners = pensioners.set_column(17, "period_state", pa.array([states[0], p2_state, states[2]]))
        pensioners = pensioners.set_column(11, "status", pa.array([statuses[0], "certified", statuses[2]]))
    return RoundExport(round_id, as_of, pensioners, _identifiers(), events if events is not None else _events(),
                       _flags(), _citations())


def _with_older() -> pa.Table:
    older = pa.table(dict(zip(NAMES, (list(c) for c in zip(*OLDER)))), schema=_events().schema)
    return pa.concat_tables([_events(), older])


def test_old_evidence_goes_except_what_a_flag_cites_or_a_period_rests_on(store: GraphStore):
    store.publish_round(_round(*ROUNDS[0], _with_older()))
    before = store.counts()
    assert (before["Event"], before["Card"], before["Phone"]) == (8, 3, 3)
    assert store.apply_retention(SINCE, HELD)["events"] == 3  # v0 and b0 (P1 has later ones), u1 (nobody's)
    after = store.counts()
    assert after["Event"] == 5 and after["DeathRecord"] == 1  # the death record stays whatever its age
    assert (after["Card"], after["Phone"]) == (2, 2)  # C9 and the unresolved phone went with their last records
    kept = {e.record_id for p in ("P1", "P2", "P3") for e in store.evidence(p)}
    assert kept >= {"v1", "b1", "f1", "t1", "b2"} and not kept & {"v0", "b0"}  # b2: old, cited by F1
    assert store.apply_retention(SINCE, HELD) == {"events": 0, "identifiers": 0, "verdicts": 0, "old_verdicts": 0}  # idempotent


def test_nothing_in_the_window_is_dropped(store: GraphStore):
    store.publish_round(_round(*ROUNDS[0], _with_older()))
    assert store.apply_retention(date(2020, 11, 1), HELD) == {"events": 0, "identifiers": 0, "verdicts": 0, "old_verdicts": 0}
    assert store.counts()["Event"] == 8


def test_repeated_verdicts_are_compressed_and_the_period_history_reads_the_same(store: GraphStore):
    for k, (round_id, as_of) in enumerate(ROUNDS):
        store.publish_round(_round(round_id, as_of, p2_state="valid" if k == 3 else "overdue"))
    held = store.held_periods("2022-01", date(2022, 1, 31), ("overdue",)).to_pylist()
    periods = store.periods(before_round="2022-01").to_pylist()
    assert held == [{"person_id": "P2", "status": "review", "period_state": "overdue", "since": date(2021, 10, 31)}]
    assert store.counts()["VERDICT"] == 12
    assert store.apply_retention(SINCE, HELD)["verdicts"] == 3  # the second round's repeats; the two latest stay whole
    assert store.counts()["VERDICT"] == 9
    assert store.held_periods("2022-01", date(2022, 1, 31), ("overdue",)).to_pylist() == held
    assert store.periods(before_round="2022-01").to_pylist() == periods
    assert store.periods().to_pylist()[1]["status"] == "certified"


def test_verdicts_before_the_window_keep_only_what_the_periods_and_payments_read(store: GraphStore):
    """Before the window, a person keeps their latest verdict and the first verdict of the held run it ends (where
    held_periods dates the suspension from, and so the arrears of a later restore): the history stops growing."""
    for (round_id, as_of), state in zip(ROUNDS, ("valid", "suspended", "suspended", "suspended")):
        store.publish_round(_round(round_id, as_of, p2_state=state))
    held = store.held_periods("2022-01", date(2022, 1, 31), HELD).to_pylist()
    periods = store.periods(before_round="2022-01").to_pylist()
    assert held == [{"person_id": "P2", "status": "certified", "period_state": "suspended", "since": date(2021, 11, 30)},
                    {"person_id": "P3", "status": "deceased", "period_state": "ended", "since": date(2021, 10, 31)}]
    window = date(2022, 1, 15)  # the first three rounds are before it
    dropped = store.apply_retention(window, HELD)
    # repeats: P1's and P3's second round; before the window: P1's first (its latest there is the third round's)
    # and P2's first (paid, before the held run that starts in the second round); P3's first starts its held run
    assert (dropped["verdicts"], dropped["old_verdicts"]) == (2, 2)
    assert store.counts()["VERDICT"] == 8
    assert store.held_periods("2022-01", date(2022, 1, 31), HELD).to_pylist() == held
    assert store.periods(before_round="2022-01").to_pylist() == periods
    assert store.apply_retention(window, HELD)["old_verdicts"] == 0  # idempotent
