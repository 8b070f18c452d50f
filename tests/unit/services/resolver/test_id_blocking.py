"""The ID-number blocking rules: any single typo leaves the record in a block with the right person."""

from __future__ import annotations

import pytest

from silentcert.services.resolver.blocking import row_key
from silentcert.services.resolver.settings import DEFAULT_BLOCKING

ID_RULES = [name for name in DEFAULT_BLOCKING if name.startswith("id_")]
REGISTERED = "36010219500101123X"


@pytest.mark.parametrize("position", range(18))
def test_one_wrong_character_anywhere_still_shares_a_block(position):
    wrong = "9" if REGISTERED[position] != "9" else "8"
    typed = REGISTERED[:position] + wrong + REGISTERED[position + 1:]
    shared = [rule for rule in ID_RULES
              if row_key(rule)({"id_number": typed}) == row_key(rule)({"id_number": REGISTERED})]
    assert shared, f"a typo at position {position + 1} leaves no ID block in common"


def test_people_born_the_same_day_in_one_area_are_not_one_block():
    """The head holds the first two sequence digits too: a county's births of one day are many blocks, not one
    (region + birth date alone paired 77M records at 8.5M pensioners)."""
    born_first = row_key("id_head")({"id_number": "360102195001011231"})
    born_second = row_key("id_head")({"id_number": "360102195001011451"})
    assert born_first != born_second
