"""Neo4j going away: a round stopped half-way through publishing resumes to the undisturbed result, and GetLiveness
answers UNAVAILABLE while the server is down and recovers by itself (issue 7, faults).

A throwaway Neo4j home on free ports, reusing the cached jars (the session's shared server is cleared by other
suites, and this one is stopped and started at will). The retry budget is shortened through the settings
(SILENTCERT_NEO4J_RETRY_SECONDS, read by StoreSettings.from_env), never by patching the store.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import replace
from pathlib import Path

import duckdb
import grpc
import neo4j
import pytest

from clients.grpc_client import SilentcertClient
from clients.rounds import EMBEDDED_STORE, open_stores, run_round_files
from graph.connect import StoreSettings, open_store
from graph.neo4j_local import LocalNeo4jSettings, bolt_settings, server
from graph.neo4j_store import Neo4jStore
from services import serving
from services.errors import StageFailed, StoreUnavailable
from services.rounds.pipeline import DB_NAME, STATE_DIR, run_round
from services.rounds.progress import silent_progress
from services.rounds.publish import OUTPUT_FILES
from services.rounds.roundfile import load_round
from services.security.settings import SecuritySettings
from services.settings import RoundSettings
from silentcert.liveness.v1 import liveness_pb2 as lv
from synthetic import generate

pytestmark = pytest.mark.neo4j

AS_OF = dt.date(2021, 10, 31)
RETRY_SECONDS = 2.0
# open_store caps the driver's managed-transaction retries by the same budget, so an outage surfaces after a few
# times RETRY_SECONDS (without the cap: about 95 s, the driver's 30 s inside every tenacity attempt).
GIVE_UP_WITHIN = 30.0


@pytest.fixture(scope="module")
def home(tmp_path_factory, throwaway_neo4j_home) -> LocalNeo4jSettings:
    settings = throwaway_neo4j_home(tmp_path_factory.mktemp("neo4j-faults-home"))
    server.start(settings)
    yield settings
    server.stop(settings)


@pytest.fixture
def neo4j_env(home: LocalNeo4jSettings, monkeypatch) -> StoreSettings:
    """The environment `round run --neo4j` reads (NEO4J_USER, NEO4J_PASSWORD, a short retry budget)."""
    _, user, password = bolt_settings(home)
    monkeypatch.setenv("NEO4J_USER", user)
    monkeypatch.setenv("NEO4J_PASSWORD", password)
    monkeypatch.setenv("SILENTCERT_NEO4J_RETRY_SECONDS", str(RETRY_SECONDS))
    return StoreSettings.from_env(neo4j_uri=home.bolt_uri)


@pytest.fixture(scope="module")
def round_dir(tmp_path_factory) -> Path:
    inputs = tmp_path_factory.mktemp("faults-round")
    generate(pensioners=800, seed=11, as_of=AS_OF, out=inputs)
    return inputs / "round.toml"


def test_round_resumes_after_neo4j_stops_mid_publish(home, neo4j_env, round_dir, tmp_path):
    calm, faulted = tmp_path / "undisturbed", tmp_path / "faulted"
    _clear(neo4j_env)
    run_round_files(round_dir, calm, None, home.bolt_uri)
    calm_counts = _counts(neo4j_env)
    assert calm_counts["Pensioner"] == 800 and calm_counts["Event"] > 1000

    _clear(neo4j_env)
    stopper = StopNeo4jMidPublish(home)
    started = time.monotonic()
    with pytest.raises((StoreUnavailable, StageFailed), match="unreachable|publish"):
        _run_with_progress(round_dir, faulted, neo4j_env, stopper)
    gave_up = time.monotonic() - started - stopper.stop_seconds
    assert stopper.stopped_with_pensioners == 800, "Neo4j was to be stopped after part of the round landed in it"
    assert gave_up < GIVE_UP_WITHIN
    assert "publish" not in _finished_stages(faulted)

    server.start(home)
    summary = run_round_files(round_dir, faulted, None, home.bolt_uri)
    assert summary.resumed_from == "publish"
    for name in [*OUTPUT_FILES, "report.json"]:
        assert (faulted / name).read_bytes() == (calm / name).read_bytes(), name
    assert _counts(neo4j_env) == calm_counts
    print(f"\nfault: Neo4j stopped in {stopper.stop_seconds:.1f} s; the round gave up {gave_up:.1f} s later")


def test_liveness_is_unavailable_while_neo4j_is_down_and_recovers(home, neo4j_env, round_dir, tmp_path):
    if _counts(neo4j_env)["Pensioner"] == 0:
        run_round_files(round_dir, tmp_path / "round", None, home.bolt_uri)
    person_id = _some_person(neo4j_env)
    store = open_store(neo4j_env)
    running = serving.start(serving.ServeSettings(address="127.0.0.1:0", services=("liveness",), grace_seconds=1,
                                                  security=SecuritySettings(insecure_dev=True)), [store])
    request = lv.GetLivenessRequest(person_id=person_id)
    try:
        with SilentcertClient(f"127.0.0.1:{running.port}", timeout=GIVE_UP_WITHIN) as client:
            before = client.liveness.GetLiveness(request, timeout=30)
            assert before.liveness.person_id == person_id
            server.stop(home)
            started = time.monotonic()
            with pytest.raises(grpc.RpcError) as down:
                client.liveness.GetLiveness(request, timeout=GIVE_UP_WITHIN)
            unavailable_after = time.monotonic() - started
            assert down.value.code() == grpc.StatusCode.UNAVAILABLE, down.value.details()
            assert "unreachable" in down.value.details() and home.password_file.read_text().strip() not in \
                down.value.details()
            server.start(home)
            started = time.monotonic()
            after = client.liveness.GetLiveness(request, timeout=60)
            recovered_after = time.monotonic() - started
            assert after == before
    finally:
        server.start(home)
        running.server.stop(0).wait()
        store.close()
    print(f"\nliveness: UNAVAILABLE after {unavailable_after:.1f} s; first call after restart {recovered_after:.2f} s")


class StopNeo4jMidPublish:
    """Round progress that stops the Neo4j server once the publish stage has put the pensioners into it."""

    def __init__(self, home: LocalNeo4jSettings):
        self.home = home
        self.stopped_with_pensioners: int | None = None
        self.stop_seconds = 0.0

    def stage_started(self, stage: str) -> None:
        pass

    def advance(self, stage: str, done: int, total: int | None = None, unit: str = "rows") -> None:
        if stage != "publish" or unit != "rows" or self.stopped_with_pensioners is not None:
            return
        landed = _pensioners_in(self.home)
        if landed:
            started = time.monotonic()
            server.stop(self.home)
            self.stop_seconds = time.monotonic() - started
            self.stopped_with_pensioners = landed

    def stage_finished(self, stage: str, stats: dict) -> None:
        pass


def _run_with_progress(round_file: Path, out: Path, settings: StoreSettings, progress) -> None:
    """What run_round_files does, with a progress of our own (the fault is injected from it)."""
    spec = load_round(round_file)
    round_settings = RoundSettings.from_tables(spec.settings, base=spec.path.parent)
    with open_stores(replace(settings, embedded_path=out / EMBEDDED_STORE)) as stores:
        run_round(spec, out, round_settings, stores, progress=progress or silent_progress)


def _pensioners_in(home: LocalNeo4jSettings) -> int:
    uri, user, password = bolt_settings(home)
    with neo4j.GraphDatabase.driver(uri, auth=(user, password)) as driver:
        return Neo4jStore(driver).counts()["Pensioner"]


def _counts(settings: StoreSettings) -> dict[str, int]:
    store = open_store(settings)
    try:
        return store.counts()
    finally:
        store.close()


def _clear(settings: StoreSettings) -> None:
    store = open_store(settings)
    try:
        store.clear()
    finally:
        store.close()


def _some_person(settings: StoreSettings) -> str:
    store = open_store(settings)
    try:
        return store.periods().column("person_id")[0].as_py()
    finally:
        store.close()


def _finished_stages(out: Path) -> set[str]:
    con = duckdb.connect(str(out / STATE_DIR / DB_NAME), read_only=True)
    try:
        return {name for (name,) in con.execute("SELECT stage FROM stages").fetchall()}
    finally:
        con.close()

