"""Hostile input, generated: the ingest normalisers and file reader on random text and bytes, and every rpc on
random request fields over a real server. Bounded (a few hundred examples each) so CI stays in minutes.

What must hold: no unhandled exception anywhere; a file is either refused as a whole with SourceFileError or
every row of it is read or returned as a bad row with its line; an rpc answers OK, INVALID_ARGUMENT or
NOT_FOUND (FAILED_PRECONDITION for deciding a decided flag) — never INTERNAL or UNKNOWN.
"""

from __future__ import annotations

import tempfile
from datetime import date, datetime
from pathlib import Path

import grpc
import pyarrow as pa
import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from silentcert.clients.grpc_client import SilentcertClient
from silentcert.deathcheck.v1 import deathcheck_pb2 as dc
from silentcert.graph.embedded import EmbeddedStore
from silentcert.graph.errors import SourceFileError
from silentcert.graph.exports import schema
from silentcert.graph.store import RoundExport
from silentcert.liveness.v1 import liveness_pb2 as lv
from silentcert.resolver.v1 import resolver_pb2 as rs
from silentcert.services import serving
from silentcert.services.resolver.dates import normalise_date, normalise_timestamp
from silentcert.services.resolver.id_numbers import IdNumber, check_digit, normalise_id_number
from silentcert.services.resolver.names import normalise_name
from silentcert.services.resolver.phones import normalise_phone
from silentcert.services.resolver.rejections import Rejection
from silentcert.services.rounds.readers import read_file
from silentcert.services.rounds.roundfile import FileSpec
from silentcert.services.security.rate_limit import RateLimit
from silentcert.services.security.round_paths import RoundRoots
from silentcert.services.security.settings import SecuritySettings

EXAMPLES = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
ID_1 = "36010219400312001" + check_digit("36010219400312001")

# --- normalisers -------------------------------------------------------------------------------------------------

# Text near the real thing (digits, X, separators, CJK, full-width forms) and anything else.
near_ids = st.text(st.sampled_from("0123456789xX -＋+.０１２３４５６７８９\u3000\t王"), max_size=24)
anything = st.text(max_size=40)


@EXAMPLES
@given(st.one_of(near_ids, anything, st.none()))
def test_normalisers_never_raise(raw):
    for result in (normalise_id_number(raw), normalise_phone(raw), normalise_date(raw, "birth_date"),
                   normalise_timestamp(raw, "occurred_at"), normalise_name(raw)):
        assert result is None or isinstance(result, Rejection) or not isinstance(result, Exception)
        if isinstance(result, Rejection):
            assert result.reason.strip()


@EXAMPLES
@given(near_ids)
def test_an_accepted_id_number_has_a_valid_check_digit(raw):
    result = normalise_id_number(raw)
    if isinstance(result, IdNumber):
        assert len(result.value) == 18 and check_digit(result.value[:17]) == result.value[17]


# --- the file reader ---------------------------------------------------------------------------------------------

def _read(content: bytes, encoding: str = "utf-8", suffix: str = ".csv"):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"evidence{suffix}"
        path.write_bytes(content)
        return read_file(FileSpec(name="telecom", kind="weak", path=path, encoding=encoding))


@EXAMPLES
@given(st.binary(max_size=400), st.sampled_from(["utf-8", "gb18030"]), st.sampled_from([".csv", ".parquet"]))
def test_random_bytes_are_read_or_refused_as_a_whole(content, encoding, suffix):
    try:
        result = _read(content, encoding, suffix)
    except SourceFileError as refused:
        assert "telecom" in str(refused)
        return
    lines = result.table["line"].to_pylist()
    bad = [b.line for b in result.bad_rows]
    assert not set(lines) & set(bad) and all(n >= 2 for n in lines + bad)
    assert len(lines) + len(bad) <= content.count(b"\n") + content.count(b"\r") + 1
    assert all(b.reason for b in result.bad_rows)


cell = st.text(st.characters(blacklist_characters=',"\r\n', blacklist_categories=("Cs",)), max_size=8)


@st.composite
def csv_files(draw):
    """A header with the required columns, then rows of which some have too few or too many fields."""
    header = ["record_id", "occurred_at", *draw(st.lists(st.sampled_from(["phone", "name", "extra"]), unique=True))]
    rows = draw(st.lists(st.lists(cell, min_size=len(header) - 2, max_size=len(header) + 2), max_size=30))
    return header, rows


@EXAMPLES
@given(csv_files(), st.sampled_from(["utf-8", "gb18030"]))
def test_every_csv_row_is_read_or_rejected_with_its_line(file, encoding):
    header, rows = file
    text = "\n".join([",".join(header), *(",".join(r) for r in rows)]) + "\n"
    result = _read(text.encode(encoding), encoding)
    read = set(result.table["line"].to_pylist())
    rejected = {b.line: b for b in result.bad_rows}
    for number, row in enumerate(rows, start=2):
        line = ",".join(row)
        if not line.strip():  # an empty or whitespace-only line is not a row
            assert number not in read and number not in rejected
        elif len(row) != len(header):
            assert number in rejected and f"has {len(row)} fields" in rejected[number].reason
        elif not "".join(row).strip():  # only separators and spaces: not a row
            assert number not in read and number not in rejected
        else:
            assert number in read
    assert not read & set(rejected)


# --- the rpcs ----------------------------------------------------------------------------------------------------

def _table(name: str, rows: list[dict]) -> pa.Table:
    return pa.Table.from_pylist([{c: r.get(c) for c in schema(name).names} for r in rows], schema=schema(name))


def _export() -> RoundExport:
    person = dict(person_id="P1", id_number=ID_1, name="王建国", sex="M", birth_date=date(1940, 3, 12),
                  phone="13800008000", county_code="360102", status="certified", method="strong",
                  certified_until=date(2022, 9, 1), period_state="valid")
    flag = dict(flag_id="F1", person_id="P1", kind="shared_phone", severity="low", detail="d", overpayment=0.0)
    event = dict(key="v/V1", source="v", kind="strong", record_id="V1", occurred_at=datetime(2021, 9, 1),
                 person_id="P1", match_probability=0.99, method="deterministic")
    return RoundExport("2021-10", date(2021, 10, 31), _table("pensioners", [person]),
                       _table("identifiers", [dict(person_id="P1", kind="id_number", value=ID_1, shared=False)]),
                       _table("events", [event]), _table("flags", [flag]), _table("flag_citations", []))


@pytest.fixture(scope="module")
def rpc_client(tmp_path_factory):
    """All three services in --insecure-dev mode (authentication is test_security's subject) with the real
    round pipeline behind SubmitRound."""
    with EmbeddedStore(tmp_path_factory.mktemp("fuzz") / "graph.duckdb") as store:
        store.publish_round(_export())
        running = serving.start(serving.ServeSettings(address="127.0.0.1:0", grace_seconds=0,
                                                      rounds=RoundRoots.of(tmp_path_factory.mktemp("fuzz-rounds")),
                                                      security=SecuritySettings(insecure_dev=True, rate=UNLIMITED,
                                                                                id_lookups=UNLIMITED)),
                                [store])
        with SilentcertClient(f"127.0.0.1:{running.port}", timeout=30) as client:
            yield client
        running.server.stop(0).wait()


UNLIMITED = RateLimit(rate=1e9, burst=1e9)  # the limiter is test_security's subject
ALLOWED = {grpc.StatusCode.OK, grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.NOT_FOUND}

texts = st.one_of(st.text(max_size=30), st.sampled_from(["P1", ID_1, ID_1.lower(), "F1", "1940-03-12", ""]),
                  st.text(min_size=250, max_size=300))
enums = st.one_of(st.integers(-3, 12), st.integers(-(2 ** 31), 2 ** 31 - 1))
# Timestamp's valid range is years 1..9999: seconds -62135596800..253402300799
seconds = st.one_of(st.integers(0, 2 * 10 ** 9), st.integers(-10 ** 12, 10 ** 12),
                    st.sampled_from([-62135596801, -62135596800, -2208988801, 7258118400, 253402300799,
                                     253402300800, 10 ** 12]))
timestamps = st.builds(Timestamp, seconds=seconds, nanos=st.one_of(st.integers(0, 999_999_999), st.just(10 ** 9)))
counts = st.one_of(st.integers(-5, 1200), st.integers(-(2 ** 31), 2 ** 31 - 1))


def _code(call) -> grpc.StatusCode:
    try:
        call()
    except grpc.RpcError as error:
        assert error.code() not in (grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN), error.details()
        return error.code()
    return grpc.StatusCode.OK


def _person(which: str, value: str) -> dict:
    return {} if which == "none" else {which: value}


@EXAMPLES
@given(st.builds(rs.RecordFields, id_number=texts, name=texts, sex=texts, birth_date=texts, phone=texts,
                 card_no=texts, county_code=texts), counts)
def test_resolve_record_fuzz(rpc_client, record, limit):
    call = lambda: rpc_client.resolver.ResolveRecord(rs.ResolveRecordRequest(record=record,  # noqa: E731
                                                                             max_candidates=limit), timeout=30)
    assert _code(call) in ALLOWED


@EXAMPLES
@given(texts)
def test_get_identifiers_and_audit_trail_fuzz(rpc_client, person_id):
    assert _code(lambda: rpc_client.resolver.GetIdentifiers(rs.GetIdentifiersRequest(person_id=person_id),
                                                            timeout=30)) in ALLOWED
    assert _code(lambda: rpc_client.deathcheck.GetAuditTrail(dc.GetAuditTrailRequest(person_id=person_id),
                                                             timeout=30)) in ALLOWED


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(texts)
def test_submit_round_fuzz(rpc_client, round_file):
    request = rs.SubmitRoundRequest(round_file=round_file, out_dir="fuzz-out")  # relative: below the rounds root
    code = _code(lambda: list(rpc_client.resolver.SubmitRound(request, timeout=60)))
    assert code in ALLOWED | {grpc.StatusCode.PERMISSION_DENIED}  # PERMISSION_DENIED: a path outside the root


@EXAMPLES
@given(st.sampled_from(["person_id", "id_number", "none"]), texts, texts)
def test_get_liveness_fuzz(rpc_client, which, value, since):
    request = lv.GetLivenessRequest(evidence_since=since, **_person(which, value))
    assert _code(lambda: rpc_client.liveness.GetLiveness(request, timeout=30)) in ALLOWED


@EXAMPLES
@given(st.lists(st.tuples(st.sampled_from(["person_id", "id_number", "none"]), texts, texts), max_size=8))
def test_stream_liveness_fuzz(rpc_client, lookups):
    requests = [lv.StreamLivenessRequest(tag=tag, **_person(which, value)) for which, value, tag in lookups]
    answers = []
    assert _code(lambda: answers.extend(rpc_client.liveness.StreamLiveness(iter(requests), timeout=30))) \
        is grpc.StatusCode.OK
    assert [a.tag for a in answers] == [r.tag for r in requests]  # one answer per lookup: nothing lost


@EXAMPLES
@given(st.sampled_from(["person_id", "id_number", "none"]), st.one_of(st.just("P1"), st.just(ID_1), texts),
       st.one_of(st.sampled_from(list(lv.CertificationChannel.values())), enums), timestamps, st.just(True),
       st.one_of(st.just("R-1"), texts), st.one_of(st.just("kiosk"), texts))
def test_record_certification_fuzz(rpc_client, which, value, channel, occurred_at, passed, record_id, operator):
    request = lv.RecordCertificationRequest(channel=channel, occurred_at=occurred_at, passed=passed,
                                            record_id=record_id, operator=operator, **_person(which, value))
    assert _code(lambda: rpc_client.liveness.RecordCertification(request, timeout=30)) in ALLOWED


@EXAMPLES
@given(texts, enums, texts, enums, counts, texts)
def test_list_flags_fuzz(rpc_client, kind, severity, county, status, size, token):
    request = dc.ListFlagsRequest(kind=kind, severity=severity, county_code=county, status=status, page_size=size,
                                  page_token=token)
    assert _code(lambda: rpc_client.deathcheck.ListFlags(request, timeout=30)) in ALLOWED


@EXAMPLES
@given(texts, enums, texts, texts)
def test_get_and_decide_flag_fuzz(rpc_client, flag_id, action, reviewer, note):
    assert _code(lambda: rpc_client.deathcheck.GetFlag(dc.GetFlagRequest(flag_id=flag_id), timeout=30)) in ALLOWED
    request = dc.DecideFlagRequest(flag_id=flag_id, action=action, reviewer=reviewer, note=note)
    code = _code(lambda: rpc_client.deathcheck.DecideFlag(request, timeout=30))
    assert code in ALLOWED | {grpc.StatusCode.FAILED_PRECONDITION}
