"""The generator's second accounts: living pensioners, another county, the ID as entered, truth only in truth/."""

import csv
from datetime import date

from silentcert.services.resolver.id_numbers import upgrade
from silentcert.synthetic import generate

AS_OF = date(2021, 10, 31)


def _rows(path):
    with open(path, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_second_accounts_are_in_the_registry_and_only_the_truth_pairs_them(tmp_path):
    generate(3000, 9, AS_OF, tmp_path, duplicate_share=0.01)
    registry = {r["person_id"]: r for r in _rows(tmp_path / "registry.csv")}
    persons = {p["person_id"]: p for p in _rows(tmp_path / "truth" / "persons.csv")}
    pairs = _rows(tmp_path / "truth" / "duplicates.csv")
    assert len(pairs) == 30 and len(registry) == 3030
    assert {p["id_form"] for p in pairs} == {"same", "legacy", "typo"}
    for pair in pairs:
        first, second = registry[pair["person_id"]], registry[pair["duplicate_person_id"]]
        true_id = persons[pair["person_id"]]["true_id_number"]
        assert persons[pair["person_id"]]["alive"] == "1"
        assert second["county_code"] != first["county_code"] and second["card_no"] == ""
        assert second["birth_date"] == first["birth_date"]
        entered = second["id_number"]
        if pair["id_form"] == "same":
            assert entered == true_id
        elif pair["id_form"] == "legacy":
            assert len(entered) == 15 and upgrade(entered) == true_id
        else:
            assert len(entered) == 18 and sum(a != b for a, b in zip(entered, true_id)) == 1


def test_no_share_no_second_accounts(small_round):
    out, _ = small_round
    assert not (out / "truth" / "duplicates.csv").exists()
