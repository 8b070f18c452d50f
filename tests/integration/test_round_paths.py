"""SubmitRound and FetchRoundFile stay inside the server's rounds roots (issue 7): a real server on a real port with
the real round pipeline. A path outside the root, a `..` escape and a symlink escape are PERMISSION_DENIED naming
the field; a round inside the root runs and its outputs can be fetched."""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
from pathlib import Path

import grpc
import pytest

from silentcert.clients import serve_command
from silentcert.clients.cli import main as cli_main
from silentcert.clients.grpc_client import SilentcertClient
from silentcert.graph.embedded import EmbeddedStore
from silentcert.graph.errors import Forbidden, InvalidInput
from silentcert.resolver.v1 import resolver_pb2 as rs
from silentcert.services import serving
from silentcert.services.resolver import server as resolver_server
from silentcert.services.resolver.one_record import exact_id_resolver
from silentcert.services.security.round_paths import RoundRoots
from silentcert.services.security.settings import SecuritySettings
from silentcert.synthetic import generate

AS_OF = dt.date(2021, 10, 31)


@pytest.fixture(scope="module")
def layout(tmp_path_factory) -> dict[str, Path]:
    """root/ (the rounds root) holding a generated round, and outside/ beside it holding another."""
    base = tmp_path_factory.mktemp("round-paths")
    root, outside = base / "root", base / "outside"
    generate(pensioners=150, seed=3, as_of=AS_OF, out=root / "2021-10")
    generate(pensioners=150, seed=3, as_of=AS_OF, out=outside / "2021-10")
    return {"base": base, "root": root, "outside": outside}


@pytest.fixture(scope="module")
def client(layout, tmp_path_factory):
    """All services, authentication off (test_security's subject), rounds confined to root/."""
    with EmbeddedStore(tmp_path_factory.mktemp("round-paths-graph") / "graph.duckdb") as store:
        settings = serving.ServeSettings(address="127.0.0.1:0", grace_seconds=0,
                                         security=SecuritySettings(insecure_dev=True),
                                         rounds=RoundRoots.of(layout["root"]))
        running = serving.start(settings, [store])
        with SilentcertClient(f"127.0.0.1:{running.port}", timeout=60) as c:
            yield c
        running.server.stop(0).wait()


def refused(call, field: str) -> grpc.RpcError:
    """The rpc is PERMISSION_DENIED with the trailer naming `field`."""
    with pytest.raises(grpc.RpcError) as caught:
        call()
    error = caught.value
    assert error.code() is grpc.StatusCode.PERMISSION_DENIED, error.details()
    assert dict(error.trailing_metadata())["silentcert-field"] == field
    assert "outside the rounds root" in error.details()
    return error


def submit(c: SilentcertClient, round_file: str, out_dir: str):
    return lambda: list(c.resolver.SubmitRound(rs.SubmitRoundRequest(round_file=round_file, out_dir=out_dir),
                                               timeout=120))


def fetch(c: SilentcertClient, out_dir: str, name: str = "verdicts.csv"):
    return lambda: b"".join(r.chunk for r in c.resolver.FetchRoundFile(
        rs.FetchRoundFileRequest(out_dir=out_dir, name=name), timeout=30))


def test_a_round_inside_the_root_runs_and_its_outputs_are_fetched(client, layout, tmp_path):
    events = list(client.submit_round("2021-10/round.toml", "out/inside"))  # relative: below the root
    out = layout["root"] / "out" / "inside"
    assert events[-1].stage == "done" and events[-1].summary.out_dir == str(out)
    assert client.fetch_round_file("out/inside", "verdicts.csv", tmp_path / "v.csv") > 0
    assert (tmp_path / "v.csv").read_bytes() == (out / "verdicts.csv").read_bytes()
    absolute = client.fetch_round_file(str(out), "report.json", tmp_path / "r.json")
    assert absolute == (out / "report.json").stat().st_size


def test_paths_outside_the_root_are_refused(client, layout):
    outside = layout["outside"]
    refused(submit(client, str(outside / "2021-10" / "round.toml"), "out/x"), "round_file")
    refused(submit(client, "2021-10/round.toml", str(outside / "out")), "out_dir")
    refused(submit(client, "/etc/passwd", "out/x"), "round_file")
    refused(fetch(client, str(outside)), "out_dir")
    assert not (outside / "out").exists()


def test_dot_dot_escapes_are_refused(client, layout):
    refused(submit(client, "../outside/2021-10/round.toml", "out/x"), "round_file")
    refused(submit(client, "2021-10/../../outside/2021-10/round.toml", "out/x"), "round_file")
    refused(submit(client, "2021-10/round.toml", "out/../../outside/out"), "out_dir")
    refused(fetch(client, "../outside"), "out_dir")
    assert not (layout["outside"] / "out").exists()


def test_symlink_escapes_are_refused(client, layout):
    root, outside = layout["root"], layout["outside"]
    (root / "linked-in").symlink_to(outside / "2021-10", target_is_directory=True)
    (root / "linked-out").symlink_to(outside, target_is_directory=True)
    refused(submit(client, "linked-in/round.toml", "out/x"), "round_file")
    refused(submit(client, "2021-10/round.toml", "linked-out/out"), "out_dir")
    refused(fetch(client, "linked-out"), "out_dir")
    assert not (outside / "out").exists()


def test_a_round_file_naming_files_outside_the_root_is_refused(client, layout):
    root, outside = layout["root"], layout["outside"]
    sneaky = root / "sneaky"
    sneaky.mkdir()
    toml = (root / "2021-10" / "round.toml").read_text(encoding="utf-8")
    (sneaky / "round.toml").write_text(toml.replace('file = "registry.csv"',
                                                    f'file = "{outside / "2021-10" / "registry.csv"}"'),
                                       encoding="utf-8")
    assert toml != (sneaky / "round.toml").read_text(encoding="utf-8")
    error = refused(submit(client, "sneaky/round.toml", "out/sneaky"), "round_file")
    assert "[registry] file" in error.details()

    linked = root / "linked-source"
    shutil.copytree(root / "2021-10", linked, symlinks=True)
    evidence = next((linked / "evidence").iterdir())
    evidence.unlink()
    evidence.symlink_to(outside / "2021-10" / "evidence" / evidence.name)
    error = refused(submit(client, "linked-source/round.toml", "out/linked"), "round_file")
    assert "source '" in error.details()  # the source named by its name
    assert not (root / "out" / "sneaky").exists() and not (root / "out" / "linked").exists()


def test_a_round_file_setting_a_path_outside_the_root_is_refused(client, layout):
    root, outside = layout["root"], layout["outside"]
    shutil.copytree(root / "2021-10", root / "saves-model")
    toml = root / "saves-model" / "round.toml"
    toml.write_text(toml.read_text(encoding="utf-8") + f'\n[linkage]\nsave_model_path = "{outside / "m.json"}"\n',
                    encoding="utf-8")
    error = refused(submit(client, "saves-model/round.toml", "out/saves-model"), "round_file")
    assert "[linkage] save_model_path" in error.details()
    assert not (outside / "m.json").exists()


def test_fetch_never_follows_an_output_symlinked_out_of_its_round(client, layout):
    out = layout["root"] / "out" / "planted"
    (out / "state").mkdir(parents=True)
    (out / "state" / "round.duckdb").write_bytes(b"")
    (out / "flags.csv").symlink_to(layout["outside"] / "2021-10" / "registry.csv")
    refused(fetch(client, "out/planted", "flags.csv"), "name")


def test_without_a_root_the_batch_rpcs_are_refused(tmp_path):
    """The resolver's default: no roots, no rounds (`silentcert serve` without --rounds-root, not --insecure-dev)."""
    with EmbeddedStore(tmp_path / "graph.duckdb") as store:
        server, port = resolver_server.create_server(resolver_server.ResolverConfig(), store,
                                                     resolve_one=exact_id_resolver(store),
                                                     run_round=lambda *_: pytest.fail("the round must not run"))
        server.start()
        try:
            with SilentcertClient(f"127.0.0.1:{port}") as c:
                with pytest.raises(Forbidden, match="no --rounds-root"):
                    list(c.submit_round(str(tmp_path / "round.toml"), str(tmp_path / "out")))
                with pytest.raises(Forbidden, match="no --rounds-root"):
                    c.fetch_round_file(str(tmp_path), "verdicts.csv", tmp_path / "v.csv")
        finally:
            server.stop(0).wait()


def test_serve_defaults(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    dev = serving.ServeSettings(security=SecuritySettings(insecure_dev=True))
    assert serving.round_roots(dev) == RoundRoots.of(tmp_path)
    assert not serving.round_roots(serving.ServeSettings()).configured
    assert RoundRoots.of(tmp_path / "in", output=tmp_path / "out").out_dir("r1") == tmp_path / "out" / "r1"


def test_serve_refuses_a_rounds_root_that_is_not_a_directory(tmp_path, capsys):
    code = cli_main(["serve", "--store", str(tmp_path / "g.duckdb"), "--address", "127.0.0.1:0", "--insecure-dev",
                     "--rounds-root", str(tmp_path / "absent")])
    assert code != 0 and "rounds root" in capsys.readouterr().err
    with pytest.raises(InvalidInput):
        serve_command._rounds_settings(argparse.Namespace(rounds_root=None, rounds_out=tmp_path))


def test_another_registry_outside_the_root_is_refused(client, layout):
    root, outside = layout["root"], layout["outside"]
    shutil.copytree(root / "2021-10", root / "other-registry")
    toml = root / "other-registry" / "round.toml"
    toml.write_text(toml.read_text(encoding="utf-8") + "\n[[other_registries]]\nname = \"urban\"\n"
                    f"file = \"{outside / '2021-10' / 'registry.csv'}\"\n", encoding="utf-8")
    error = refused(submit(client, "other-registry/round.toml", "out/other-registry"), "round_file")
    assert "other registry 'urban' file" in error.details()
    assert not (root / "out" / "other-registry").exists()
