"""The batch client: submit a round to running services over gRPC, follow its progress, fetch its outputs."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from silentcert.clients.cli import main
from silentcert.graph.embedded import EmbeddedStore
from silentcert.services import serving
from silentcert.services.rounds.outputs import OUTPUT_NAMES
from silentcert.services.security.round_paths import RoundRoots
from silentcert.services.security.settings import SecuritySettings
from silentcert.synthetic import generate


@pytest.fixture
def server(tmp_path):
    store = EmbeddedStore(tmp_path / "graph.duckdb")
    settings = serving.ServeSettings(address="127.0.0.1:0", security=SecuritySettings(insecure_dev=True),
                                     rounds=RoundRoots.of(tmp_path))
    running = serving.start(settings, [store])
    yield f"127.0.0.1:{running.port}"
    running.server.stop(0).wait()
    store.close()


def test_submit_follow_and_fetch(server, tmp_path, capsys):
    generate(pensioners=800, seed=5, as_of=dt.date(2021, 10, 31), out=tmp_path / "round")
    server_out, fetched = tmp_path / "server-out", tmp_path / "fetched"
    code = main(["round", "submit", str(tmp_path / "round" / "round.toml"), "--out", str(server_out),
                 "--server", server, "--fetch", str(fetched)])
    assert code == 0
    captured = capsys.readouterr()
    printed = captured.out
    assert "written to" in printed and "publish.verdicts" in printed
    assert re.search(r"deathcheck\.overpayment_confirmed +[\d,]+\.\d", printed), "non-integer figures shown"
    assert re.search(r"score\.weak_threshold_log_odds +\d+\.\d+", printed)
    table = [line for line in printed.splitlines() if re.match(r"  \w+\.\w+ ", line)]
    assert len(table) > 10 and len({len(line) for line in table}) == 1, "names and values in aligned columns"
    assert not re.search(r"\b0 rows", captured.out + captured.err), "no progress line for rows nobody published here"
    assert {"payments.csv", "verdicts.csv", "report.html"} <= set(OUTPUT_NAMES)
    for name in OUTPUT_NAMES:
        assert (fetched / name).read_bytes() == (server_out / name).read_bytes(), name


def test_fetching_anything_but_an_output_is_refused(server, tmp_path, capsys):
    from silentcert.clients.grpc_client import SilentcertClient
    from silentcert.graph.errors import InvalidInput, NotFound

    with SilentcertClient(server) as client:
        with pytest.raises(InvalidInput, match="name must be one of"):
            client.fetch_round_file(str(tmp_path), "../../etc/passwd", tmp_path / "x")
        with pytest.raises(NotFound, match="not the output directory of a round"):
            client.fetch_round_file(str(tmp_path), "verdicts.csv", tmp_path / "x")
