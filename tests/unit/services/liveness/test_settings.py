from pathlib import Path

import pytest

from silentcert.graph.errors import InvalidInput
from silentcert.services.liveness.settings import LivenessSettings, SeenRates


def test_from_dict_reads_the_liveness_table():
    s = LivenessSettings.from_dict({"period_months": 6, "default_rates": {"telecom": {"alive": 0.9, "dead": 0.2}},
                                    "templates_dir": "/tmp/t"})
    assert s.period_months == 6
    assert s.rates_for("telecom") == SeenRates(0.9, 0.2)
    assert s.rates_for("other") == s.fallback_rates
    assert s.templates_dir == Path("/tmp/t")
    assert LivenessSettings.from_dict(None) == LivenessSettings()


@pytest.mark.parametrize("table", [
    {"perod_months": 6},
    {"min_weak_sources": 1},
    {"certify_probability": 1.0},
    {"link_floor": 0.99, "confident_link": 0.9},
    {"default_rates": {"telecom": {"alive": 0.9}}},
    {"fallback_rates": {"alive": 0.9, "dead": 0.0}},
])
def test_bad_settings_are_rejected_with_the_field(table):
    with pytest.raises(InvalidInput):
        LivenessSettings.from_dict(table)
