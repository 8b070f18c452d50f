"""A truncated or corrupt input file never half-publishes (issue 7, faults; CONTRACT sections 1 and 3).

A file that cannot be read as a whole (a GB18030 CSV cut inside a character, a Parquet file cut in half) makes the
input unusable: `silentcert round run` exits non-zero with one line naming the file, writes no outputs, and the
graph store still holds exactly the previous round. A CSV cut inside a row at a character boundary is a bad *row*:
that row is rejected with its line and the round goes on. Runs over the CLI and the embedded store; the same
guarantee over Neo4j is in test_neo4j_faults.py.
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pyarrow.csv as pacsv
import pytest

from silentcert.clients.cli import main as cli_main
from silentcert.graph.embedded import EmbeddedStore
from silentcert.services.rounds.publish import OUTPUT_FILES
from silentcert.synthetic import generate

AS_OF = dt.date(2021, 10, 31)


@pytest.fixture(scope="module")
def first_round(tmp_path_factory) -> dict[str, Path]:
    """Round 2021-10 generated and published into a store that the next round shares."""
    base = tmp_path_factory.mktemp("truncated")
    generate(pensioners=200, seed=4, as_of=AS_OF, out=base / "2021-10")
    store = base / "graph.duckdb"
    assert cli_main(["round", "run", str(base / "2021-10"), "--out", str(base / "out-2021-10"),
                     "--store", str(store)]) == 0
    return {"base": base, "inputs": base / "2021-10", "store": store}


@pytest.fixture
def store(first_round, tmp_path) -> Path:
    """This test's copy of the store holding round 2021-10."""
    copy = tmp_path / "graph.duckdb"
    shutil.copy(first_round["store"], copy)
    return copy


@pytest.fixture
def next_round(first_round, tmp_path) -> Path:
    """Round 2021-11: the same files under a new id and date, ready to be damaged."""
    inputs = tmp_path / "2021-11"
    shutil.copytree(first_round["inputs"], inputs)
    toml = inputs / "round.toml"
    toml.write_text(toml.read_text(encoding="utf-8").replace('id = "2021-10"', 'id = "2021-11"')
                    .replace("as_of = 2021-10-31", "as_of = 2021-11-30"), encoding="utf-8")
    return inputs


def published(store: Path) -> tuple[dict[str, int], list[dict]]:
    """What the store holds: node/relationship counts and every certification period."""
    with EmbeddedStore(store) as s:
        return s.counts(), sorted(s.periods().to_pylist(), key=lambda r: r["person_id"])


def run(inputs: Path, out: Path, store: Path) -> int:
    return cli_main(["round", "run", str(inputs), "--out", str(out), "--store", str(store)])


def cut_inside_a_character(path: Path) -> None:
    """Keep the first half of the file and the first byte of the next multi-byte GB18030 character."""
    data = path.read_bytes()
    at = len(data) // 2
    while data[at] < 0x80:
        at += 1
    path.write_bytes(data[:at + 1])


@pytest.mark.parametrize(("source", "damage", "named"), [
    ("evidence/vaccination.csv", cut_inside_a_character, "vaccination.csv ends in the middle of a gb18030 character"),
    ("evidence/health_code.parquet", lambda p: p.write_bytes(p.read_bytes()[:p.stat().st_size // 2]),
     "health_code.parquet is not a readable Parquet file"),
])
def test_an_unreadable_file_fails_the_round_and_publishes_nothing(store, next_round, tmp_path, capsys,
                                                                  source, damage, named):
    before = published(store)
    assert before[0]["Round"] == 1
    original = (next_round / source).read_bytes()
    damage(next_round / source)
    out = tmp_path / "out-2021-11"
    capsys.readouterr()

    assert run(next_round, out, store) == 2
    err = capsys.readouterr().err
    reasons = [line for line in err.splitlines() if line.startswith("silentcert: ")]  # after the progress lines
    assert len(reasons) == 1 and named in reasons[0], err
    assert not [name for name in [*OUTPUT_FILES, "report.json", "report.html"] if (out / name).exists()]
    assert published(store) == before, "the failed round changed the published graph"

    (next_round / source).write_bytes(original)  # the whole file delivered again: the round runs
    assert run(next_round, out, store) == 0
    assert (out / "verdicts.csv").exists()
    assert published(store)[0]["Round"] == 2


def test_a_csv_cut_inside_a_row_rejects_that_row_and_the_round_goes_on(store, next_round, tmp_path):
    source = next_round / "evidence" / "inpatient.csv"
    lines = source.read_bytes().splitlines(keepends=True)
    last = lines[-1]
    source.write_bytes(b"".join(lines[:-1]) + last[:last.index(b",") + 1])  # the last row ends after one field
    out = tmp_path / "out-2021-11"

    assert run(next_round, out, store) == 0
    rejects = pacsv.read_csv(out / "rejects.csv").to_pylist()
    cut = [r for r in rejects if r["source"] == "inpatient" and r["line"] == len(lines)]
    assert len(cut) == 1 and "truncated line" in cut[0]["reason"], cut
    links = pacsv.read_csv(out / "links.csv", convert_options=pacsv.ConvertOptions(
        column_types={"record_id": "string", "person_id": "string"})).to_pylist()
    accounted = sum(1 for r in links if r["source"] == "inpatient") + \
        sum(1 for r in rejects if r["source"] == "inpatient")
    assert accounted == len(lines) - 1  # every data row, the cut one included, exactly once
