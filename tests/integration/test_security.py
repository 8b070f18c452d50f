"""Security of the gRPC services on real TLS ports: the auth matrix (every rpc × every role × bad, expired and
missing credentials, exact status codes), TLS and mutual TLS handshakes, masking per role, the access log,
rate limits, and `serve` refusing to run unprotected."""

from __future__ import annotations

import atexit
import logging
import shutil
import tempfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import grpc
import pyarrow as pa
import pytest
from grpc_health.v1 import health_pb2

from silentcert.clients.cli import main as cli_main
from silentcert.clients.grpc_client import ClientTls, SilentcertClient
from silentcert.deathcheck.v1 import deathcheck_pb2 as dc
from silentcert.deathcheck.v1 import deathcheck_pb2_grpc
from silentcert.graph.embedded import EmbeddedStore
from silentcert.graph.errors import InvalidInput
from silentcert.graph.exports import schema
from silentcert.graph.store import RoundExport
from silentcert.liveness.v1 import liveness_pb2 as lv
from silentcert.liveness.v1 import liveness_pb2_grpc
from silentcert.resolver.v1 import resolver_pb2 as rs
from silentcert.resolver.v1 import resolver_pb2_grpc
from silentcert.services import serving
from silentcert.services.resolver.batch import RoundEvent, RoundOutcome
from silentcert.services.resolver.id_numbers import check_digit
from silentcert.services.resolver.one_record import exact_id_resolver
from silentcert.services.security import roles
from silentcert.services.security.access_log import read_lines
from silentcert.services.security.rate_limit import RateLimit
from silentcert.services.security.round_paths import RoundRoots
from silentcert.services.security.settings import SecuritySettings
from silentcert.services.security.tls import Issued, TlsFiles, issue_client, make_dev_ca
from silentcert.services.security.tokens import issue_token

ID_1 = "36010219400312001" + check_digit("36010219400312001")
PHONE_1 = "13800008000"
OK = grpc.StatusCode.OK


def _table(name: str, rows: list[dict]) -> pa.Table:
    return pa.Table.from_pylist([{c: r.get(c) for c in schema(name).names} for r in rows], schema=schema(name))


def one_person_export() -> RoundExport:
    """P1 with an ID number, a phone, one strong record and one open flag."""
    person = dict(person_id="P1", id_number=ID_1, name="王建国", sex="M", birth_date=date(1940, 3, 12),
                  phone=PHONE_1, county_code="360102", monthly_pension=3200.0, status="certified", method="strong",
                  source="vaccination", evidence_at=date(2021, 9, 1), probability=0.999,
                  certified_until=date(2022, 9, 1), period_state="valid")
    identifiers = [dict(person_id="P1", kind="id_number", value=ID_1, shared=False, origin="registry"),
                   dict(person_id="P1", kind="phone", value=PHONE_1, shared=False, origin="registry")]
    events = [dict(key="vaccination/V1", source="vaccination", kind="strong", record_id="V1",
                   occurred_at=datetime(2021, 9, 1, 10, 30), person_id="P1", match_probability=0.998,
                   method="deterministic", id_number=ID_1, phone=PHONE_1)]
    flags = [dict(flag_id="F1", person_id="P1", kind="shared_phone", severity="low", detail="phone shared",
                  overpayment=0.0, county_code="360102")]
    return RoundExport("2021-10", date(2021, 10, 31), _table("pensioners", [person]),
                       _table("identifiers", identifiers), _table("events", events), _table("flags", flags),
                       _table("flag_citations", [dict(flag_id="F1", event_key="vaccination/V1")]))


def tiny_round(round_file: Path, out_dir: Path, emit) -> RoundOutcome:
    emit(RoundEvent("ingest", 1, 1, "read"))
    return RoundOutcome("r-sec", out_dir, {"rows": 1})


# --- the servers -------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def pki(tmp_path_factory) -> Path:
    """A dev CA made by the CLI, with a client certificate per role, and a token file with a token per role."""
    out = tmp_path_factory.mktemp("pki")
    clients = [arg for role in roles.ROLES for arg in ("--client", f"{role}-cert:{role}")]
    assert cli_main(["security", "dev-ca", "--out", str(out), *clients]) == 0
    return out


@pytest.fixture(scope="module")
def tokens(pki) -> dict[str, str]:
    path = pki / "tokens.json"
    issued = {role: issue_token(path, role=role, name=f"{role}-1") for role in roles.ROLES}
    past = lambda: datetime.now(UTC) - timedelta(days=2)  # noqa: E731
    issued["expired"] = issue_token(path, role=roles.ADMIN, name="old-admin", days=1, clock=past)
    return issued


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    with EmbeddedStore(tmp_path_factory.mktemp("graph") / "graph.duckdb") as s:
        s.publish_round(one_person_export())
        yield s


def start(store, security: SecuritySettings) -> serving.Running:
    engines = serving.Engines(resolve_one=exact_id_resolver(store), run_round=tiny_round)
    return serving.start(serving.ServeSettings(address="127.0.0.1:0", grace_seconds=0, security=security,
                                               rounds=RoundRoots.of(ROUND_OUT)), [store], engines)


@pytest.fixture(scope="module")
def secured(store, pki, tokens, tmp_path_factory):
    """TLS with bearer tokens, an access log and a generous rate limit."""
    log_path = tmp_path_factory.mktemp("logs") / "access.jsonl"
    running = start(store, SecuritySettings(tls=TlsFiles(pki / "server.pem", pki / "server-key.pem"),
                                            tokens=pki / "tokens.json", access_log=log_path,
                                            rate=RateLimit(10_000, 10_000)))
    yield running, log_path
    running.server.stop(0).wait()
    running.security.close()


def client(running, pki, token: str | None = None, **tls) -> SilentcertClient:
    return SilentcertClient(f"127.0.0.1:{running.port}", timeout=10, token=token,
                            tls=ClientTls(ca=pki / "ca.pem", **tls))


def code_of(call) -> grpc.StatusCode:
    try:
        call()
    except grpc.RpcError as error:
        return error.code()
    return OK


# --- the auth matrix ---------------------------------------------------------------------------------------------

def _finished_round_dir() -> str:
    """The shape FetchRoundFile serves from: a round's state database and an output file."""
    out = Path(tempfile.mkdtemp(prefix="fetch-round-"))
    atexit.register(shutil.rmtree, out, ignore_errors=True)  # made at import, for the CALLS table below
    (out / "state").mkdir()
    (out / "state" / "round.duckdb").write_bytes(b"")
    (out / "verdicts.csv").write_text("person_id,status\n", encoding="utf-8")
    return str(out)


ROUND_OUT = _finished_round_dir()

CALLS = {
    "/silentcert.resolver.v1.ResolverService/ResolveRecord":
        lambda c: c.resolver.ResolveRecord(rs.ResolveRecordRequest(record=rs.RecordFields(id_number=ID_1)), timeout=5),
    "/silentcert.resolver.v1.ResolverService/GetIdentifiers":
        lambda c: c.resolver.GetIdentifiers(rs.GetIdentifiersRequest(person_id="P1"), timeout=5),
    "/silentcert.resolver.v1.ResolverService/SubmitRound":
        lambda c: list(c.resolver.SubmitRound(rs.SubmitRoundRequest(round_file="r.toml", out_dir="out"), timeout=5)),
    "/silentcert.resolver.v1.ResolverService/FetchRoundFile":
        lambda c: list(c.resolver.FetchRoundFile(rs.FetchRoundFileRequest(out_dir=ROUND_OUT, name="verdicts.csv"),
                                                 timeout=5)),
    "/silentcert.liveness.v1.LivenessService/GetLiveness":
        lambda c: c.liveness.GetLiveness(lv.GetLivenessRequest(person_id="P1"), timeout=5),
    "/silentcert.liveness.v1.LivenessService/StreamLiveness":
        lambda c: list(c.liveness.StreamLiveness(iter([lv.StreamLivenessRequest(person_id="P1", tag="a")]),
                                                 timeout=5)),
    "/silentcert.liveness.v1.LivenessService/RecordCertification":
        lambda c: c.liveness.RecordCertification(lv.RecordCertificationRequest(
            person_id="P1", channel=lv.CERTIFICATION_CHANNEL_FACE, passed=True, record_id="K-1", operator="",
            occurred_at=_ts(datetime(2021, 11, 1, tzinfo=UTC))), timeout=5),
    "/silentcert.deathcheck.v1.DeathCheckService/ListFlags":
        lambda c: c.deathcheck.ListFlags(dc.ListFlagsRequest(), timeout=5),
    "/silentcert.deathcheck.v1.DeathCheckService/GetFlag":
        lambda c: c.deathcheck.GetFlag(dc.GetFlagRequest(flag_id="F1"), timeout=5),
    "/silentcert.deathcheck.v1.DeathCheckService/DecideFlag":
        lambda c: c.deathcheck.DecideFlag(dc.DecideFlagRequest(flag_id="F1", action=dc.DECISION_ACTION_ESCALATE,
                                                               reviewer="reviewer-1", note="check register"),
                                        timeout=5),
    "/silentcert.deathcheck.v1.DeathCheckService/GetAuditTrail":
        lambda c: c.deathcheck.GetAuditTrail(dc.GetAuditTrailRequest(person_id="P1"), timeout=5),
}


def _ts(when: datetime):
    from silentcert.services.proto_values import timestamp
    return timestamp(when)


def test_the_matrix_covers_every_rpc_of_every_service():
    services = [rs.DESCRIPTOR.services_by_name["ResolverService"], lv.DESCRIPTOR.services_by_name["LivenessService"],
                dc.DESCRIPTOR.services_by_name["DeathCheckService"]]
    methods = {f"/{s.full_name}/{m.name}" for s in services for m in s.methods}
    assert methods == set(CALLS)
    assert methods <= set(roles.RPC_ROLES)


@pytest.mark.parametrize("role", roles.ROLES)
@pytest.mark.parametrize("method", sorted(CALLS))
def test_each_role_gets_exactly_the_rpcs_of_the_table(secured, pki, tokens, method, role):
    running, _ = secured
    with client(running, pki, tokens[role]) as c:
        code = code_of(lambda: CALLS[method](c))
    allowed = ALLOWED[method.rsplit("/", 1)[1]] | {"admin"}
    assert code is (OK if role in allowed else grpc.StatusCode.PERMISSION_DENIED)


# The policy written out by hand, so a change to roles.RPC_ROLES has to change this test too.
ALLOWED = {
    "ResolveRecord": {"certifier", "reviewer", "batch"}, "GetIdentifiers": {"certifier", "reviewer"},
    "SubmitRound": {"batch"}, "FetchRoundFile": {"batch"},
    "GetLiveness": {"reader", "certifier", "reviewer", "batch"},
    "StreamLiveness": {"reader", "certifier", "reviewer", "batch"}, "RecordCertification": {"certifier"},
    "ListFlags": {"reviewer"}, "GetFlag": {"reviewer"}, "DecideFlag": {"reviewer"}, "GetAuditTrail": {"reviewer"},
}


BAD_CREDENTIALS = {
    "missing": None,
    "unknown": "sct_" + "x" * 43,
    "expired": "expired",
    "not-bearer": "basic",
}


@pytest.mark.parametrize("credential", sorted(BAD_CREDENTIALS))
@pytest.mark.parametrize("method", sorted(CALLS))
def test_missing_bad_or_expired_credentials_are_unauthenticated(secured, pki, tokens, method, credential):
    running, _ = secured
    token = BAD_CREDENTIALS[credential]
    token = tokens["expired"] if token == "expired" else token
    with client(running, pki, token) as c:
        if credential == "not-bearer":
            c.channel = grpc.secure_channel(f"127.0.0.1:{running.port}",
                                            grpc.ssl_channel_credentials((pki / "ca.pem").read_bytes()))
            c.channel = grpc.intercept_channel(c.channel, _Header(("authorization", f"Basic {tokens['admin']}")))
            c.resolver, c.liveness, c.deathcheck = (resolver_pb2_grpc.ResolverServiceStub(c.channel),
                                                    liveness_pb2_grpc.LivenessServiceStub(c.channel),
                                                    deathcheck_pb2_grpc.DeathCheckServiceStub(c.channel))
        with pytest.raises(grpc.RpcError) as caught:
            CALLS[method](c)
    assert caught.value.code() is grpc.StatusCode.UNAUTHENTICATED
    assert tokens["admin"] not in caught.value.details() and tokens["expired"] not in caught.value.details()
    if credential == "expired":
        assert "expired" in caught.value.details()


class _Header(grpc.UnaryUnaryClientInterceptor, grpc.UnaryStreamClientInterceptor,
              grpc.StreamStreamClientInterceptor):
    """Sends one raw metadata pair (to test a malformed authorization header)."""

    def __init__(self, pair):
        self.pair = pair

    def _with(self, details):
        from silentcert.clients.grpc_client import _CallDetails
        return _CallDetails(details.method, details.timeout, [*(details.metadata or ()), self.pair],
                            details.credentials, details.wait_for_ready, getattr(details, "compression", None))

    def intercept_unary_unary(self, continuation, details, request):
        return continuation(self._with(details), request)

    intercept_unary_stream = intercept_unary_unary

    def intercept_stream_stream(self, continuation, details, requests):
        return continuation(self._with(details), requests)


def test_health_is_public_and_reflection_needs_a_role(secured, pki, tokens):
    running, _ = secured
    with client(running, pki) as anonymous:
        assert anonymous.health() == health_pb2.HealthCheckResponse.SERVING
        from grpc_reflection.v1alpha.proto_reflection_descriptor_database import ProtoReflectionDescriptorDatabase
        with pytest.raises(grpc.RpcError) as caught:
            ProtoReflectionDescriptorDatabase(anonymous.channel).get_services()
        assert caught.value.code() is grpc.StatusCode.UNAUTHENTICATED
    with client(running, pki, tokens["reader"]) as reader:
        services = ProtoReflectionDescriptorDatabase(reader.channel).get_services()
        assert "silentcert.liveness.v1.LivenessService" in services


def test_a_revoked_token_stops_working_without_a_restart(secured, pki, tmp_path):
    running, _ = secured
    path = pki / "tokens.json"
    token = issue_token(path, role=roles.READER, name="temp-reader")
    with client(running, pki, token) as c:
        assert code_of(lambda: c.get_liveness(person_id="P1")) is OK
        text = path.read_text()
        import json
        data = json.loads(text)
        data["tokens"] = [t for t in data["tokens"] if t["name"] != "temp-reader"]
        path.write_text(json.dumps(data))
        assert code_of(lambda: c.liveness.GetLiveness(lv.GetLivenessRequest(person_id="P1"), timeout=5)) \
            is grpc.StatusCode.UNAUTHENTICATED


@pytest.mark.parametrize("breakage", ["deleted", "corrupt", "unreadable"])
def test_a_token_file_gone_bad_refuses_every_token_without_naming_it(store, pki, tmp_path, caplog, breakage):
    import json
    import os
    import shutil

    path = tmp_path / "tokens.json"
    token = issue_token(path, role=roles.READER, name="desk-1")
    running = start(store, SecuritySettings(tls=TlsFiles(pki / "server.pem", pki / "server-key.pem"), tokens=path))
    saved = path.read_text()
    try:
        with client(running, pki, token) as c:
            call = lambda: c.liveness.GetLiveness(lv.GetLivenessRequest(person_id="P1"), timeout=5)  # noqa: E731
            assert code_of(call) is OK
            path.unlink()
            if breakage == "corrupt":
                path.write_text(json.dumps({"tokens": [{"name": "x"}]}))
            elif breakage == "unreadable":  # a directory in its place: unreadable even to root
                path.mkdir()
            with pytest.raises(grpc.RpcError) as refused:
                call()
            assert refused.value.code() is grpc.StatusCode.UNAUTHENTICATED
            assert str(tmp_path) not in refused.value.details() and "every token is refused" in \
                refused.value.details()
            assert str(path) in caplog.text
            shutil.rmtree(path) if path.is_dir() else path.unlink(missing_ok=True)
            path.write_text(saved)
            os.utime(path, ns=(1, 1))  # a new modification time, however fast the test runs
            assert code_of(call) is OK
    finally:
        running.server.stop(0).wait()


# --- TLS ---------------------------------------------------------------------------------------------------------

def test_plaintext_to_a_tls_port_is_refused(secured, tokens):
    running, _ = secured
    with SilentcertClient(f"127.0.0.1:{running.port}", timeout=3, token=tokens["admin"]) as plain:
        assert code_of(lambda: plain.liveness.GetLiveness(lv.GetLivenessRequest(person_id="P1"), timeout=3)) \
            is grpc.StatusCode.UNAVAILABLE


def test_a_server_certificate_from_another_ca_is_refused(secured, tokens, tmp_path):
    running, _ = secured
    make_dev_ca(tmp_path / "other")
    with SilentcertClient(f"127.0.0.1:{running.port}", timeout=3, token=tokens["admin"],
                          tls=ClientTls(ca=tmp_path / "other" / "ca.pem")) as c:
        assert code_of(lambda: c.liveness.GetLiveness(lv.GetLivenessRequest(person_id="P1"), timeout=3)) \
            is grpc.StatusCode.UNAVAILABLE


@pytest.fixture(scope="module")
def mutual(store, pki):
    """Mutual TLS: the client certificate names the caller; no token file."""
    running = start(store, SecuritySettings(tls=TlsFiles(pki / "server.pem", pki / "server-key.pem", pki / "ca.pem"),
                                            client_roles=pki / "client-roles.json"))
    yield running
    running.server.stop(0).wait()


def test_mutual_tls_takes_the_role_from_the_client_certificate(mutual, pki):
    cert = dict(cert=pki / "client-certifier-cert.pem", key=pki / "client-certifier-cert-key.pem")
    with client(mutual, pki, **cert) as certifier:
        assert certifier.get_liveness(person_id="P1").person_id == "P1"
        assert code_of(lambda: CALLS["/silentcert.deathcheck.v1.DeathCheckService/ListFlags"](certifier)) \
            is grpc.StatusCode.PERMISSION_DENIED
    with client(mutual, pki) as no_certificate:
        assert code_of(lambda: no_certificate.liveness.GetLiveness(lv.GetLivenessRequest(person_id="P1"),
                                                                    timeout=3)) is grpc.StatusCode.UNAVAILABLE


def test_mutual_tls_refuses_bearer_tokens_when_no_token_file_is_loaded(mutual, pki, tokens):
    cert = dict(cert=pki / "client-reader-cert.pem", key=pki / "client-reader-cert-key.pem")
    with client(mutual, pki, tokens["admin"], **cert) as c:
        with pytest.raises(grpc.RpcError) as caught:
            c.deathcheck.ListFlags(dc.ListFlagsRequest(), timeout=5)
    assert caught.value.code() is grpc.StatusCode.UNAUTHENTICATED


def _signed_by_the_client_ca(pki: Path, out: Path, name: str, unit: str) -> dict[str, Path]:
    """A client certificate the client CA signed, with whatever OU its holder asked for."""
    ca = Issued((pki / "ca.pem").read_bytes(), (pki / "ca-key.pem").read_bytes())
    issued = issue_client(ca, name, unit)
    (out / f"{name}.pem").write_bytes(issued.cert)
    (out / f"{name}-key.pem").write_bytes(issued.key)
    return dict(cert=out / f"{name}.pem", key=out / f"{name}-key.pem")


def test_a_client_certificate_with_ou_admin_is_nobody_unless_the_mapping_names_it(mutual, pki, tmp_path):
    mallory = _signed_by_the_client_ca(pki, tmp_path, "mallory", roles.ADMIN)
    with client(mutual, pki, **mallory) as c:
        with pytest.raises(grpc.RpcError) as refused:
            c.deathcheck.ListFlags(dc.ListFlagsRequest(), timeout=5)
    assert refused.value.code() is grpc.StatusCode.UNAUTHENTICATED
    assert "not in the server's client roles file" in refused.value.details()


def test_the_mapping_not_the_ou_gives_a_certificate_its_role(store, pki, tmp_path):
    import json
    desk = _signed_by_the_client_ca(pki, tmp_path, "desk-9", roles.ADMIN)
    mapping = tmp_path / "client-roles.json"
    subject = "OU=admin,CN=desk-9"  # RFC 4514: the last attribute of the subject first
    mapping.write_text(json.dumps({"certificates": [{"subject": subject, "role": roles.READER}]}))
    running = start(store, SecuritySettings(tls=TlsFiles(pki / "server.pem", pki / "server-key.pem", pki / "ca.pem"),
                                            client_roles=mapping))
    try:
        with client(running, pki, **desk) as c:
            assert c.get_liveness(person_id="P1").person_id == "P1"
            assert code_of(lambda: c.deathcheck.ListFlags(dc.ListFlagsRequest(), timeout=5)) \
                is grpc.StatusCode.PERMISSION_DENIED
    finally:
        running.server.stop(0).wait()


def test_serve_refuses_mutual_tls_without_a_client_roles_file(store, pki):
    with pytest.raises(InvalidInput, match="client-roles") as refused:
        start(store, SecuritySettings(tls=TlsFiles(pki / "server.pem", pki / "server-key.pem", pki / "ca.pem")))
    assert refused.value.field == "client-roles"


# --- masking and the access log ----------------------------------------------------------------------------------

def test_identifiers_are_masked_for_a_certifier_and_full_for_a_reviewer(secured, pki, tokens):
    running, _ = secured
    with client(running, pki, tokens["certifier"]) as certifier:
        masked = {i.kind: i.value for i in certifier.get_identifiers("P1").identifiers}
    assert masked == {rs.IDENTIFIER_KIND_ID_NUMBER: ID_1[:4] + "*" * 10 + ID_1[-4:],
                      rs.IDENTIFIER_KIND_PHONE: "138****8000"}
    with client(running, pki, tokens["reviewer"]) as reviewer:
        full = {i.kind: i.value for i in reviewer.get_identifiers("P1").identifiers}
        flag = reviewer.get_flag("F1")
    assert full == {rs.IDENTIFIER_KIND_ID_NUMBER: ID_1, rs.IDENTIFIER_KIND_PHONE: PHONE_1}
    assert flag.person.id_number == ID_1


def test_every_person_read_is_in_the_access_log_and_denied_calls_are_not(secured, pki, tokens):
    running, log_path = secured
    before = len(read_lines(log_path))
    with client(running, pki, tokens["reader"]) as reader:
        reader.get_liveness(person_id="P1")
        reader.get_liveness(id_number=ID_1)
        list(reader.stream_liveness([lv.StreamLivenessRequest(person_id="P1"),
                                     lv.StreamLivenessRequest(person_id="nobody")]))
        assert code_of(lambda: reader.get_identifiers("P1")) is grpc.StatusCode.PERMISSION_DENIED
    lines = [line for line in read_lines(log_path)[before:] if "lookup" not in line]
    assert [(e["caller"], e["role"], e["rpc"].rsplit("/", 1)[1], e["person_id"]) for e in lines] == [
        ("reader-1", "reader", "GetLiveness", "P1"),
        ("reader-1", "reader", "GetLiveness", "P1"),
        ("reader-1", "reader", "StreamLiveness", "P1"),
    ]
    assert all(datetime.fromisoformat(e["at"]).tzinfo is not None and e["peer"] for e in lines)
    assert ID_1 not in log_path.read_text()


def test_lookups_by_id_number_are_logged_found_or_not_with_the_number_masked(secured, pki, tokens):
    running, log_path = secured
    before = len(read_lines(log_path))
    missing = ID_1[:-4] + "0000"
    with client(running, pki, tokens["reader"]) as reader:
        reader.get_liveness(id_number=ID_1)
        assert code_of(lambda: reader.liveness.GetLiveness(lv.GetLivenessRequest(id_number=missing), timeout=5)) \
            in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.INVALID_ARGUMENT)
        list(reader.stream_liveness([lv.StreamLivenessRequest(id_number=ID_1, tag="a"),
                                     lv.StreamLivenessRequest(id_number=ID_1[:-1] + check_digit("36010219400312009"),
                                                              tag="b")]))
    lookups = [line for line in read_lines(log_path)[before:] if line.get("lookup") == "id_number"]
    assert [(e["rpc"].rsplit("/", 1)[1], e["found"], e["person_id"]) for e in lookups][:1] == \
        [("GetLiveness", True, "P1")]
    assert all(e["id_number"].startswith("3601") and "*" in e["id_number"] for e in lookups)
    assert ("StreamLiveness", True, "P1") in [(e["rpc"].rsplit("/", 1)[1], e["found"], e["person_id"])
                                             for e in lookups]
    assert any(not e["found"] and e["person_id"] == "" for e in lookups)
    assert ID_1 not in log_path.read_text() and missing not in log_path.read_text()


def test_lookups_by_id_number_have_their_own_per_caller_limit(store, pki, tokens):
    running = start(store, SecuritySettings(tls=TlsFiles(pki / "server.pem", pki / "server-key.pem"),
                                            tokens=pki / "tokens.json", rate=RateLimit(10_000, 10_000),
                                            id_lookups=RateLimit(rate=0.1, burst=3)))
    try:
        with client(running, pki, tokens["reader"]) as reader:
            by_number = lambda: reader.liveness.GetLiveness(lv.GetLivenessRequest(id_number=ID_1),  # noqa: E731
                                                            timeout=5)
            assert [code_of(by_number) for _ in range(4)] == [OK, OK, OK, grpc.StatusCode.RESOURCE_EXHAUSTED]
            assert code_of(lambda: reader.get_liveness(person_id="P1")) is OK  # by account number: not limited
            stream = reader.liveness.StreamLiveness(iter([lv.StreamLivenessRequest(id_number=ID_1)]), timeout=5)
            assert code_of(lambda: list(stream)) is grpc.StatusCode.RESOURCE_EXHAUSTED
    finally:
        running.server.stop(0).wait()


def test_list_flags_pages_are_bounded_and_logged_per_person(secured, pki, tokens):
    running, log_path = secured
    before = len(read_lines(log_path))
    with client(running, pki, tokens["reviewer"]) as reviewer:
        too_big = lambda: reviewer.deathcheck.ListFlags(dc.ListFlagsRequest(page_size=1000), timeout=5)  # noqa
        assert code_of(too_big) is grpc.StatusCode.INVALID_ARGUMENT
        assert [f.flag_id for f in reviewer.deathcheck.ListFlags(dc.ListFlagsRequest(page_size=200), timeout=5)
                .flags] == ["F1"]
    assert [(e["rpc"].rsplit("/", 1)[1], e["person_id"]) for e in read_lines(log_path)[before:]] == \
        [("ListFlags", "P1")]


# --- rate limits -------------------------------------------------------------------------------------------------

def test_a_caller_over_its_rate_gets_resource_exhausted_and_others_do_not(store, pki, tokens):
    running = start(store, SecuritySettings(tls=TlsFiles(pki / "server.pem", pki / "server-key.pem"),
                                            tokens=pki / "tokens.json", rate=RateLimit(rate=0.5, burst=3)))
    try:
        with client(running, pki, tokens["reader"]) as greedy, client(running, pki, tokens["certifier"]) as other:
            call = lambda c: code_of(lambda: c.liveness.GetLiveness(lv.GetLivenessRequest(person_id="P1"),  # noqa
                                                                    timeout=5))
            codes = [call(greedy) for _ in range(4)]
            assert codes == [OK, OK, OK, grpc.StatusCode.RESOURCE_EXHAUSTED]
            assert call(other) is OK
    finally:
        running.server.stop(0).wait()


# --- serve refuses to run unprotected ----------------------------------------------------------------------------

def test_serve_refuses_plaintext_without_the_dev_flag(store):
    with pytest.raises(InvalidInput, match="refusing to serve without TLS.*--insecure-dev"):
        start(store, SecuritySettings())


def test_serve_refuses_tls_without_a_way_to_authenticate(store, pki):
    with pytest.raises(InvalidInput, match="--tokens"):
        start(store, SecuritySettings(tls=TlsFiles(pki / "server.pem", pki / "server-key.pem")))


def test_insecure_dev_serves_plaintext_with_a_warning(store, caplog):
    with caplog.at_level(logging.WARNING):
        running = start(store, SecuritySettings(insecure_dev=True))
    try:
        assert any("--insecure-dev" in r.getMessage() and r.levelno == logging.WARNING for r in caplog.records)
        with SilentcertClient(f"127.0.0.1:{running.port}") as c:
            assert c.get_liveness(person_id="P1").person_id == "P1"
    finally:
        running.server.stop(0).wait()


def test_serve_command_refuses_with_a_one_line_reason(tmp_path, capsys):
    assert cli_main(["serve", "--store", str(tmp_path / "g.duckdb"), "--address", "127.0.0.1:0",
                     "--access-log", str(tmp_path / "a.jsonl")]) == 2
    reasons = [line for line in capsys.readouterr().err.splitlines() if line.startswith("silentcert: ")]
    assert len(reasons) == 1 and reasons[0].startswith("silentcert: refusing to serve without TLS")


def test_issue_token_prints_a_token_stored_only_as_a_hash(tmp_path, capsys):
    path = tmp_path / "t.json"
    assert cli_main(["security", "issue-token", "--role", "reader", "--name", "desk-4", "--tokens", str(path)]) == 0
    token = capsys.readouterr().out.strip()
    assert token.startswith("sct_") and token not in path.read_text()
    assert path.stat().st_mode & 0o077 == 0


def test_a_reviewer_decides_under_their_own_name(secured, pki, tokens):
    running, _ = secured
    with client(running, pki, tokens["reviewer"]) as c:
        request = dc.DecideFlagRequest(flag_id="F1", action=dc.DECISION_ACTION_ESCALATE, reviewer="someone-else",
                                       note="check register")
        with pytest.raises(grpc.RpcError) as raised:
            c.deathcheck.DecideFlag(request, timeout=5)
    assert raised.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert "reviewer must be the authenticated caller 'reviewer-1'" in raised.value.details()


# --- certifications are honest records ---------------------------------------------------------------------------

def _certify(c, **changes):
    fields = dict(person_id="P1", channel=lv.CERTIFICATION_CHANNEL_FACE, passed=True, record_id="K-7",
                  operator="", occurred_at=_ts(datetime(2021, 11, 2, tzinfo=UTC)))
    return c.liveness.RecordCertification(lv.RecordCertificationRequest(**{**fields, **changes}), timeout=5)


@pytest.mark.parametrize("when, says", [(datetime(2199, 12, 31, tzinfo=UTC), "in the future"),
                                        (datetime(2020, 1, 1, tzinfo=UTC), "before the evidence window")])
def test_a_certifier_cannot_certify_in_the_future_or_before_the_window(secured, pki, tokens, when, says):
    running, _ = secured
    with client(running, pki, tokens["certifier"]) as c:
        with pytest.raises(grpc.RpcError) as refused:
            _certify(c, occurred_at=_ts(when), record_id=f"K-{when.year}")
        assert refused.value.code() is grpc.StatusCode.INVALID_ARGUMENT
        assert refused.value.details().startswith("occurred_at") and says in refused.value.details()
        assert c.get_liveness(person_id="P1").certified_until < "2100-01-01"


def test_the_operator_is_the_authenticated_certifier_and_the_check_is_audited(secured, pki, tokens):
    running, _ = secured
    with client(running, pki, tokens["certifier"]) as c:
        with pytest.raises(grpc.RpcError) as refused:
            _certify(c, operator="someone-else")
        assert refused.value.code() is grpc.StatusCode.INVALID_ARGUMENT
        assert "operator must be the authenticated caller 'certifier-1'" in refused.value.details()
        _certify(c, record_id="K-8")
    with client(running, pki, tokens["reviewer"]) as reviewer:
        trail = reviewer.deathcheck.GetAuditTrail(dc.GetAuditTrailRequest(person_id="P1"), timeout=5).entries
    (entry,) = [e for e in trail if e.subject == "certification:face/K-8"]
    assert entry.actor == "certifier-1" and entry.action == "record_certification"
    assert '"operator": "certifier-1"' in entry.after_json
