"""Neo4j going away: a round whose Neo4j is stopped (SIGTERM) or killed (SIGKILL of the JVM, an unclean shutdown
Neo4j recovers from through its transaction log) half-way through publishing resumes, after a restart on the same
home, to the undisturbed outputs and the same graph; GetLiveness answers UNAVAILABLE while the server is down and
recovers by itself; a round with a truncated input writes nothing to Neo4j (issue 7, faults).

A throwaway Neo4j home on free ports, reusing the cached jars (the session's shared server is cleared by other
suites, and this one is stopped and started at will). The retry budget is shortened through the settings
(SILENTCERT_NEO4J_RETRY_SECONDS, read by StoreSettings.from_env), never by patching the store.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import signal
import time
from dataclasses import replace
from pathlib import Path

import duckdb
import grpc
import neo4j
import pytest

from silentcert.clients.grpc_client import SilentcertClient
from silentcert.clients.rounds import EMBEDDED_STORE, open_stores, run_round_files
from silentcert.graph.connect import StoreSettings, open_store
from silentcert.graph.errors import SourceFileError, StageFailed, StoreUnavailable
from silentcert.graph.model import FlagFilter
from silentcert.graph.neo4j_local import LocalNeo4jSettings, bolt_settings, server
from silentcert.graph.neo4j_store import Neo4jStore
from silentcert.liveness.v1 import liveness_pb2 as lv
from silentcert.services import serving
from silentcert.services.rounds.context import DB_NAME, STATE_DIR
from silentcert.services.rounds.pipeline import run_round
from silentcert.services.rounds.progress import silent_progress
from silentcert.services.rounds.publish import OUTPUT_FILES
from silentcert.services.rounds.roundfile import load_round
from silentcert.services.security.settings import SecuritySettings
from silentcert.services.settings import RoundSettings
from silentcert.synthetic import generate

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


@pytest.fixture(scope="module")
def undisturbed(home, round_dir, tmp_path_factory) -> tuple[Path, dict]:
    """The round run once without faults: its output directory and the graph it leaves in Neo4j."""
    out = tmp_path_factory.mktemp("undisturbed")
    _, user, password = bolt_settings(home)
    with pytest.MonkeyPatch.context() as env:  # module scope: neo4j_env's function-scoped environment is not set yet
        env.setenv("NEO4J_USER", user)
        env.setenv("NEO4J_PASSWORD", password)
        settings = StoreSettings.from_env(neo4j_uri=home.bolt_uri)
        _clear(settings)
        run_round_files(round_dir, out, None, home.bolt_uri)
        graph = _graph(settings)
    assert graph["counts"]["Pensioner"] == 800 and graph["counts"]["Event"] > 1000
    return out, graph


@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGKILL], ids=["stopped", "killed"])
def test_round_resumes_after_neo4j_goes_away_mid_publish(home, neo4j_env, round_dir, undisturbed, tmp_path, how):
    calm, calm_graph = undisturbed
    faulted = tmp_path / "faulted"
    _clear(neo4j_env)
    stopper = StopNeo4jMidPublish(home, how)
    started = time.monotonic()
    with pytest.raises((StoreUnavailable, StageFailed), match="unreachable|publish"):
        _run_with_progress(round_dir, faulted, neo4j_env, stopper)
    gave_up = time.monotonic() - started - stopper.stop_seconds
    assert stopper.stopped_with_pensioners == 800, "Neo4j was to be stopped after part of the round landed in it"
    assert gave_up < GIVE_UP_WITHIN
    assert "publish" not in _finished_stages(faulted)

    recoveries = _recoveries(home)
    restarted = time.monotonic()
    server.start(home)  # the same home: after SIGKILL Neo4j recovers from its transaction log
    restart_seconds = time.monotonic() - restarted
    assert (_recoveries(home) > recoveries) == (how == signal.SIGKILL), "only an unclean shutdown needs recovery"
    summary = run_round_files(round_dir, faulted, None, home.bolt_uri)
    assert summary.resumed_from == "publish"
    for name in [*OUTPUT_FILES, "report.json"]:
        assert (faulted / name).read_bytes() == (calm / name).read_bytes(), name
    compared = time.monotonic()
    assert _graph(neo4j_env) == calm_graph
    compare_seconds = time.monotonic() - compared
    print(f"\nfault ({signal.Signals(how).name}): Neo4j gone in {stopper.stop_seconds:.1f} s with "
          f"{stopper.stopped_with_pensioners} pensioners in; the round gave up {gave_up:.1f} s later; "
          f"restart {restart_seconds:.1f} s; graph compared in {compare_seconds:.1f} s")


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


def test_a_truncated_input_writes_nothing_to_neo4j(home, neo4j_env, round_dir, undisturbed, tmp_path):
    inputs = tmp_path / "next"
    shutil.copytree(round_dir.parent, inputs, ignore=shutil.ignore_patterns("truth"))
    toml = inputs / "round.toml"
    toml.write_text(toml.read_text(encoding="utf-8").replace('id = "2021-10"', 'id = "2021-11"'), encoding="utf-8")
    parquet = inputs / "evidence" / "health_code.parquet"
    parquet.write_bytes(parquet.read_bytes()[:parquet.stat().st_size // 2])
    before = _graph(neo4j_env)
    with pytest.raises(SourceFileError, match="health_code.parquet is not a readable Parquet file"):
        run_round_files(toml, tmp_path / "out", None, home.bolt_uri)
    assert _graph(neo4j_env) == before
    assert not (tmp_path / "out" / "verdicts.csv").exists()


class StopNeo4jMidPublish:
    """Round progress that stops (SIGTERM: clean shutdown) or kills (SIGKILL of the JVM: no shutdown at all) the
    Neo4j server once the publish stage has put the pensioners into it."""

    def __init__(self, home: LocalNeo4jSettings, how: signal.Signals = signal.SIGTERM):
        self.home = home
        self.how = how
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
            if self.how == signal.SIGKILL:
                _kill(self.home)
            else:
                server.stop(self.home)
            self.stop_seconds = time.monotonic() - started
            self.stopped_with_pensioners = landed

    def stage_finished(self, stage: str, stats: dict) -> None:
        pass


def _kill(home: LocalNeo4jSettings) -> None:
    """SIGKILL the JVM this test run started for `home` (its pid file names it), and wait until it is gone."""
    pid = server.running_pid(home)
    assert pid is not None, "Neo4j was to be running"
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 30
    while server.running_pid(home) is not None:
        assert time.monotonic() < deadline, f"Neo4j pid {pid} survived SIGKILL"
        time.sleep(0.1)


def _recoveries(home: LocalNeo4jSettings) -> int:
    """How often the `neo4j` database has replayed its transaction log on start (debug.log)."""
    log = home.logs_dir / "debug.log"
    lines = log.read_text(encoding="utf-8", errors="replace").splitlines() if log.exists() else []
    return sum(1 for line in lines if "[neo4j/" in line and "Recovery required" in line)


def _graph(settings: StoreSettings) -> dict:
    """What the round published, read back through the store: counts, every period and flag, and the identifiers
    and evidence of every 4th pensioner (two queries a person; all 800 would double the test's run time). Audit
    entries are only counted: they carry the time they were written."""
    store = open_store(settings)
    try:
        periods = sorted(store.periods().to_pylist(), key=lambda r: r["person_id"])
        people = {p["person_id"]: (sorted(map(repr, store.identifiers(p["person_id"]))),
                                   sorted(map(repr, store.evidence(p["person_id"])))) for p in periods[::4]}
        flags = sorted(map(repr, store.flags(FlagFilter(limit=100_000))))
        return {"counts": store.counts(), "periods": periods, "people": people, "flags": flags}
    finally:
        store.close()


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

