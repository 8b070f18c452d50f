"""The model's parameters the round measures itself: name m from known matches, u of one ID slip."""

from __future__ import annotations

import pytest
from splink import DuckDBAPI, Linker

from silentcert.services.resolver import model
from silentcert.services.resolver.names import name_keys

COLUMNS = {*model.LINK_COLUMNS, *model.NAME_KEYS}


def _document() -> dict:
    import pyarrow as pa

    empty = pa.table({c: pa.array([], pa.bool_() if c == "id_valid" else pa.string()) for c in COLUMNS}
                     | {"unique_id": pa.array([], pa.int64()), "birth_date": pa.array([], pa.date32())})
    api = DuckDBAPI()
    settings = model.build_settings(COLUMNS, ("id_number",), 1e-4)
    linker = Linker([api.register(empty, dataset_display_name="a"), api.register(empty, dataset_display_name="b")],
                    settings)
    return linker.misc.save_model_to_json()


def _row(name: str, pinyin: str) -> dict:
    return {"name": name, "name_pinyin": pinyin, **dict(zip(model.NAME_KEYS, name_keys(pinyin, name)))}


def _name_m(document: dict) -> dict[str, float]:
    levels = next(c for c in document["comparisons"] if c["output_column_name"] == "name")["comparison_levels"]
    return {lv.get("label_for_charts", lv["sql_condition"]): lv.get("m_probability") for lv in levels
            if not lv.get("is_null_level")}


def _with_name_m(document: dict, m: list[float]) -> dict:
    levels = next(c for c in document["comparisons"] if c["output_column_name"] == "name")["comparison_levels"]
    for level, value in zip([lv for lv in levels if not lv.get("is_null_level")], m):
        level["m_probability"] = value
    return document


def test_name_m_is_the_larger_of_em_and_the_share_among_known_matches():
    pairs = ([(_row("张秀英", "zhangxiuying"), _row("张秀英", "zhangxiuying"))] * 90
             + [(_row("张秀英", "zhangxiuying"), _row("XiuyingZhang", "xiuyingzhang"))] * 6
             + [(_row("张秀英", "zhangxiuying"), _row("章秀英", "zhangxiuying"))] * 4
             + [(_row("张秀英", "zhangxiuying"), _row(None, None))] * 50)  # null: not counted
    levels = len(_name_m(_document()))
    # EM saw homophones (pinyin agrees) often and the other order never; the known matches the other way round.
    em = [0.6, 0.3, 1e-18] + [0.1 / (levels - 3)] * (levels - 3)
    shares = list(_name_m(model.m_from_true_pairs(_with_name_m(_document(), em), pairs, "name")).values())
    measured = [91 / (100 + levels), 5 / (100 + levels), 7 / (100 + levels)] + [1 / (100 + levels)] * (levels - 3)
    larger = [max(a, b) for a, b in zip(em, measured)]
    assert shares == pytest.approx([x / sum(larger) for x in larger])
    assert shares[1] > 0.2 and shares[2] > 0.04  # neither estimate rules a level out
    assert sum(shares) == pytest.approx(1.0)


def test_without_known_matches_the_model_is_left_alone():
    document = _document()
    before = _name_m(document)
    assert _name_m(model.m_from_true_pairs(document, [], "name")) == before


def test_a_measured_one_slip_u_replaces_the_floor():
    document = model.floor_id_near_miss_u(_document(), one_slip_u=2e-5)
    levels = next(c for c in document["comparisons"] if c["output_column_name"] == "id_number")["comparison_levels"]
    near = [lv["u_probability"] for lv in levels if "levenshtein" in lv["sql_condition"].lower()]
    assert near == [2e-5, model.ID_NEAR_MISS_U[1]]
    floored = model.floor_id_near_miss_u(_document())
    levels = next(c for c in floored["comparisons"] if c["output_column_name"] == "id_number")["comparison_levels"]
    assert [lv["u_probability"] for lv in levels if "levenshtein" in lv["sql_condition"].lower()] == list(
        model.ID_NEAR_MISS_U)
