"""The named blocking rules: a wrong character of a name keeps a block, gap rules pair only where one side lacks
the column, and Splink's SQL and the real-time index's Python pair exactly the same rows."""

from __future__ import annotations

from datetime import date

import pyarrow as pa
import pytest
from splink import DuckDBAPI, Linker, SettingsCreator

from silentcert.graph.errors import InvalidInput
from silentcert.services.resolver import blocking
from silentcert.services.resolver.registry_index import RegistryIndex

BORN = date(1950, 1, 1)
COLUMNS = ("unique_id", "id_number", "name", "name_pinyin", "birth_date", "county_code")
REGISTRY = [
    (1, "360102195001011231", "王海军", "wanghaijun", BORN, "360102"),
    (2, "360102195001011258", "周华", "zhouhua", BORN, "360102"),
    (3, "360102194805051234", "李明", "liming", None, "360102"),  # no birth date on the registry row
    (4, "360102195001011266", None, "", BORN, "360102"),  # no name on the registry row
]
RECORDS = [
    (11, None, "王凯军", "wangkaijun", BORN, "360102"),  # middle character wrong: first and last agree
    (12, None, "邹华", "zouhua", BORN, "360102"),  # surname wrong: the last character agrees
    (13, None, "王海军", "wanghaijun", None, "360102"),  # undated: name and county
    (14, None, None, None, BORN, "360102"),  # unnamed: birth date and county
    (15, None, "李明", "liming", date(1948, 5, 6), "360102"),  # dated, but person 3 has no birth date
    (16, None, "张三", "zhangsan", date(1960, 2, 2), "360102"),  # nobody
]
GAP_RULES = ("birth_county_first", "birth_county_last", "name_county_undated", "birth_county_unnamed")


def _table(rows) -> pa.Table:
    return pa.table({c: [r[i] for r in rows] for i, c in enumerate(COLUMNS)})


def _splink_pairs(rules: tuple[str, ...]) -> set[tuple[int, int]]:
    api = DuckDBAPI()
    settings = SettingsCreator(link_type="link_only", unique_id_column_name="unique_id",
                               blocking_rules_to_generate_predictions=[b for r in rules for b in blocking.splink_rules(r)])
    linker = Linker([api.register(_table(REGISTRY), dataset_display_name="registry"),
                     api.register(_table(RECORDS), dataset_display_name="records")], settings)
    pairs = set()
    for p in linker.inference.deterministic_link().as_record_list():
        left_is_registry = p["source_dataset_l"] == "registry"
        registry_id, record_id = ((p["unique_id_l"], p["unique_id_r"]) if left_is_registry
                                  else (p["unique_id_r"], p["unique_id_l"]))
        pairs.add((record_id, registry_id))
    return pairs


def _index_pairs(rules: tuple[str, ...]) -> set[tuple[int, int]]:
    columns = {c: [r[i] for r in REGISTRY] for i, c in enumerate(COLUMNS)}
    index = RegistryIndex({"person_id": columns["unique_id"], **columns}, rules)
    pairs = set()
    for row in RECORDS:
        record = dict(zip(COLUMNS, row))
        pairs |= {(record["unique_id"], columns["unique_id"][i]) for i in index.candidates(record)}
    return pairs


def test_each_rule_pairs_what_it_is_for():
    assert _index_pairs(("birth_county_first",)) == {(11, 1)}
    assert _index_pairs(("birth_county_last",)) == {(11, 1), (12, 2)}
    assert _index_pairs(("name_county_undated",)) == {(13, 1), (15, 3)}
    assert _index_pairs(("birth_county_unnamed",)) == {(14, 1), (14, 2), (14, 4), (11, 4), (12, 4)}


@pytest.mark.parametrize("rules", [(rule,) for rule in GAP_RULES] + [GAP_RULES])
def test_splink_and_the_registry_index_pair_the_same_rows(rules):
    assert _splink_pairs(rules) == _index_pairs(rules)


def test_an_unknown_column_is_named():
    with pytest.raises(InvalidInput, match="unknown columns \\['surname'\\]"):
        blocking.rule("surname+county_code")
