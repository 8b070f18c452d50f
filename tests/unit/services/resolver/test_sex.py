import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from silentcert.services.resolver.rejections import Rejection
from silentcert.services.resolver.sex import normalise_sex, sex_sql


@pytest.mark.parametrize(
    ("raw", "code"),
    [("M", "M"), ("m", "M"), ("男", "M"), ("1", "M"), ("male", "M"), (" Male ", "M"), ("Ｍ", "M"), ("男性", "M"),
     ("F", "F"), ("女", "F"), ("2", "F"), ("FEMALE", "F"), ("ｆ", "F"), ("女性", "F")],
)
def test_codes(raw, code):
    assert normalise_sex(raw) == code


@pytest.mark.parametrize("raw", [None, "", " ", "0", "9", "未知"])
def test_empty_or_unknown_is_null(raw):
    assert normalise_sex(raw) is None


def test_anything_else_is_a_reason():
    assert normalise_sex("X") == Rejection("sex", "X", "sex x is not a known code (M/F, 男/女, 1/2 or male/female)")


sex_alphabet = st.sampled_from(list("MFmf12093 ") + ["男", "女", "性", "Ｍ", "\u3000", "İ", "a", "l", "e"])


@settings(max_examples=30, deadline=None)
@given(st.lists(st.one_of(st.none(), st.text(sex_alphabet, max_size=6),
                          st.text(st.characters(exclude_categories=("Cs",)), max_size=4)), max_size=100))
def test_sql_and_python_agree(run_sql, values):
    expected = []
    for raw in values:
        result = normalise_sex(raw)
        expected.append((None, result.reason) if isinstance(result, Rejection) else (result, None))
    assert run_sql(values, *sex_sql("v")) == expected
