from datetime import date, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from silentcert.services.resolver.id_numbers import (
    IdNumber,
    birth_date_of,
    birth_date_sql,
    born_by,
    check_digit,
    fails_check,
    id_number_sql,
    neighbours,
    neighbours_sql,
    normalise_id_number,
    sex_of,
    sex_sql,
)
from silentcert.services.resolver.rejections import Rejection
from silentcert.services.resolver.widths import FULL_WIDTH, HALF_WIDTH

AS_OF = date(2021, 10, 31)
# The worked example printed in GB 11643-1999 itself, so the check digit is not tested against itself.
STANDARD_EXAMPLE = "11010519491231002X"

areas = st.from_regex(r"[1-8][0-9]{5}", fullmatch=True)
births = st.dates(min_value=date(1900, 1, 1), max_value=AS_OF)
sequences = st.from_regex(r"[0-9]{3}", fullmatch=True)


@st.composite
def valid_ids(draw) -> str:
    first17 = draw(areas) + draw(births).strftime("%Y%m%d") + draw(sequences)
    return first17 + check_digit(first17)


@st.composite
def messy(draw, value: str) -> str:
    """``value`` as a clerk or an export might write it: spaces and dashes anywhere, some full-width characters,
    lower-case x."""
    out = []
    for char in value:
        if draw(st.booleans()):
            char = char.lower()
        if char in HALF_WIDTH and draw(st.booleans()):
            char = FULL_WIDTH[HALF_WIDTH.index(char)]
        out.append(draw(st.sampled_from(["", "", " ", "\u3000", "\t", "-", "\uff0d"])) + char)
    return "".join(out) + draw(st.sampled_from(["", " ", "\n"]))


def test_the_example_of_the_standard_is_valid():
    result = normalise_id_number(STANDARD_EXAMPLE, AS_OF)
    assert result == IdNumber(STANDARD_EXAMPLE, STANDARD_EXAMPLE, date(1949, 12, 31), "F", False)
    assert check_digit(STANDARD_EXAMPLE[:17]) == "X"


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("1101051949123100", "id_number has 16 characters, expected 18 or 15"),
        ("11010519491231002X1", "id_number has 19 characters, expected 18 or 15"),
        ("11010519591332002X", "id_number birth date 19591332 is not a date"),
        ("11010519000229002X", "id_number birth date 19000229 is not a date"),
        ("11010518991231002X", "id_number birth date 18991231 is before 1900"),
        ("11010520211101002X", "id_number birth date 20211101 is in the future"),
        ("110105194912310023", "id_number check digit wrong: expected X, got 3"),
        ("11O10519491231002X", "id_number character 3 is 'O', expected a digit"),
        ("11010519491231002-", "id_number has 17 characters, expected 18 or 15"),
        ("11O105-19491231-002X", "id_number character 3 is 'O', expected a digit"),
        ("11010549123100X", "id_number character 15 is 'X', expected a digit"),
        ("110105491332002", "id_number birth date 19491332 is not a date"),
    ],
)
def test_reasons_name_what_is_wrong(raw, reason):
    assert normalise_id_number(raw, AS_OF) == Rejection("id_number", raw, reason)


@pytest.mark.parametrize("raw", ["110105-19491231-002X", "110105 19491231 002x", "１１０１０５－１９４９１２３１－００２Ｘ"])
def test_grouped_numbers_are_read(raw):
    assert normalise_id_number(raw, AS_OF).value == STANDARD_EXAMPLE


@pytest.mark.parametrize("raw", ["", "   ", "\u3000", None])
def test_empty_is_absent_not_rejected(raw):
    assert normalise_id_number(raw, AS_OF) is None


def test_legacy_number_is_upgraded():
    result = normalise_id_number("110105491231002", AS_OF)
    assert result.value == STANDARD_EXAMPLE and result.upgraded and result.raw == "110105491231002"


@given(valid_ids())
def test_generated_ids_validate_and_decode(value):
    result = normalise_id_number(value, AS_OF)
    assert isinstance(result, IdNumber)
    assert result.birth_date == date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    assert result.sex == ("M" if int(value[16]) % 2 else "F")


@given(st.data())
def test_messy_formatting_round_trips(data):
    value = data.draw(valid_ids())
    raw = data.draw(messy(value))
    result = normalise_id_number(raw, AS_OF)
    assert result.value == value and result.raw == raw


@given(valid_ids(), st.integers(0, 16), st.integers(1, 9))
def test_every_single_digit_change_is_caught(value, position, shift):
    # MOD 11-2: weights are non-zero mod 11 and 11 is prime, so w * shift is never 0 mod 11:
    # a changed digit always changes the check character; there are no collisions to document.
    changed = value[:position] + str((int(value[position]) + shift) % 10) + value[position + 1 :]
    assert isinstance(normalise_id_number(changed, AS_OF), Rejection)


@given(valid_ids(), st.sampled_from("0123456789X"))
def test_a_wrong_check_character_is_caught(value, char):
    changed = value[:17] + char
    assert isinstance(normalise_id_number(changed, AS_OF), Rejection) == (char != value[17])


@given(valid_ids(), st.integers(0, 15))
def test_adjacent_transpositions_in_the_body_are_caught(value, position):
    # Adjacent weights differ mod 11, so swapping two different digits always moves the sum.
    # Swapping digit 17 with the check character is not covered by the standard and not tested.
    a, b = value[position], value[position + 1]
    swapped = value[:position] + b + a + value[position + 2 :]
    assert isinstance(normalise_id_number(swapped, AS_OF), Rejection) == (a != b)


@given(areas, st.dates(date(1900, 1, 1), date(1999, 12, 31)), sequences)
def test_legacy_upgrade_gives_a_valid_18(area, born, sequence):
    legacy = area + born.strftime("%y%m%d") + sequence
    result = normalise_id_number(legacy, AS_OF)
    assert result.upgraded and len(result.value) == 18
    assert check_digit(result.value[:17]) == result.value[17]
    assert birth_date_of(result.value) == born
    assert sex_of(result.value) == ("M" if int(sequence[-1]) % 2 else "F")
    assert normalise_id_number(result.value, AS_OF).value == result.value


def test_birth_dates_are_bounded_by_the_as_of_date():
    born_today = "110105" + AS_OF.strftime("%Y%m%d") + "001"
    value = born_today + check_digit(born_today)
    assert isinstance(normalise_id_number(value, AS_OF), IdNumber)
    assert isinstance(normalise_id_number(value, AS_OF - timedelta(days=1)), Rejection)


# ---- SQL and Python agree --------------------------------------------------------------------------

id_alphabet = st.sampled_from(list("0123456789Xx -") + ["１", "ｘ", "\u3000", "A", "é", "\n"])


@st.composite
def messy_values(draw) -> str | None:
    kind = draw(st.integers(0, 5))
    if kind == 0:
        return draw(messy(draw(valid_ids())))
    if kind == 1:
        value = draw(valid_ids())
        position = draw(st.integers(0, 17))
        return value[:position] + draw(id_alphabet) + value[position + 1 :]
    if kind == 2:
        return draw(areas) + draw(st.from_regex(r"[0-9]{9}", fullmatch=True))
    if kind == 3:
        return draw(st.text(id_alphabet, max_size=20))
    if kind == 4:
        return draw(st.text(st.characters(exclude_categories=("Cs",)), max_size=20))
    return draw(st.sampled_from([None, "", " "]))


def _python_row(raw):
    result = normalise_id_number(raw, AS_OF)
    if isinstance(result, IdNumber):
        return (result.value, None, result.birth_date, result.sex)
    return (None, result.reason if result else None, None, None)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.lists(messy_values(), min_size=1, max_size=300))
def test_sql_and_python_agree(run_sql, values):
    value, reason = id_number_sql("v", str(born_by(AS_OF)))
    rows = run_sql(values, value, reason, birth_date_sql(value), sex_sql(value))
    assert rows == [_python_row(raw) for raw in values]


def test_sql_uses_today_without_an_as_of_date(run_sql):
    tomorrow = "110105" + (date.today() + timedelta(days=1)).strftime("%Y%m%d") + "001"
    values = [tomorrow + check_digit(tomorrow), STANDARD_EXAMPLE]
    value, reason = id_number_sql("v")
    rows = run_sql(values, value, reason)
    assert rows == [(None, normalise_id_number(values[0]).reason), (STANDARD_EXAMPLE, None)]


# ---- repair: the neighbourhood of a number failing its check --------------------------------------


@st.composite
def slips(draw) -> tuple[str, str]:
    """(valid ID, the ID after one slip): a substitution anywhere (X only as the check character) or a
    transposition of two adjacent characters."""
    value = draw(valid_ids())
    if draw(st.booleans()):
        position = draw(st.integers(0, 17))
        alphabet = "0123456789X" if position == 17 else "0123456789"
        char = draw(st.sampled_from([c for c in alphabet if c != value[position]]))
        return value, value[:position] + char + value[position + 1:]
    position = draw(st.integers(0, 16))
    return value, value[:position] + value[position + 1] + value[position] + value[position + 2:]


@given(slips())
def test_a_slip_that_fails_the_check_has_the_original_among_its_neighbours(slip):
    original, slipped = slip
    if slipped == original or not fails_check(slipped):  # equal digits swapped; digit 17 swapped with the check
        return
    found = neighbours(slipped)
    assert original in found
    assert all(not fails_check(n) and n != slipped for n in found)
    assert len(found) <= 17 * 9 + 10 + 17


@given(valid_ids())
def test_a_valid_number_is_never_repaired(value):
    assert not fails_check(value) and neighbours(value) == []


@pytest.mark.parametrize("raw", ["", "11010519491231002", "1101051949123100ZX", "A10105194912310021"])
def test_only_numbers_of_the_18_character_form_are_repaired(raw):
    assert neighbours(raw) == []


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(slips().map(lambda s: s[1]), valid_ids()), min_size=1, max_size=40))
def test_sql_neighbours_are_the_python_neighbours_once_filtered_by_the_check(values):
    import duckdb
    import pyarrow as pa

    con = duckdb.connect()
    con.register("src", pa.table({"rid": list(range(len(values))), "v": values}))
    rows = con.execute(f"SELECT rid, near FROM ({neighbours_sql('src')})").fetchall()
    by_rid: dict[int, set[str]] = {}
    for rid, near in rows:
        if not fails_check(near):
            by_rid.setdefault(rid, set()).add(near)
    assert {rid: sorted(found) for rid, found in by_rid.items()} == {
        i: neighbours(v) for i, v in enumerate(values) if neighbours(v)}
