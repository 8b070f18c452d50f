"""A small generated county, run end to end and scored against its ground truth with loose floors (not timed).

The floors sit below what a 5,000-pensioner round measures (docs/benchmarks.md) by a margin a 2,000-pensioner
sample can wobble, and well above what a broken stage gives: a linker that links nothing, a scorer that
certifies nobody or everybody, a death check that marks no one deceased all fail here.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import sys
from pathlib import Path

import pytest

from clients.rounds import run_round_files
from synthetic import generate

AS_OF = dt.date(2021, 10, 31)
QUALITY = Path(__file__).resolve().parents[2] / "benchmarks" / "province_quality.py"


def _quality_module():
    spec = importlib.util.spec_from_file_location("province_quality", QUALITY)
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("province_quality", module)  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def figures(tmp_path_factory) -> dict[str, object]:
    round_dir = tmp_path_factory.mktemp("county")
    generate(pensioners=2000, seed=23, as_of=AS_OF, out=round_dir)
    out = tmp_path_factory.mktemp("county-out")
    run_round_files(round_dir / "round.toml", out, store=None, neo4j_uri=None)
    return {f.name: f for f in _quality_module().score(out, round_dir, limit=3)}


def test_links_are_precise_and_attributable_rows_found(figures):
    assert figures["precision all sources"].value >= 0.995
    assert figures["recall, rows attributable to one person"].value >= 0.98


def test_rows_reconcile_per_source(figures):
    reconciliation = [f for f in figures.values() if f.group == "reconciliation"]
    assert len(reconciliation) >= 17  # 16 sources, verdicts, unmatched rows
    assert all(f.value == 0 for f in reconciliation), [f.name for f in reconciliation if f.value != 0]


def test_the_living_with_evidence_are_certified(figures):
    assert figures["alive with evidence or channel: certified"].value >= 0.99  # seed 23 measures 1909/1916


def test_the_living_a_sound_model_could_certify_are_certified(figures):
    """Strong, channel, still-valid period, or two or more weak sources including one no dead pensioner of the
    round shows after death (time-aware weak certification): seed 23 measures 1935/1936 and the weak-only case
    1 of 2 (the other, an outpatient visit and a bank counter visit, scores 5.147 under the threshold 5.460: with
    a few dozen labelled dead the rates stay near their prior, so no source is trusted much yet)."""
    assert figures["living a sound model could certify: certified"].value >= 0.995
    weak_only = figures["living weak-only, >= 2 weak sources incl. one the dead never show: certified"]
    assert weak_only.denominator >= 1 and weak_only.numerator >= 1


def test_every_uncertified_living_person_is_given_a_cause(figures):
    certified = figures["alive with evidence or channel: certified"]
    causes = [f for name, f in figures.items() if name.startswith("  why: ")]
    assert sum(f.numerator for f in causes) == certified.denominator - certified.numerator
    assert any(name.startswith("weak threshold (log-odds)") for name in figures)


def test_the_dead_are_not_certified_past_death_or_a_death_record(figures):
    assert figures["dead certified after death or despite a death record"].numerator == 0  # 0 of 47 at seed 23


def test_reported_deaths_end_deceased_or_in_review(figures):
    assert figures["dead with a death record: deceased or review"].value == 1
    assert figures["alive with a false death record: deceased"].value in (None, 0.0) or \
        figures["alive with a false death record: deceased"].numerator <= 1
