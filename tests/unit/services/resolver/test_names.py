import duckdb
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from silentcert.services.resolver.names import (
    CHAR_TABLE,
    Name,
    build_name_keys,
    build_name_pinyin,
    name_keys,
    name_pinyin,
    name_sql,
    normalise_name,
)
from silentcert.services.resolver.rejections import Rejection
from silentcert.services.resolver.traditional import SIMPLIFIED, TRADITIONAL

COMMON = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤明名华伟芳娜敏静丽强磊军洋勇艳杰娟涛超秀霞平刚桂英"
simplified_names = st.text(st.sampled_from(COMMON + SIMPLIFIED), min_size=1, max_size=4)


def test_homophones_share_a_pinyin():
    assert normalise_name("王明").pinyin == normalise_name("王名").pinyin == "wangming"


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ("  王 明 ", "王明"),
        ("王\u3000明", "王明"),
        ("陳小華", "陈小华"),
        ("張國傑", "张国杰"),
        ("阿卜杜·热合曼", "阿卜杜热合曼"),
        ("阿卜杜・热合曼", "阿卜杜热合曼"),
        ("阿卜杜．热合曼", "阿卜杜热合曼"),
        ("ＷＡＮＧ Ｍｉｎｇ", "WANGMing"),
    ],
)
def test_spellings_of_one_name_normalise_alike(raw, value):
    assert normalise_name(raw) == Name(raw, value, name_pinyin(value))


def test_latin_letters_read_as_themselves_in_lower_case():
    assert normalise_name("Wang Ming").pinyin == "wangming"


@pytest.mark.parametrize(("raw", "bad"), [("张3", "3"), ("李(四)", "("), ("王明?", "?")])
def test_characters_that_are_not_letters_are_reasons(raw, bad):
    result = normalise_name(raw)
    assert isinstance(result, Rejection)
    assert result.reason == f"name {raw} has a character that is not a letter: '{bad}'"


@pytest.mark.parametrize("raw", [None, "", "  ", "·"])
def test_empty_is_absent(raw):
    assert normalise_name(raw) is None


def test_traditional_table_is_one_to_one_and_closed():
    assert len(TRADITIONAL) == len(SIMPLIFIED) == len(set(TRADITIONAL)) >= 200
    assert not set(TRADITIONAL) & set(SIMPLIFIED)


@pytest.mark.parametrize("traditional, simplified", [
    ("陳國華", "陈国华"), ("劉德華", "刘德华"), ("鍾麗娟", "钟丽娟"), ("歐陽鳳", "欧阳凤"), ("龔長興", "龚长兴"),
    ("遊秀蘭", "游秀兰"), ("饒貴蓮", "饶贵莲"), ("聶慶榮", "聂庆荣"), ("譚艷", "谭艳"), ("蕭寶義", "萧宝义"),
])
def test_traditional_names_become_the_simplified_opencc_gives(traditional, simplified):
    import opencc

    assert opencc.OpenCC("t2s").convert(traditional) == simplified
    assert normalise_name(traditional).value == simplified


@pytest.mark.parametrize("written", ["张秀英", "Zhang Xiuying", "ZHANG XIUYING", "zhang xiu ying", "ZhangXiuYing"])
def test_romanised_names_joined_or_split_read_as_the_characters(written):
    assert normalise_name(written).pinyin == "zhangxiuying"


@pytest.mark.parametrize("written", ["吕桂兰", "LV GUILAN", "Lü Guilan", "LU GUILAN", "Lu Gui Lan"])
def test_u_umlaut_written_v_or_u_reads_alike(written):
    assert normalise_name(written).pinyin == "luguilan"


@pytest.mark.parametrize("written, keys", [
    ("Xiuying Zhang", ("xiu ying zhang", "xyz")), ("XIU YING ZHANG", ("xiu ying zhang", "xyz")),
    ("Zhang X.Y.", ("x y zhang", "xyz")), ("X Y ZHANG", ("x y zhang", "xyz")), ("OUYANG FENG", ("feng ou yang", "foy")),
])
def test_name_keys_of_romanised_names_in_either_order_or_with_initials(written, keys):
    assert name_keys(normalise_name(written).pinyin, normalise_name(written).value) == keys
    held = normalise_name("张秀英" if "z" in keys[0] else "欧阳凤")
    registry = name_keys(held.pinyin, held.value)
    assert registry == name_keys(held.pinyin)  # read per character or cut from the pinyin: the same
    assert registry[1] == keys[1] and (registry[0] == keys[0] or "x y" in keys[0])


def test_name_keys_of_a_data_set_with_spaces_cut_at_the_spaces():
    assert name_keys("smith john") == name_keys("john smith") == ("john smith", "js")
    assert name_keys(None) == name_keys("") == (None, None)


@given(simplified_names, st.data())
def test_formatting_does_not_change_a_name(name, data):
    spaced = "".join(data.draw(st.sampled_from(["", " ", "\u3000", "·", "・"])) + c for c in name)
    traditional = "".join(
        TRADITIONAL[SIMPLIFIED.index(c)] if c in SIMPLIFIED and data.draw(st.booleans()) else c for c in spaced
    )
    assert normalise_name(traditional).value == normalise_name(name).value == name


# ---- SQL and Python agree --------------------------------------------------------------------------

name_alphabet = st.sampled_from(list(COMMON[:40] + TRADITIONAL[:40]) + list(" ·・.Ab3-") + ["\u3000", "Ｗ", "𠀀"])


@st.composite
def messy_values(draw) -> str | None:
    kind = draw(st.integers(0, 3))
    if kind == 0:
        return draw(st.text(name_alphabet, max_size=6))
    if kind == 1:
        return draw(st.text(st.characters(exclude_categories=("Cs",)), max_size=8))
    if kind == 2:
        return draw(simplified_names)
    return draw(st.sampled_from([None, "", " "]))


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.lists(messy_values(), min_size=1, max_size=300))
def test_sql_and_python_agree(run_sql, values):
    expected = []
    for raw in values:
        result = normalise_name(raw)
        expected.append((result.reason if isinstance(result, Rejection) else None,
                         result.value if isinstance(result, Name) else None))
    value, reason = name_sql("v")
    assert run_sql(values, reason, value) == expected


def _pinyin_by_sql(con, names: list[str | None]) -> dict[str, str]:
    con.register("names_in", pa.table({"raw": pa.array(names, pa.string())}))
    value, _ = name_sql("raw")
    con.execute(f"CREATE OR REPLACE TEMP TABLE names_norm AS SELECT {value} AS name FROM names_in")
    con.unregister("names_in")
    table = build_name_pinyin(con, "names_norm")
    return dict(con.execute(f"SELECT name, pinyin FROM {table}").fetchall())


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(messy_values(), min_size=1, max_size=200))
def test_pinyin_lookup_agrees_with_python(values):
    con = duckdb.connect()
    by_sql = _pinyin_by_sql(con, values)
    names = {r.value: r.pinyin for r in map(normalise_name, values) if isinstance(r, Name)}
    assert by_sql == names


def test_pinyin_lookup_reuses_and_extends_the_character_table():
    con = duckdb.connect()
    assert _pinyin_by_sql(con, ["王明", "李四", None, "王明"]) == {"王明": "wangming", "李四": "lisi"}
    first = con.execute(f"SELECT count(*) FROM {CHAR_TABLE}").fetchall()[0][0]
    assert _pinyin_by_sql(con, ["王名", "陳明"]) == {"王名": "wangming", "陈明": "chenming"}
    assert con.execute(f"SELECT count(*) FROM {CHAR_TABLE}").fetchall()[0][0] == first + 2


def test_homophones_join_equal_in_sql():
    con = duckdb.connect()
    pinyin = _pinyin_by_sql(con, ["王明", "王名", "汪明"])
    assert pinyin["王明"] == pinyin["王名"] == pinyin["汪明"]


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(simplified_names, min_size=1, max_size=100))
def test_name_keys_in_sql_agree_with_python(names):
    rows = [(n, name_pinyin(n)) for n in names] + [
        ("XiuyingZhang", "xiuyingzhang"), ("ZhangXY", "zhangxy"), ("李a", "lia"), ("\U00020000王", "x"),
        (None, "wangming"), ("王明", None)]
    con = duckdb.connect()
    con.register("names_in", pa.table({"name": [r[0] for r in rows], "name_pinyin": [r[1] for r in rows]}))
    table = build_name_keys(con, "names_in", "keys")
    got = {(a, b): (c, d) for a, b, c, d in con.execute(f"SELECT * FROM {table}").fetchall()}
    assert got == {(a, b): name_keys(b, a) for a, b in set(rows) if b is not None}
