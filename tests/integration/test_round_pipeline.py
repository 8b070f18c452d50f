"""A whole round on a generated county: contract files, reconciliation, rerun idempotence, kill -9 and resume."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json
import os
import shutil
import signal
import struct
import subprocess
import sys
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from silentcert.clients.rounds import run_round_files
from silentcert.graph.errors import StageFailed
from silentcert.services.rounds.roundfile import load_round
from silentcert.synthetic import generate

AS_OF = dt.date(2021, 10, 31)
OUTPUT_COLUMNS = {
    "verdicts.csv": ["person_id", "status", "method", "source", "evidence_at", "probability", "certified_until"],
    "links.csv": ["source", "record_id", "person_id", "match_probability"],
    "rejects.csv": ["source", "record_id", "line", "reason"],
    "flags.csv": ["flag_id", "person_id", "kind", "severity", "detail"],
    "notices.csv": ["person_id", "kind", "channel", "recipient", "message", "priority"],
    "forecast.csv": ["person_id", "certified_until", "last_silent_evidence", "lapse_probability", "priority"],
    "payments.csv": ["person_id", "action", "effective", "months", "amount"],
}


@pytest.fixture(scope="module")
def round_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("round")
    generate(pensioners=3000, seed=11, as_of=AS_OF, out=out)
    return out


@pytest.fixture(scope="module")
def finished(round_dir, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("out")
    run_round_files(round_dir / "round.toml", out, store=None, neo4j_uri=None)
    return out


def _rows(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _digests(out: Path) -> dict[str, str]:
    names = [*OUTPUT_COLUMNS, "report.json", "report.html"]
    return {name: hashlib.sha256((out / name).read_bytes()).hexdigest() for name in names}


def _input_rows(path: Path, encoding: str) -> int:
    """Data rows of an input file, counted independently of the readers under test."""
    if path.suffix == ".parquet":
        return pq.read_metadata(path).num_rows
    with open(path, encoding=encoding, newline="") as handle:
        return sum(1 for row in list(csv.reader(handle))[1:] if any(field.strip() for field in row))


def test_outputs_have_the_contract_columns(finished):
    for name, columns in OUTPUT_COLUMNS.items():
        with open(finished / name, encoding="utf-8", newline="") as handle:
            assert next(csv.reader(handle)) == columns, name
    report = json.loads((finished / "report.json").read_text(encoding="utf-8"))
    assert isinstance(report["weak_evidence"]["can_certify"], bool)
    assert report["weak_evidence"]["threshold_log_odds"] > 0
    assert 0 < report["overpayment_confirmed"] <= report["overpayment_total"]
    assert set(report["county_names"]) == {row[0] for row in report["figures"]["counties"]}  # all Jiangxi codes
    page = (finished / "report.html").read_text(encoding="utf-8")
    assert "<svg" in page and "weak evidence" in page


def test_one_verdict_per_registry_person(round_dir, finished):
    verdicts = _rows(finished / "verdicts.csv")
    registry_ids = {row["person_id"] for row in _rows(round_dir / "registry.csv") if row["person_id"].strip()}
    assert len(verdicts) == len({v["person_id"] for v in verdicts}) == len(registry_ids)
    assert {v["status"] for v in verdicts} <= {"certified", "uncertified", "deceased", "review"}
    assert {v["method"] for v in verdicts} <= {"strong", "weak", "face", "in_person", "carried", "none"}


def test_every_input_row_is_linked_or_rejected_exactly_once(round_dir, finished):
    spec = load_round(round_dir / "round.toml")
    links = _rows(finished / "links.csv")
    rejects = _rows(finished / "rejects.csv")
    for source in spec.sources:
        linked = [r for r in links if r["source"] == source.name]
        rejected = [r for r in rejects if r["source"] == source.name]
        assert len(linked) + len(rejected) == _input_rows(source.path, source.encoding), source.name
        assert len({r["record_id"] for r in linked}) == len(linked), f"{source.name}: a record linked twice"
    assert all(r["reason"].strip() for r in rejects)


def test_rerunning_a_finished_round_changes_nothing(round_dir, finished):
    before = _digests(finished)
    run_round_files(round_dir / "round.toml", finished, store=None, neo4j_uri=None)
    assert _digests(finished) == before


def test_the_store_holds_the_rounds_audit_chain(finished):
    """Publish chains the round's events on a thread while the store writes: the trail must still be whole."""
    from silentcert.clients.rounds import EMBEDDED_STORE
    from silentcert.graph.audit_key import load_audit_key
    from silentcert.graph.connect import StoreSettings
    from silentcert.graph.embedded import EmbeddedStore
    from silentcert.services.deathcheck.audit import ROUND_CLOSED, verify

    with duckdb.connect(str(finished / "state" / "round.duckdb"), read_only=True) as con:
        events = con.execute("SELECT subject FROM audit_events ORDER BY ordinal").fetchall()
    with EmbeddedStore(finished / EMBEDDED_STORE, read_only=True) as store:
        trail = store.audit_trail()
    key = load_audit_key(StoreSettings(embedded_path=finished / EMBEDDED_STORE).audit_key_path)  # the round's
    assert events and verify(trail, key=key) is None and verify(trail) is not None               # secret, kept
    assert [e.subject for e in trail[:-1]] == [subject for (subject,) in events]
    assert trail[-1].action == ROUND_CLOSED and trail[-1].after["events"] == len(events)


def test_each_stage_records_the_peak_memory_so_far(finished):
    """The round ran in this process: each stage's peak_rss_mib is the process's peak at its end, in MiB, so
    the figures never fall from stage to stage and none exceeds this process's peak now."""
    import resource

    from silentcert.services.rounds.pipeline import default_stages

    with duckdb.connect(str(finished / "state" / "round.duckdb"), read_only=True) as con:
        stats = {stage: json.loads(text) for stage, text in con.execute("SELECT stage, stats FROM stages").fetchall()}
    peaks = [stats[stage.name]["peak_rss_mib"] for stage in default_stages()]
    assert all(isinstance(p, int) and p > 0 for p in peaks)
    assert peaks == sorted(peaks)
    assert peaks[-1] <= resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


@pytest.mark.parametrize("stage", ["resolve", "deathcheck"])
def test_killed_round_resumes_to_the_same_outputs(round_dir, finished, tmp_path, stage):
    """kill -9 as the stage starts (its progress line read from the round's own stderr): the rerun says it resumed
    there, not earlier and not later, and writes byte-identical outputs."""
    out = tmp_path / "killed"
    command = [sys.executable, "-m", "silentcert.clients.cli", "round", "run", str(round_dir / "round.toml"), "--out", str(out)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    assert process.stderr is not None
    for line in process.stderr:
        if line.rstrip().endswith(f"stage {stage} started"):
            os.kill(process.pid, signal.SIGKILL)
            break
    process.wait(timeout=600)
    assert process.returncode == -signal.SIGKILL, f"the round ended before stage {stage} started"
    rerun = subprocess.run(command, check=True, capture_output=True, text=True, timeout=600)
    assert f"(resumed at {stage})" in rerun.stdout
    assert _digests(out) == _digests(finished)


def test_a_round_out_of_store_memory_resumes_at_publish_with_more(round_dir, finished, tmp_path):
    """A round stopped by [resources] resumes, not restarts, once [resources] is raised: the earlier stages stay."""
    copy = shutil.copytree(round_dir, tmp_path / "round")  # copy2 keeps the mtimes the fingerprint reads
    round_file = copy / "round.toml"
    text = round_file.read_text(encoding="utf-8")
    round_file.write_text(text + '\n[resources]\nstore_memory_limit = "1MB"\n', encoding="utf-8")
    out = tmp_path / "out"
    with pytest.raises(StageFailed, match="(?s)stage 'publish' failed: .*raise \\[resources\\] memory_limit"):
        run_round_files(round_file, out, store=None, neo4j_uri=None)
    con = duckdb.connect(str(out / "state" / "round.duckdb"), read_only=True)
    finished_stages = {stage for (stage,) in con.execute("SELECT stage FROM stages").fetchall()}
    con.close()
    assert finished_stages == {"ingest", "resolve", "score", "deathcheck", "forecast"}
    round_file.write_text(text + '\n[resources]\nstore_memory_limit = "1GB"\n', encoding="utf-8")
    summary = run_round_files(round_file, out, store=None, neo4j_uri=None)
    assert summary.resumed_from == "publish"
    assert _digests(out) == _digests(finished)


# ---- the report page in a real browser --------------------------------------------------------------------

def _png_size(path: Path) -> tuple[int, int]:
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    return struct.unpack(">II", header[16:24])


def test_report_renders_with_charts_in_headless_chromium(finished, tmp_path, chromium):
    page = (finished / "report.html").read_text(encoding="utf-8")
    assert page.count("<svg") >= 5 and "http" not in page.split("</title>", 1)[1], "charts inline, nothing fetched"
    shot = tmp_path / "report.png"
    subprocess.run(
        [chromium.executable, "--headless", *chromium.flags, f"--user-data-dir={tmp_path / 'profile'}",
         "--window-size=1200,1600", f"--screenshot={shot}", (finished / "report.html").as_uri()],
        check=True, timeout=120, capture_output=True,
    )
    assert _png_size(shot) == (1200, 1600)
    assert shot.stat().st_size > 30_000, "a blank page compresses to a few kB; charts do not"


_GLYPH_PROBE = """<!doctype html><meta charset=utf-8><body><script>
const font = "32px " + FONT_STACK;
function bitmap(ch) {
  const canvas = document.createElement("canvas");
  canvas.width = canvas.height = 48;
  const ctx = canvas.getContext("2d");
  ctx.font = font;
  ctx.fillText(ch, 4, 36);
  return ctx.getImageData(0, 0, 48, 48).data.join(",");
}
const cjk = [...CHARS].map(bitmap), missing = ["\\u0378", "\\u0379"].map(bitmap);
document.body.textContent = "RESULT" + JSON.stringify(
  {chars: cjk.length, distinct: new Set(cjk).size, missing_alike: missing[0] === missing[1]}) + "END";
</script>"""


def test_report_chinese_renders_as_glyphs_not_empty_boxes(finished, tmp_path, chromium):
    """Each Chinese character of the page, drawn in the page's font stack, has a glyph of its own; with no CJK font
    every one is the same empty box, as two characters no font has are (checked too, so the probe can tell)."""
    from silentcert.services.rounds.report import FONT_STACK

    page = (finished / "report.html").read_text(encoding="utf-8")
    chars = "".join(dict.fromkeys(c for c in page if "\u4e00" <= c <= "\u9fff"))[:12]
    assert len(chars) >= 8, "the Chinese page has Chinese text"
    probe = tmp_path / "probe.html"
    probe.write_text(_GLYPH_PROBE.replace("FONT_STACK", json.dumps(FONT_STACK)).replace("CHARS", json.dumps(chars)),
                     encoding="utf-8")
    dom = subprocess.run(
        [chromium.executable, "--headless", *chromium.flags, f"--user-data-dir={tmp_path / 'p'}",
         "--virtual-time-budget=5000", "--dump-dom", probe.as_uri()],
        check=True, timeout=120, capture_output=True, text=True).stdout
    result = json.loads(dom.split("RESULT", 1)[1].split("END", 1)[0])
    assert result["missing_alike"], "the probe cannot tell a glyph from an empty box here"
    assert result["distinct"] == result["chars"], (
        f"{result['chars'] - result['distinct'] + 1} of {chars!r} draw as the same box: no CJK font "
        "(.ci/run installs fonts-noto-cjk)")
