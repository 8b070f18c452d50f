from datetime import date

import pytest

from silentcert.synthetic import generate

AS_OF = date(2021, 10, 31)


@pytest.fixture(scope="session")
def small_round(tmp_path_factory):
    out = tmp_path_factory.mktemp("round")
    summary = generate(1500, 7, AS_OF, out)
    return out, summary
