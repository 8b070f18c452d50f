"""The world knobs of the generator: how relatives behave after a death, and the evidence mix."""

from __future__ import annotations

import argparse
import csv
import json
from collections import Counter

import pytest

from silentcert.synthetic import generate
from silentcert.synthetic.command import register, world_from
from silentcert.synthetic.evidence import WORLDS, World

from .conftest import AS_OF


def _post_death_sources(out) -> Counter:
    with open(out / "truth" / "links.csv", encoding="utf-8") as f:
        return Counter(r["source"] for r in csv.DictReader(f) if r["post_death"] == "1")


@pytest.fixture(scope="module")
def worlds(tmp_path_factory):
    made = {}
    for name in ("light", "heavy"):
        out = tmp_path_factory.mktemp(name)
        generate(3000, 5, AS_OF, out, WORLDS[name])
        made[name] = out
    return made


def test_light_relatives_use_one_source_and_heavy_ones_several(worlds):
    light, heavy = _post_death_sources(worlds["light"]), _post_death_sources(worlds["heavy"])
    weak_light = {s for s in light if s not in ("face",)}
    assert weak_light == {"card_spending"}
    assert {"card_spending", "telecom", "bus_rides", "bank_counter"} <= set(heavy)
    assert sum(heavy.values()) > 3 * sum(light.values())


def test_the_world_is_written_with_the_truth_only(worlds):
    knobs = json.loads((worlds["heavy"] / "truth" / "world.json").read_text(encoding="utf-8"))
    assert knobs["name"] == "heavy" and knobs["max_sources"] == 4
    assert "world" not in (worlds["heavy"] / "round.toml").read_text(encoding="utf-8")


def test_unreported_knob_keeps_relatives_deaths_out_of_the_registers(tmp_path):
    generate(3000, 5, AS_OF, tmp_path, World(relatives=1.0, unreported=1.0))
    with open(tmp_path / "truth" / "persons.csv", encoding="utf-8") as f:
        used = [r for r in csv.DictReader(f) if r["post_death_weak_use"] == "1"]
    assert used and all(r["death_unreported"] == "1" and r["death_sources"] == "" for r in used)


def _args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers(dest="command"))
    return parser.parse_args(["generate", "--pensioners", "100", "--as-of", "2021-10-31", "--out", "x", *argv])


def test_cli_knobs_override_the_preset():
    world = world_from(_args("--world", "light", "--relative-sources", "telecom,outpatient",
                             "--relative-max-sources", "2", "--weak-only", "0.1"))
    assert world.relative_sources == ("telecom", "outpatient") and world.max_sources == 2
    assert world.weak_only == 0.1 and world.relatives == WORLDS["light"].relatives
    assert world.name == "light+custom"
    assert world_from(_args()) == WORLDS["default"]


@pytest.mark.parametrize("argv, message", [
    (("--relative-sources", "vaccination"), "relatives cannot use source 'vaccination'"),
    (("--relatives", "1.5"), "--relatives must lie in [0, 1]"),
    (("--relative-max-sources", "7"), "--relative-max-sources must be 0..4"),
])
def test_bad_knobs_are_refused_naming_the_flag(argv, message, capsys):
    with pytest.raises(SystemExit):
        _args(*argv)
    assert message in capsys.readouterr().err
