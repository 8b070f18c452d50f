import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.resolver.phones import normalise_phone, phone_sql
from services.resolver.rejections import Rejection
from services.resolver.widths import FULL_WIDTH, HALF_WIDTH

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
    assert run_sql(values, *phone_sql("v")) == [_python_row(raw) for raw in values]
