"""The generated round directory: determinism, contract shape, encodings, and truth coverage."""

import csv
import hashlib
import io
import tomllib
from datetime import date
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from silentcert.synthetic import generate

AS_OF = date(2021, 10, 31)

REGISTRY_COLUMNS = ["person_id", "id_number", "name", "sex", "birth_date", "phone", "card_no", "county_code",
                    "unit_id", "monthly_pension", "certified_until"]
WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]


def _digests(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def _rows(root: Path, source: dict) -> list[dict]:
    path = root / source["file"]
    if path.suffix == ".parquet":
        return pq.read_table(path).to_pylist()
    text = path.read_bytes().decode(source.get("encoding", "utf-8"))
    return list(csv.DictReader(io.StringIO(text, newline="")))


def _round(root: Path) -> dict:
    return tomllib.loads((root / "round.toml").read_text(encoding="utf-8"))


def test_same_seed_same_bytes(small_round, tmp_path):
    root, _ = small_round
    generate(1500, 7, AS_OF, tmp_path)
    assert _digests(tmp_path) == _digests(root)


def test_other_seed_other_bytes(small_round, tmp_path):
    root, _ = small_round
    generate(1500, 8, AS_OF, tmp_path)
    assert (tmp_path / "registry.csv").read_bytes() != (root / "registry.csv").read_bytes()


def test_round_toml_names_existing_files(small_round):
    root, _ = small_round
    spec = _round(root)
    assert spec["round"]["id"] == "2021-10" and spec["round"]["as_of"] == AS_OF
    assert (root / spec["registry"]["file"]).is_file()
    kinds = {s["kind"] for s in spec["sources"]}
    assert kinds == {"strong", "weak", "death", "face", "in_person"}
    for source in spec["sources"]:
        assert (root / source["file"]).is_file(), source["file"]
        assert not Path(source["file"]).is_absolute()


def test_renamed_columns_exist_in_each_file(small_round):
    root, _ = small_round
    for source in _round(root)["sources"]:
        header = set(_rows(root, source)[0])
        renamed = source.get("columns", {})
        for canonical in ("record_id", "occurred_at"):
            assert renamed.get(canonical, canonical) in header, (source["name"], canonical)
        assert set(renamed.values()) <= header, source["name"]


def test_registry_columns_and_check_digits(small_round):
    root, _ = small_round
    with open(root / "registry.csv", encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == REGISTRY_COLUMNS and len(rows) == 1500
    assert len({r["person_id"] for r in rows}) == 1500
    legacy = [r for r in rows if len(r["id_number"]) == 15]
    assert 0 < len(legacy) < 150
    for r in rows:
        number = r["id_number"].upper()
        if len(number) == 15:
            assert number.isdigit()
            continue
        total = sum(int(d) * w for d, w in zip(number[:17], WEIGHTS))
        assert number[17] == "10X98765432"[total % 11], number
        assert number[:3] in ("360", "361", "362")
        assert int(number[16]) % 2 == (1 if r["sex"] in ("M", "男") else 0)


def test_gb18030_files_are_not_utf8(small_round):
    root, _ = small_round
    gb = [s for s in _round(root)["sources"] if s.get("encoding") == "gb18030"]
    assert len(gb) >= 3
    for source in gb:
        data = (root / source["file"]).read_bytes()
        data.decode("gb18030")
        with pytest.raises(UnicodeDecodeError):
            data.decode("utf-8")


def test_parquet_sources_present(small_round):
    root, _ = small_round
    assert sum(s["file"].endswith(".parquet") for s in _round(root)["sources"]) >= 1


def test_truth_covers_every_source_row(small_round):
    root, summary = small_round
    with open(root / "truth" / "links.csv", encoding="utf-8", newline="") as f:
        links = list(csv.DictReader(f))
    by_source = {}
    for link in links:
        by_source.setdefault(link["source"], []).append(link)
    for source in _round(root)["sources"]:
        rows = _rows(root, source)
        truth = by_source[source["name"]]
        assert len(truth) == len(rows) == summary.rows[source["name"]]
        rid = source.get("columns", {}).get("record_id", "record_id")
        assert [str(r[rid]) for r in rows] == [t["record_id"] for t in truth]


def test_truth_persons_and_rings(small_round):
    root, _ = small_round
    with open(root / "truth" / "persons.csv", encoding="utf-8", newline="") as f:
        persons = list(csv.DictReader(f))
    assert len(persons) == 1500
    dead = [p for p in persons if p["alive"] == "0"]
    assert 0.01 < len(dead) / 1500 < 0.06
    assert any(p["post_death_weak_use"] == "1" for p in persons)
    assert sum(p["segment"] == "strong" for p in persons) / 1500 > 0.8
    with open(root / "truth" / "rings.csv", encoding="utf-8", newline="") as f:
        rings = list(csv.DictReader(f))
    assert len({r["ring_id"] for r in rings}) >= 2
    ringed = {p["person_id"] for p in persons if p["ring_id"]}
    assert ringed == {r["person_id"] for r in rings}


def test_messy_and_malformed_rows_are_labelled(small_round):
    root, _ = small_round
    with open(root / "truth" / "links.csv", encoding="utf-8", newline="") as f:
        links = list(csv.DictReader(f))
    malformed = [link for link in links if link["malformed"] == "1"]
    assert 0.001 < len(malformed) / len(links) < 0.02
    assert {"bad_check_digit", "garbage", "duplicate_record_id"} <= {m["malformed_kind"] for m in malformed}
    assert all(link["person_id"] == "" for link in malformed if link["malformed_kind"] == "garbage")
    assert any("name_homophone" in link["noise"] for link in links)
    assert any("id_fullwidth" in link["noise"] for link in links)


def test_the_messy_shape_is_reproducible_and_keeps_the_records(tmp_path):
    from silentcert.synthetic.shapes import XLSX_SHEET

    first, second = (generate(60, 4, date(2021, 10, 31), tmp_path / name, shape="messy") for name in ("a", "b"))
    assert _digests(first.out) == _digests(second.out)
    assert first.rows == generate(60, 4, date(2021, 10, 31), tmp_path / "plain").rows
    assert f'sheet = "{XLSX_SHEET}"' in (first.out / "round.toml").read_text(encoding="utf-8")


def _check(first17: str) -> str:
    return "10X98765432"[sum(int(c) * w for c, w in zip(first17, WEIGHTS)) % 11]


def test_identifier_noise_is_what_its_label_says(small_round):
    """A transposed ID is the true one with two adjacent digits swapped; a typo'd one differs in one digit; a
    romanised name is Latin letters; a missing name is empty; every kind the resolver must survive occurs."""
    root, _ = small_round
    spec = next(s for s in _round(root)["sources"] if s["name"] == "ministry_travel")
    rows = {r[spec["columns"]["record_id"]]: r for r in _rows(root, spec)}
    with open(root / "truth" / "links.csv", encoding="utf-8", newline="") as f:
        links = [link for link in csv.DictReader(f) if link["source"] == "ministry_travel" and link["malformed"] == "0"]
    with open(root / "truth" / "persons.csv", encoding="utf-8", newline="") as f:
        true_id = {p["person_id"]: p["true_id_number"] for p in csv.DictReader(f)}
    kinds = {k for link in links for k in link["noise"].split(";")}
    assert {"id_transposed", "id_typo", "name_pinyin", "name_pinyin_given_first", "name_pinyin_initials",
            "name_missing", "name_homophone"} <= kinds
    for link in links:
        if link["person_id"] not in true_id:
            continue
        row, truth, noise = rows[link["record_id"]], true_id[link["person_id"]], link["noise"].split(";")
        given = row[spec["columns"]["id_number"]]
        if "id_transposed" in noise:
            i = next(i for i in range(17) if given[i] != truth[i])
            assert given[i] == truth[i + 1] and given[i + 1] == truth[i] and given[i + 2:] == truth[i + 2:]
            assert _check(given[:17]) != given[17]
        if "id_typo" in noise:
            assert sum(a != b for a, b in zip(given, truth)) == 1
        name = row[spec["columns"]["name"]]
        if "name_pinyin" in noise:
            assert name.replace(" ", "").replace(".", "").lower().replace("ü", "u").isascii()
        if "name_missing" in noise:
            assert name == ""
