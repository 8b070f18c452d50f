import duckdb
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from silentcert.services.resolver.area_codes import AREA_CODE_BY_PREFIX, RETIRED_PREFECTURES, area_code_of
from silentcert.services.resolver.phones import completed_phone_sql, normalise_phone, phone_sql
from silentcert.services.resolver.rejections import Rejection
from silentcert.services.resolver.widths import FULL_WIDTH, HALF_WIDTH

mobiles = st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True)
area_codes = st.one_of(
    st.just("010"), st.from_regex(r"02[0-9]", fullmatch=True), st.from_regex(r"0[3-9][0-9]{2}", fullmatch=True)
)
locals_ = st.from_regex(r"[1-9][0-9]{6,7}", fullmatch=True)
separators = st.sampled_from(["", " ", "-", ".", "\u3000", "－", " - "])


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [
        ("13812345678", "13812345678"),
        ("+86 138 1234 5678", "13812345678"),
        ("+86-138-1234-5678", "13812345678"),
        ("0086 13812345678", "13812345678"),
        ("8613812345678", "13812345678"),
        ("(+86) 138.1234.5678", "13812345678"),
        ("１３８１２３４５６７８", "13812345678"),
        ("013812345678", "13812345678"),
        ("010-65521234", "010-65521234"),
        ("(010) 6552 1234", "010-65521234"),
        ("+86 10 6552 1234", "010-65521234"),
        ("0086-21-12345678", "021-12345678"),
        ("0755 8888888", "0755-8888888"),
        ("（０５７１）８８８８８８８８", "0571-88888888"),
    ],
)
def test_common_formats(raw, canonical):
    assert normalise_phone(raw) == canonical


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("6552 1234", "phone 65521234 has no area code; a landline needs one, e.g. 010-65521234"),
        ("12012345678", "phone 12012345678 is not a mobile number: mobiles start with 13 to 19"),
        ("+1 555 123 4567", "phone +15551234567 is not a Chinese number (+86)"),
        ("138-1234-567x", "phone 1381234567x has a character that is not a digit: 'x'"),
        ("1381234567", "phone 1381234567 has 10 digits, expected an 11-digit mobile or an area code with a 7-8 digit number"),
        ("011 1234 5678", "phone 01112345678 has 11 digits, expected an 11-digit mobile or an area code with a 7-8 digit number"),
    ],
)
def test_reasons_name_what_is_wrong(raw, reason):
    assert normalise_phone(raw) == Rejection("phone", raw, reason)


@pytest.mark.parametrize("raw", [None, "", "   ", "\u3000", " - "])
def test_empty_is_null_not_a_rejection(raw):
    assert normalise_phone(raw) is None


def _full_width_some(draw, text: str) -> str:
    return "".join(
        FULL_WIDTH[HALF_WIDTH.index(c)] if c in HALF_WIDTH and draw(st.booleans()) else c for c in text
    )


def _grouped(draw, digits: str) -> str:
    return "".join(draw(separators) + c if i else c for i, c in enumerate(digits))


@st.composite
def formatted_mobiles(draw) -> tuple[str, str]:
    mobile = draw(mobiles)
    prefix = draw(st.sampled_from(["", "+86", "+86 ", "0086", "0086-", "86", "(+86)", "+86-", "0"]))
    return mobile, _full_width_some(draw, prefix + _grouped(draw, mobile))


@st.composite
def formatted_landlines(draw) -> tuple[str, str]:
    area, number = draw(area_codes), draw(locals_)
    style = draw(st.sampled_from(["{a}-{n}", "({a}){n}", "({a}) {n}", "{a} {n}", "+86 {b} {n}", "0086{b}{n}", "+86 ({a}) {n}"]))
    text = style.format(a=area, b=area[1:], n=_grouped(draw, number))
    return f"{area}-{number}", _full_width_some(draw, text)


@given(formatted_mobiles())
def test_every_mobile_formatting_gives_the_same_number(case):
    canonical, raw = case
    assert normalise_phone(raw) == canonical


@given(formatted_landlines())
def test_every_landline_formatting_gives_the_same_number(case):
    canonical, raw = case
    assert normalise_phone(raw) == canonical


@given(locals_)
def test_a_landline_without_area_code_is_rejected(number):
    result = normalise_phone(number)
    assert isinstance(result, Rejection) and "no area code" in result.reason


# ---- SQL and Python agree --------------------------------------------------------------------------

phone_alphabet = st.sampled_from(list("0123456789+-. ()") + ["８", "６", "＋", "（", "x", "\u3000", "é"])


@st.composite
def messy_values(draw) -> str | None:
    kind = draw(st.integers(0, 5))
    if kind == 0:
        return draw(formatted_mobiles())[1]
    if kind == 1:
        return draw(formatted_landlines())[1]
    if kind == 2:
        return draw(st.from_regex(r"\+?(86|0086|00)?[0-9]{5,13}", fullmatch=True))
    if kind == 3:
        return draw(st.text(phone_alphabet, max_size=18))
    if kind == 4:
        return draw(st.text(st.characters(exclude_categories=("Cs",)), max_size=15))
    return draw(st.sampled_from([None, "", " "]))


def _python_row(raw):
    result = normalise_phone(raw)
    if isinstance(result, Rejection):
        return (None, result.reason)
    return (result, None)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.lists(messy_values(), min_size=1, max_size=300))
def test_sql_and_python_agree(run_sql, values):
    assert [row[:2] for row in run_sql(values, *phone_sql("v"))] == [_python_row(raw) for raw in values]


# ---- a landline without its area code takes the county's ------------------------------------------


@pytest.mark.parametrize(
    ("raw", "county", "canonical"),
    [
        ("6960515", "360702", "0797-6960515"),     # Ganzhou
        ("696 0515", "360102", "0791-6960515"),    # Nanchang
        ("８６２１３４５６", "361102", "0793-86213456"),  # Shangrao, full-width
        ("6960515", "362401", "0796-6960515"),     # retired Ji'an prefecture -> Ji'an
        ("6960515", "362601", "0792-6960515"),     # retired Jiujiang prefecture -> Jiujiang
        ("0797-6960515", "360102", "0797-6960515"),  # a written area code wins over the county
        ("13812345678", "360102", "13812345678"),
    ],
)
def test_a_local_landline_takes_the_area_code_of_its_county(raw, county, canonical):
    assert normalise_phone(raw, county) == canonical


@pytest.mark.parametrize("county", [None, "", "440101", "3601", "36010x", "369901"])
def test_without_a_mapped_county_a_local_landline_is_still_rejected(county):
    result = normalise_phone("6960515", county)
    assert result == Rejection("phone", "6960515",
                               "phone 6960515 has no area code; a landline needs one, e.g. 010-6960515")


def test_retired_prefectures_take_their_successors_area_code():
    for old, new in RETIRED_PREFECTURES.items():
        assert area_code_of(old + "01") == AREA_CODE_BY_PREFIX[new]


counties = st.one_of(
    st.none(),
    st.sampled_from(sorted(AREA_CODE_BY_PREFIX)).flatmap(lambda p: st.from_regex(p + r"[0-9]{2}", fullmatch=True)),
    st.from_regex(r"[0-9]{6}", fullmatch=True),
    st.text(st.sampled_from(list("0123456789x")), max_size=7),
)


def _two_step_sql(pairs: list[tuple[str | None, str | None]]) -> list[tuple]:
    """What ingest does: phone_sql once per value, then completion for the local numbers with a county."""
    value, reason, local = phone_sql("v")
    completed = completed_phone_sql("local", "county")
    table = pa.table({"i": list(range(len(pairs))), "v": pa.array([p for p, _ in pairs], pa.string()),
                      "county": pa.array([c for _, c in pairs], pa.string())})
    with duckdb.connect() as con:
        con.register("t", table)
        return con.execute(f"""
            WITH s AS (SELECT i, county, {value} AS value, {reason} AS reason, {local} AS local FROM t)
            SELECT CASE WHEN local IS NOT NULL AND {completed} IS NOT NULL THEN {completed} ELSE value END,
                   CASE WHEN local IS NOT NULL AND {completed} IS NOT NULL THEN NULL ELSE reason END
            FROM s ORDER BY i""").fetchall()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.lists(st.tuples(st.one_of(messy_values(), locals_), counties), min_size=1, max_size=200))
def test_sql_and_python_agree_on_completion_by_county(pairs):
    expected = []
    for raw, county in pairs:
        result = normalise_phone(raw, county)
        expected.append((None, result.reason) if isinstance(result, Rejection) else (result, None))
    assert _two_step_sql(pairs) == expected
