"""A round file is input from whoever submits it (issue 23): it cannot run SQL, name files outside the rounds root,
change between the server's check and the run, or choose where Spark ships the registry. Real rounds, a real
server on a real port, and one attacker outside the process (the `silentcert` command line)."""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import grpc
import pytest

from silentcert.clients.grpc_client import SilentcertClient
from silentcert.clients.rounds import run_round_files
from silentcert.graph.embedded import EmbeddedStore
from silentcert.graph.errors import RoundFileError
from silentcert.resolver.v1 import resolver_pb2 as rs
from silentcert.services import serving
from silentcert.services.resolver.one_record import exact_id_resolver
from silentcert.services.rounds.context import RoundContext, Stage
from silentcert.services.rounds.pipeline import run_round
from silentcert.services.rounds.roundfile import load_round
from silentcert.services.rounds.runner import pipeline_runner
from silentcert.services.security.round_paths import RoundRoots
from silentcert.services.security.settings import SecuritySettings
from silentcert.services.settings import RoundSettings
from silentcert.synthetic import generate

AS_OF = dt.date(2021, 10, 31)
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def layout(tmp_path_factory) -> dict[str, Path]:
    """root/2021-10 (a generated round inside the rounds root) and outside/2021-10 beside it."""
    base = tmp_path_factory.mktemp("round-injection")
    root, outside = base / "root", base / "outside"
    generate(pensioners=150, seed=3, as_of=AS_OF, out=root / "2021-10")
    generate(pensioners=150, seed=5, as_of=AS_OF, out=outside / "2021-10")
    return {"base": base, "root": root, "outside": outside, "round": root / "2021-10"}


def variant(layout, name: str, append: str = "", replace: tuple[str, str] | None = None) -> Path:
    """A copy of the round under root/`name` with round.toml edited; returns its round.toml."""
    folder = layout["root"] / name
    shutil.copytree(layout["round"], folder)
    toml = folder / "round.toml"
    text = toml.read_text(encoding="utf-8")
    if replace:
        assert replace[0] in text
        text = text.replace(*replace)
    toml.write_text(text + append, encoding="utf-8")
    return toml


def memory_injection(pwned: Path) -> str:
    return f"4GB'; COPY (SELECT 1) TO '{pwned}'; SET memory_limit='4GB"


# The detail of an unconfirmed death is built from `decisive_sources`: this closes that statement, runs a COPY, and
# reopens a statement the rest of the SQL completes (it wrote the file before the fix).
def death_check_injection(pwned: Path) -> str:
    return ("x). ' || 'y', death_date, report_list) END, overpayment, NULL, county_code, 'review' FROM death_facts; "
            f"COPY (SELECT 1) TO '{pwned}'; SELECT CASE WHEN false THEN format('x")


@pytest.mark.parametrize("key", ["memory_limit", "publish_memory_limit", "store_memory_limit", "linkage_memory_limit"])
def test_sql_in_a_memory_setting_is_refused_and_writes_nothing(layout, key):
    pwned = layout["base"] / f"pwned-{key}.csv"
    toml = variant(layout, f"mem-{key}", f'\n[resources]\n{key} = "{memory_injection(pwned)}"\n')
    out = layout["base"] / f"out-mem-{key}"
    with pytest.raises(RoundFileError, match=rf"\[resources\] {key} must be a memory size"):
        run_round_files(toml, out, store=None, neo4j_uri=None)
    assert not pwned.exists() and not out.exists()


# The phone/card-only candidates' probability was spliced into the resolve SQL (twice, on one line: the comment
# hides the second); a float setting given as text passed as text.
def identifier_injection(pwned: Path) -> str:
    return ("1 ELSE 1 END), 'identifier', false FROM observed o JOIN identifiers i USING (kind, value) "
            "JOIN holders h USING (kind, value) GROUP BY o.rid, i.person_id LIMIT 0; "
            f"COPY (SELECT 1) TO '{pwned}'; WITH observed AS (SELECT 1 AS rid, 'phone' AS kind, 'v' AS value), "
            "holders AS (SELECT 'phone' AS kind, 'v' AS value, 1 AS k) SELECT 1, --")


def test_sql_in_a_number_setting_is_refused_and_writes_nothing(layout):
    pwned = layout["base"] / "pwned-identifier.csv"
    toml = variant(layout, "identifier", f'\n[linkage]\nidentifier_probability = "{identifier_injection(pwned)}"\n')
    out = layout["base"] / "out-identifier"
    with pytest.raises(RoundFileError, match=r"\[linkage\] identifier_probability must be of type float"):
        run_round_files(toml, out, store=None, neo4j_uri=None)
    assert not pwned.exists() and not out.exists()


def test_sql_in_decisive_sources_is_refused_and_writes_nothing(layout):
    pwned = layout["base"] / "pwned-deathcheck.csv"
    toml = variant(layout, "decisive", f'\n[deathcheck]\ndecisive_sources = ["{death_check_injection(pwned)}"]\n')
    out = layout["base"] / "out-decisive"
    with pytest.raises(RoundFileError, match=r"\[deathcheck\] decisive_sources entry .* names no death source"):
        run_round_files(toml, out, store=None, neo4j_uri=None)
    assert not pwned.exists() and not out.exists()


def test_a_quote_in_the_output_directory_is_only_a_name(layout, tmp_path, monkeypatch):
    """The output path is bound, never spliced: a directory called `x'; COPY ...` is a directory, the round runs."""
    monkeypatch.chdir(tmp_path)  # where a relative COPY target would land
    out = tmp_path / "x'; COPY (SELECT 1) TO 'pwned.csv'; SELECT '"
    summary = run_round_files(layout["round"] / "round.toml", out, store=None, neo4j_uri=None)
    assert summary.stages["publish"]["verdicts"] == 150
    assert (out / "verdicts.csv").read_text(encoding="utf-8").count("\n") == 151
    assert not list(tmp_path.rglob("pwned.csv"))


def test_the_round_database_cannot_reach_files_outside_its_output(layout, tmp_path):
    """The working database is confined to the round's output directory by DuckDB itself, irrevocably."""
    outside = tmp_path / "outside.csv"
    tried: dict[str, str] = {}

    def attack(ctx: RoundContext) -> dict:
        attempts = {
            "write": ("COPY (SELECT 1) TO $p", {"p": str(outside)}),
            "read": ("SELECT * FROM read_csv($p)", {"p": str(layout["round"] / "registry.csv")}),
            "attach": ("ATTACH $p AS other", {"p": str(tmp_path / "other.duckdb")}),
            "reopen": ("SET enable_external_access = true", None),
            "widen": ("SET allowed_directories = ['/']", None),
        }
        for name, (sql, params) in attempts.items():
            try:
                ctx.con.execute(sql, params)
                tried[name] = "ran"
            except (duckdb.PermissionException, duckdb.InvalidInputException) as exc:
                tried[name] = type(exc).__name__
        ctx.con.execute("COPY (SELECT 1 AS one) TO $p", {"p": str(ctx.out_dir / "inside.csv")})
        return {}

    spec = load_round(layout["round"])
    run_round(spec, tmp_path / "out", RoundSettings.of_round(spec), [], stages=[Stage("attack", attack)])
    assert "ran" not in tried.values(), tried
    assert not outside.exists() and not (tmp_path / "other.duckdb").exists()
    assert (tmp_path / "out" / "inside.csv").read_text() == "one\n1\n"


def test_the_command_line_refuses_an_injected_round_file(layout):
    """An attacker outside the process: `silentcert round run` on the injected round.toml writes nothing."""
    pwned = layout["base"] / "pwned-cli.csv"
    toml = variant(layout, "cli", f'\n[resources]\nmemory_limit = "{memory_injection(pwned)}"\n')
    out = layout["base"] / "out-cli"
    done = subprocess.run([sys.executable, "-m", "silentcert.clients.cli", "round", "run", str(toml), "--out", str(out)],
                          cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode != 0, done.stdout
    assert "[resources] memory_limit must be a memory size" in done.stderr
    assert not pwned.exists() and not out.exists()


# --- over the server ---------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def server(layout, tmp_path_factory):
    """All services, authentication off (test_security's subject), rounds confined to root/; the round runner
    can be swapped per test (`runner["run"]`), the real pipeline by default."""
    with EmbeddedStore(tmp_path_factory.mktemp("round-injection-graph") / "graph.duckdb") as store:
        roots = RoundRoots.of(layout["root"])
        real = pipeline_runner([store], roots)
        runner = {"run": real, "real": real}
        engines = serving.Engines(resolve_one=exact_id_resolver(store),
                                  run_round=lambda *args: runner["run"](*args))
        settings = serving.ServeSettings(address="127.0.0.1:0", grace_seconds=0, rounds=roots,
                                         security=SecuritySettings(insecure_dev=True))
        running = serving.start(settings, [store], engines)
        with SilentcertClient(f"127.0.0.1:{running.port}", timeout=120) as client:
            yield client, runner
        runner["run"] = real
        running.server.stop(0).wait()


def refused(client, round_file: str, out_dir: str) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as caught:
        list(client.resolver.SubmitRound(rs.SubmitRoundRequest(round_file=round_file, out_dir=out_dir), timeout=120))
    error = caught.value
    assert error.code() is grpc.StatusCode.PERMISSION_DENIED, error.details()
    assert dict(error.trailing_metadata())["silentcert-field"] == "round_file"
    return error


def test_a_leading_space_does_not_lead_out_of_the_root(server, layout):
    client, _ = server
    outside = layout["outside"] / "2021-10" / "registry.csv"
    header = outside.read_text(encoding="utf-8").splitlines()[0]
    variant(layout, "space", replace=('file = "registry.csv"', f'file = " {outside}"'))
    error = refused(client, "space/round.toml", "out/space")
    assert "[registry] file" in error.details() and "outside the rounds root" in error.details()
    assert header not in error.details() and "person_id" not in error.details()
    assert not (layout["root"] / "out" / "space").exists()


def test_a_round_file_changed_after_submission_is_checked_as_run(server, layout):
    """The round is confined on the one parse it runs from: a round.toml rewritten once the call is accepted (as
    the servicer used to check, then the round thread re-read) still cannot name a file outside the root."""
    client, runner = server
    toml = variant(layout, "swapped")
    outside = layout["outside"] / "2021-10" / "registry.csv"

    def swap_then_run(round_file: Path, out_dir: Path, emit):
        text = round_file.read_text(encoding="utf-8")
        round_file.write_text(text.replace('file = "registry.csv"', f'file = "{outside}"'), encoding="utf-8")
        return runner["real"](round_file, out_dir, emit)

    runner["run"] = swap_then_run
    try:
        error = refused(client, str(toml), "out/swapped")
    finally:
        runner["run"] = runner["real"]
    assert "[registry] file" in error.details()
    assert not (layout["root"] / "out" / "swapped").exists()


def test_a_symlink_in_the_round_directory_is_refused(server, layout):
    client, _ = server
    toml = variant(layout, "symlinked")
    (toml.parent / "registry.csv").unlink()
    (toml.parent / "registry.csv").symlink_to(layout["outside"] / "2021-10" / "registry.csv")
    error = refused(client, "symlinked/round.toml", "out/symlinked")
    assert "[registry] file" in error.details()
    assert not (layout["root"] / "out" / "symlinked").exists()


def test_a_submitted_round_cannot_choose_the_spark_master(server, layout):
    client, _ = server
    toml = variant(layout, "spark", '\n[linkage]\nspark_master = "spark://collector.example:7077"\n')
    error = refused(client, "spark/round.toml", "out/spark")
    assert "spark_master" in error.details()
    assert not (layout["root"] / "out" / "spark").exists()
    # the operator on the command line still may
    assert RoundSettings.of_round(load_round(toml)).linkage.spark_master == "spark://collector.example:7077"


def test_a_clean_round_still_runs_over_the_server(server, layout):
    client, _ = server
    events = list(client.submit_round("2021-10/round.toml", "out/clean"))
    assert events[-1].stage == "done"
    assert (layout["root"] / "out" / "clean" / "verdicts.csv").read_text(encoding="utf-8").count("\n") == 151
