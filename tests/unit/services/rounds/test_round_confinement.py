"""What a round file may no longer do (issue 23): smuggle SQL through a setting, escape its root with a space or a
symlink, or change between the check and the run."""

from __future__ import annotations

import dataclasses
import re
import typing
from pathlib import Path

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from silentcert.graph.errors import Forbidden, RoundFileError
from silentcert.services.rounds import pipeline
from silentcert.services.rounds.roundfile import load_round
from silentcert.services.settings import MEMORY_SIZE, ResourceSettings, RoundSettings, dataclass_from_table

ROUND = """
[round]
id = "2021-10"
as_of = 2021-10-31

[registry]
file = "registry.csv"

[[sources]]
name = "police_deaths"
kind = "death"
file = "police.csv"
"""

HEADER = "person_id,secret_column_of_another_office"


@pytest.fixture
def layout(tmp_path: Path) -> dict[str, Path]:
    """root/round holding a round, outside/ beside root holding a registry whose header must never leak."""
    root, outside = tmp_path / "root", tmp_path / "outside"
    (root / "round").mkdir(parents=True)
    outside.mkdir()
    (root / "round" / "registry.csv").write_text("person_id,name\nP1,王明\n", encoding="utf-8")
    (root / "round" / "police.csv").write_text("record_id,occurred_at\nD1,2021-05-01\n", encoding="utf-8")
    (outside / "registry.csv").write_text(f"{HEADER}\nX1,s3cret\n", encoding="utf-8")
    (root / "round" / "round.toml").write_text(ROUND, encoding="utf-8")
    return {"root": root, "round": root / "round", "outside": outside}


def rewrite(layout, old: str, new: str) -> Path:
    toml = layout["round"] / "round.toml"
    toml.write_text(ROUND.replace(old, new), encoding="utf-8")
    return toml


def test_a_leading_space_does_not_pass_confinement(layout):
    toml = rewrite(layout, 'file = "registry.csv"', f'file = " {layout["outside"] / "registry.csv"}"')
    with pytest.raises(Forbidden, match=r"\[registry\] file .* outside the rounds root") as caught:
        load_round(toml, roots=(layout["root"],))
    assert caught.value.field == "round_file"
    assert "secret_column" not in str(caught.value)


def test_dot_dot_and_symlinks_out_of_the_root_are_refused(layout):
    toml = rewrite(layout, 'file = "registry.csv"', 'file = "../../outside/registry.csv"')
    with pytest.raises(Forbidden):
        load_round(toml, roots=(layout["root"],))
    (layout["round"] / "linked.csv").symlink_to(layout["outside"] / "registry.csv")
    toml = rewrite(layout, 'file = "registry.csv"', 'file = "linked.csv"')
    with pytest.raises(Forbidden, match="outside the rounds root") as caught:
        load_round(toml, roots=(layout["root"],))
    assert "secret_column" not in str(caught.value)


def test_the_spec_holds_the_resolved_path_the_readers_open(layout):
    """A symlink inside the root is followed once, at the check; the readers get its target, not the link."""
    (layout["round"] / "alias.csv").symlink_to(layout["round"] / "registry.csv")
    toml = rewrite(layout, 'file = "registry.csv"', 'file = "  alias.csv "')
    spec = load_round(toml, roots=(layout["root"],))
    assert spec.registry.path == layout["round"] / "registry.csv"
    assert not spec.registry.path.is_symlink()


def test_the_local_operator_is_not_confined(layout):
    toml = rewrite(layout, 'file = "registry.csv"', f'file = " {layout["outside"] / "registry.csv"}"')
    assert load_round(toml).registry.path == layout["outside"] / "registry.csv"


def test_round_toml_is_read_once(layout):
    """The fingerprint digests the bytes load_round parsed, not a round.toml rewritten since."""
    toml = layout["round"] / "round.toml"
    spec = load_round(toml)
    before = pipeline.round_fingerprint(spec)
    toml.write_text(ROUND.replace('id = "2021-10"', 'id = "2099-01"'), encoding="utf-8")
    assert pipeline.round_fingerprint(spec) == before
    assert pipeline.round_fingerprint(load_round(toml)) != before


INJECTION = "4GB'; COPY (SELECT 1) TO 'pwned.csv'; SET memory_limit='4GB"


@pytest.mark.parametrize("key", ["memory_limit", "publish_memory_limit", "store_memory_limit", "linkage_memory_limit"])
def test_a_memory_setting_carrying_sql_is_refused(key):
    with pytest.raises(RoundFileError, match=rf"\[resources\] {key} must be a memory size"):
        RoundSettings.from_tables({"resources": {key: INJECTION}})


@pytest.mark.parametrize("value", ["4GB", "512MiB", "1.5 GB", "4gb", "16TiB"])
def test_memory_sizes_duckdb_reads_are_accepted(value):
    assert RoundSettings.from_tables({"resources": {"memory_limit": value}}).resources.memory_limit == value


@pytest.mark.parametrize("value", ["", "4", "0GB", "80%", "4 gigabytes", "-1GB", "4GB ", "4GB\n"])
def test_other_memory_sizes_are_refused(value):
    with pytest.raises(RoundFileError, match="memory_limit"):
        RoundSettings.from_tables({"resources": {"memory_limit": value}})


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text())
def test_no_string_reaches_duckdb_unless_it_is_a_memory_size(value):
    """Arbitrary text as memory_limit is refused at load unless it is a number and a unit, nothing else."""
    try:
        resources = dataclass_from_table(ResourceSettings, {"memory_limit": value}, "resources")
    except RoundFileError:
        return
    assert MEMORY_SIZE.fullmatch(resources.memory_limit)
    assert not re.search(r"['\"\\;\x00\n]", resources.memory_limit)


@settings(max_examples=100, deadline=None)
@given(st.from_regex(MEMORY_SIZE, fullmatch=True).filter(lambda v: float(MEMORY_SIZE.fullmatch(v)["number"]) > 0))
def test_every_accepted_memory_size_is_one_duckdb_sets(value):
    resources = dataclass_from_table(ResourceSettings, {"memory_limit": value, "store_memory_limit": value},
                                     "resources")
    with duckdb.connect() as con:
        for limit in (resources.memory_limit, resources.store_limit, resources.linkage_limit, resources.linking_limit):
            con.execute("SET memory_limit = $limit", {"limit": limit})


@pytest.mark.parametrize("key", ["decisive_sources", "dating_sources"])
def test_death_sources_must_name_a_death_source_of_the_round(layout, key):
    payload = "x). ' || 'y', death_date) END; COPY (SELECT 1) TO 'pwned.csv'; SELECT format('x"
    for entry, ok in [("police", True), ("police_deaths", True), ("polic", False), (payload, False)]:
        toml = layout["round"] / "round.toml"
        toml.write_text(ROUND + f'\n[deathcheck]\n{key} = ["{entry}"]\n', encoding="utf-8")
        spec = load_round(toml)
        if ok:
            assert getattr(RoundSettings.of_round(spec).deathcheck, key) == (entry,)
            continue
        with pytest.raises(RoundFileError, match=rf"\[deathcheck\] {key} entry .* names no death source"):
            RoundSettings.of_round(spec)


def test_a_death_source_that_is_not_a_name_is_refused(layout):
    toml = layout["round"] / "round.toml"
    toml.write_text(ROUND + "\n[deathcheck]\ndecisive_sources = [5]\n", encoding="utf-8")
    with pytest.raises(RoundFileError, match=r"decisive_sources entry '5' names no death source"):
        RoundSettings.of_round(load_round(toml))


FLOAT_FIELDS = [(section.name, item.name) for section in dataclasses.fields(RoundSettings)
                for item in dataclasses.fields(typing.get_type_hints(RoundSettings)[section.name])
                if typing.get_type_hints(typing.get_type_hints(RoundSettings)[section.name])[item.name] is float]


@pytest.mark.parametrize("section, key", FLOAT_FIELDS)
def test_a_number_setting_given_as_text_is_refused(section, key):
    """Text where a number belongs is refused, whether or not the dataclass checks the field's range."""
    with pytest.raises(RoundFileError, match=rf"\[{section}\] {key} must be of type float"):
        RoundSettings.from_tables({section: {key: "0.5"}})


def test_the_round_splink_engine_touches_only_its_spill_directory(tmp_path):
    """A model file a round names carries SQL (Splink's comparison levels); its connection cannot reach files."""
    from silentcert.services.resolver.engines import DuckDBEngine

    spill = tmp_path / "spill"
    engine = DuckDBEngine(memory_limit="512MB", temp_directory=str(spill))
    try:
        for sql in ("COPY (SELECT 1) TO $p", "SELECT * FROM read_csv($p)"):
            with pytest.raises(duckdb.PermissionException):
                engine._con.execute(sql, {"p": str(tmp_path / "outside.csv")})
        with pytest.raises(duckdb.InvalidInputException):
            engine._con.execute("SET enable_external_access = true")
    finally:
        engine.close()
    assert not (tmp_path / "outside.csv").exists()
