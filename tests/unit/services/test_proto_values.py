"""Enum, date and timestamp conversions between protobuf and the domain."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from hypothesis import given
from hypothesis import strategies as st

from silentcert.deathcheck.v1 import deathcheck_pb2 as dc
from silentcert.graph.errors import InvalidInput
from silentcert.liveness.v1 import liveness_pb2 as lv
from silentcert.services.proto_values import enum_domain, enum_value, from_timestamp, iso, timestamp


@pytest.mark.parametrize("enum", [lv.LivenessStatus, lv.CertificationMethod, lv.PeriodState, lv.EvidenceKind,
                                  dc.FlagSeverity, dc.FlagStatus, dc.DecisionAction])
def test_every_enum_value_round_trips_through_its_domain_string(enum):
    for number in enum.values():
        if number == 0:
            continue
        domain = enum_domain(enum, number, "f")
        assert domain == domain.lower() and enum_value(enum, domain) == number


def test_domain_strings_match_the_contract_words():
    assert enum_value(lv.CertificationMethod, "in_person") == lv.CERTIFICATION_METHOD_IN_PERSON
    assert enum_value(lv.PeriodState, "suspended") == lv.PERIOD_STATE_SUSPENDED
    assert enum_value(lv.LivenessStatus, None) == 0 and enum_value(lv.LivenessStatus, "zombie") == 0


def test_unknown_or_forbidden_unspecified_names_the_field():
    assert enum_domain(dc.FlagSeverity, 0, "severity") is None
    with pytest.raises(InvalidInput) as caught:
        enum_domain(dc.FlagSeverity, 17, "severity")
    assert caught.value.field == "severity" and "FLAG_SEVERITY_HIGH" in str(caught.value)
    with pytest.raises(InvalidInput):
        enum_domain(dc.DecisionAction, 0, "action", allow_unspecified=False)


@given(st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(2100, 1, 1)))
def test_naive_datetimes_are_utc_and_round_trip(moment):
    back = from_timestamp(timestamp(moment), "at")
    assert back == moment.replace(tzinfo=UTC)


def test_aware_datetimes_keep_their_instant():
    moment = datetime(2021, 5, 1, 8, 0, tzinfo=timezone(timedelta(hours=8)))
    assert from_timestamp(timestamp(moment), "at") == datetime(2021, 5, 1, 0, 0, tzinfo=UTC)


def test_unset_timestamp_is_invalid_and_dates_render_iso():
    with pytest.raises(InvalidInput) as caught:
        from_timestamp(Timestamp(), "occurred_at")
    assert caught.value.field == "occurred_at"
    assert iso(None) == "" and iso(date(2022, 2, 28)) == "2022-02-28" and iso(datetime(2022, 2, 28, 23)) == "2022-02-28"
    assert timestamp(None) is None
