"""The resume fingerprint: what a round computes from changes it, how it runs ([resources]) does not."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from silentcert.services.rounds import pipeline
from silentcert.services.rounds.roundfile import load_round

ROUND = """
[round]
id = "2021-10"
as_of = 2021-10-31

[registry]
file = "registry.csv"

[[sources]]
name = "vaccination"
kind = "strong"
file = "vac.csv"

[linkage]
auto_threshold = 0.9
"""


@pytest.fixture
def round_file(tmp_path: Path) -> Path:
    (tmp_path / "registry.csv").write_text("person_id,name\nP1,王明\n", encoding="utf-8")
    (tmp_path / "vac.csv").write_text("record_id,occurred_at,id_number\nV1,2021-05-01,360102195001011237\n",
                                      encoding="utf-8")
    path = tmp_path / "round.toml"
    path.write_text(ROUND, encoding="utf-8")
    return path


def _fingerprint(path: Path, text: str) -> str:
    path.write_text(text, encoding="utf-8")
    return pipeline.round_fingerprint(load_round(path))


def test_how_the_round_runs_and_comments_leave_the_fingerprint_alone(round_file):
    before = _fingerprint(round_file, ROUND)
    bounded = ROUND + '\n[resources]\nmemory_limit = "10GB"\ncompress_strings = true\n'
    assert _fingerprint(round_file, bounded) == before
    assert _fingerprint(round_file, "# rerun with more memory\n" + bounded) == before
    chunked = bounded.replace("auto_threshold = 0.9", "auto_threshold = 0.9\npredict_chunk_records = 8000000")
    assert _fingerprint(round_file, chunked) == before
    linkage_added = ROUND.replace("[linkage]\nauto_threshold = 0.9\n", "")
    unlinked = _fingerprint(round_file, linkage_added)
    assert _fingerprint(round_file, linkage_added + "\n[linkage]\npredict_chunk_records = 8000000\n") == unlinked


def test_what_the_round_computes_from_changes_the_fingerprint(round_file):
    before = _fingerprint(round_file, ROUND)
    assert _fingerprint(round_file, ROUND.replace("auto_threshold = 0.9", "auto_threshold = 0.8")) != before
    assert _fingerprint(round_file, ROUND.replace('as_of = 2021-10-31', 'as_of = 2021-11-30')) != before
    round_file.write_text(ROUND, encoding="utf-8")
    stat = (round_file.parent / "vac.csv").stat()
    os.utime(round_file.parent / "vac.csv", ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    assert pipeline.round_fingerprint(load_round(round_file)) != before


def _finished_stages_after_reopening(out: Path, spec, stored: str) -> list[str]:
    (out / pipeline.STATE_DIR).mkdir(parents=True)
    con = pipeline._open(out, spec)
    con.execute("UPDATE fingerprint SET value = ?", [stored])
    con.execute("INSERT INTO stages VALUES ('ingest', now(), '{}')")
    con.close()
    con = pipeline._open(out, spec)
    try:
        return sorted(pipeline._finished_stages(con))
    finally:
        con.close()


def test_a_working_database_resumes_only_when_made_from_the_same_inputs(round_file, tmp_path):
    round_file.write_text(ROUND + '\n[resources]\nmemory_limit = "10GB"\n', encoding="utf-8")
    spec = load_round(round_file)
    same = pipeline.round_fingerprint(spec)
    assert _finished_stages_after_reopening(tmp_path / "same", spec, same) == ["ingest"]
    assert _finished_stages_after_reopening(tmp_path / "other", spec, "made from other inputs") == []
