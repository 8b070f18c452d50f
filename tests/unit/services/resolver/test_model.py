"""The model's parameters the round measures itself: name m from known matches, u of one ID slip."""

from __future__ import annotations

import pytest
from splink import DuckDBAPI, Linker

from services.resolver import model
from services.resolver.names import name_keys

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


def test_name_m_is_the_share_of_each_level_among_known_matches():
    pairs = ([(_row("张秀英", "zhangxiuying"), _row("张秀英", "zhangxiuying"))] * 90
             + [(_row("张秀英", "zhangxiuying"), _row("XiuyingZhang", "xiuyingzhang"))] * 6
             + [(_row("张秀英", "zhangxiuying"), _row("章秀英", "zhangxiuying"))] * 4
             + [(_row("张秀英", "zhangxiuying"), _row(None, None))] * 50)  # null: not counted
    m = model.m_from_true_pairs(_document(), pairs, "name")
    shares = list(_name_m(m).values())
    levels = len(shares)
    assert shares[0] == pytest.approx(91 / (100 + levels))   # characters agree
    assert shares[1] == pytest.approx(5 / (100 + levels))    # pinyin agrees (a homophone)
    assert shares[2] == pytest.approx(7 / (100 + levels))    # the same syllables in another order
    assert all(s == pytest.approx(1 / (100 + levels)) for s in shares[3:])
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
