"""round.toml's [[other_registries]]: parsed with the registry's columns, clear errors, normalised by ingest."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from silentcert.graph.errors import RoundFileError
from silentcert.services.resolver.id_numbers import upgrade
from silentcert.services.resolver.ingest_stage import ingest_round
from silentcert.services.rounds.progress import silent_progress
from silentcert.services.rounds.roundfile import load_round

ROUND = """
[round]
id = "2021-10"
as_of = 2021-10-31

[registry]
file = "registry.csv"
"""

OTHER = """
[[other_registries]]
name = "urban_resident_scheme"
file = "urban.csv"
[other_registries.columns]
person_id = "yhbh"
id_number = "sfz"
"""


@pytest.fixture
def round_dir(tmp_path: Path) -> Path:
    (tmp_path / "registry.csv").write_text("person_id,name\nP1,王明\n", encoding="utf-8")
    (tmp_path / "urban.csv").write_text("yhbh,sfz,name\nU1,360102500101123,陈华\nU1,,重复\n,1,无号\n",
                                        encoding="utf-8")
    return tmp_path


def _write(round_dir: Path, text: str) -> Path:
    top = text.startswith("other_registries =")  # a bare key belongs before the first table
    (round_dir / "round.toml").write_text(text + ROUND if top else ROUND + text, encoding="utf-8")
    return round_dir


def test_other_registries_are_parsed_with_the_registry_columns(round_dir):
    spec = load_round(_write(round_dir, OTHER))
    (other,) = spec.other_registries
    assert other.name == "urban_resident_scheme" and other.kind == "registry"
    assert other.columns == {"person_id": "yhbh", "id_number": "sfz"}
    assert load_round(_write(round_dir, "")).other_registries == ()


@pytest.mark.parametrize("text, message", [
    (OTHER.replace('name = "urban_resident_scheme"', 'name = "registry"'), "clashes with 'registry'"),
    (OTHER + OTHER, "used twice"),
    (OTHER.replace("urban.csv", "missing.csv"), "file not found"),
    (OTHER.replace('id_number = "sfz"', 'occurred_at = "sfz"'), "occurred_at"),
    ('other_registries = "urban.csv"\n', "array of tables"),
])
def test_bad_other_registries_name_the_problem(round_dir, text, message):
    with pytest.raises(RoundFileError, match=message):
        load_round(_write(round_dir, text))


def test_ingest_normalises_them_apart_and_rejects_their_bad_rows(round_dir):
    spec = load_round(_write(round_dir, OTHER))
    con = duckdb.connect()
    ingest_round(con, spec, silent_progress)
    rows = con.execute("SELECT registry, person_id, id_number FROM other_registries").fetchall()
    assert rows == [("urban_resident_scheme", "U1", upgrade("360102500101123"))]  # the legacy form upgraded
    assert con.execute("SELECT count(*) FROM registry").fetchone()[0] == 1
    reasons = [r[0] for r in con.execute("SELECT reason FROM rejects WHERE source = 'urban_resident_scheme' "
                                         "ORDER BY line").fetchall()]
    assert reasons == ["person_id U1 repeats line 2", "person_id is empty"]
