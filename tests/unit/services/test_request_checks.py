"""Edge validation of request fields: each failure names its field."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from silentcert.graph.errors import InvalidInput
from silentcert.services import request_checks as check
from silentcert.services.resolver.id_numbers import check_digit

VALID_ID = "36010219400312001" + check_digit("36010219400312001")


def field_of(call) -> str | None:
    with pytest.raises(InvalidInput) as caught:
        call()
    return caught.value.field


def test_required_and_optional_text():
    assert check.required("  P1 ", "person_id") == "P1"
    assert check.optional("   ", "kind") is None
    assert field_of(lambda: check.required(" ", "person_id")) == "person_id"
    assert field_of(lambda: check.optional("x" * 300, "note")) == "note"


def test_id_numbers_are_normalised_or_rejected_with_the_reason():
    assert check.id_number(VALID_ID.lower() if VALID_ID[-1] == "X" else f" {VALID_ID} ", "id_number") == VALID_ID
    assert check.id_number("", "id_number") is None
    wrong = VALID_ID[:-1] + ("0" if VALID_ID[-1] != "0" else "1")
    with pytest.raises(InvalidInput, match="check digit") as caught:
        check.id_number(wrong, "id_number")
    assert caught.value.field == "id_number"


def test_dates_sex_and_bounds():
    assert check.iso_date("1940-03-12", "birth_date") == date(1940, 3, 12)
    assert check.iso_date("", "birth_date") is None
    assert field_of(lambda: check.iso_date("1940/3/12", "birth_date")) == "birth_date"
    assert [check.sex(s, "sex") for s in ("M", "f", "男", "女", "")] == ["M", "F", "M", "F", None]
    assert field_of(lambda: check.sex("unknown", "sex")) == "sex"
    assert check.bounded(0, "page_size", default=100, maximum=1000) == 100
    assert field_of(lambda: check.bounded(-1, "page_size", default=100, maximum=1000)) == "page_size"


def test_an_id_number_of_separators_only_is_invalid_not_an_internal_error():
    assert field_of(lambda: check.id_number("-", "id_number")) == "id_number"


@given(st.text(max_size=40))
def test_any_text_either_passes_or_fails_naming_the_field(text):
    for validate in (check.id_number, check.iso_date, check.sex, check.optional):
        try:
            validate(text, "f")
        except InvalidInput as error:
            assert error.field == "f"
