"""A small typed Python client over the three silentcert gRPC services.

    with SilentcertClient("127.0.0.1:50051") as client:
        liveness = client.get_liveness(person_id="P0001")
        for page in client.iter_flags(severity=deathcheck_pb2.FLAG_SEVERITY_HIGH): ...

Over TLS with a bearer token (see docs/security.md):

    client = SilentcertClient("pensions.example:50051", token=token, tls=ClientTls(ca=Path("ca.pem")))

Responses are the generated protobuf messages (typed by their .pyi). A failed call raises the matching class of
:mod:`graph.errors` (NotFound, InvalidInput with its field, Conflict, StoreUnavailable); other failures stay
``grpc.RpcError`` (deadline exceeded, server unreachable).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from silentcert.deathcheck.v1 import deathcheck_pb2, deathcheck_pb2_grpc
from silentcert.graph.errors import Busy, Conflict, Forbidden, InvalidInput, NotFound, SilentcertError, StoreUnavailable
from silentcert.liveness.v1 import liveness_pb2, liveness_pb2_grpc
from silentcert.resolver.v1 import resolver_pb2, resolver_pb2_grpc
from silentcert.services.grpc_errors import ERROR_TRAILER, FIELD_TRAILER
from silentcert.services.proto_values import timestamp

T = TypeVar("T")

_ERROR_OF: dict[grpc.StatusCode, type[SilentcertError]] = {
    grpc.StatusCode.INVALID_ARGUMENT: InvalidInput,
    grpc.StatusCode.NOT_FOUND: NotFound,
    grpc.StatusCode.PERMISSION_DENIED: Forbidden,
    grpc.StatusCode.FAILED_PRECONDITION: Conflict,
    grpc.StatusCode.UNAVAILABLE: StoreUnavailable,
    grpc.StatusCode.RESOURCE_EXHAUSTED: Busy,
}


@dataclass(frozen=True)
class ClientTls:
    """The CA that signed the server's certificate; a client certificate and key for mutual TLS."""

    ca: Path
    cert: Path | None = None
    key: Path | None = None


def open_channel(target: str, *, token: str | None = None, tls: ClientTls | None = None) -> grpc.Channel:
    """A channel to `target`, TLS when `tls` is given, sending `authorization: Bearer <token>` on every call."""
    if tls is None:
        channel = grpc.insecure_channel(target)
    else:
        credentials = grpc.ssl_channel_credentials(
            root_certificates=tls.ca.read_bytes(),
            private_key=tls.key.read_bytes() if tls.key else None,
            certificate_chain=tls.cert.read_bytes() if tls.cert else None,
        )
        channel = grpc.secure_channel(target, credentials)
    return grpc.intercept_channel(channel, BearerToken(token)) if token else channel


class _CallDetails(NamedTuple):
    method: str
    timeout: float | None
    metadata: Any
    credentials: Any
    wait_for_ready: bool | None
    compression: Any


class BearerToken(grpc.UnaryUnaryClientInterceptor, grpc.UnaryStreamClientInterceptor,
                  grpc.StreamUnaryClientInterceptor, grpc.StreamStreamClientInterceptor):
    """Adds the bearer token to the metadata of every call on a channel."""

    def __init__(self, token: str):
        self._header = ("authorization", f"Bearer {token}")

    def _details(self, details: grpc.ClientCallDetails) -> grpc.ClientCallDetails:
        metadata = [*(details.metadata or ()), self._header]
        return _CallDetails(details.method, details.timeout, metadata, details.credentials,
                            details.wait_for_ready, getattr(details, "compression", None))

    def intercept_unary_unary(self, continuation, details, request):
        return continuation(self._details(details), request)

    def intercept_unary_stream(self, continuation, details, request):
        return continuation(self._details(details), request)

    def intercept_stream_unary(self, continuation, details, requests):
        return continuation(self._details(details), requests)

    def intercept_stream_stream(self, continuation, details, requests):
        return continuation(self._details(details), requests)


class SilentcertClient:
    """One channel, three stubs; every call has a deadline."""

    def __init__(self, target: str, *, timeout: float = 10.0, channel: grpc.Channel | None = None,
                 token: str | None = None, tls: ClientTls | None = None):
        self.channel = channel or open_channel(target, token=token, tls=tls)
        self.timeout = timeout
        self.resolver = resolver_pb2_grpc.ResolverServiceStub(self.channel)
        self.liveness = liveness_pb2_grpc.LivenessServiceStub(self.channel)
        self.deathcheck = deathcheck_pb2_grpc.DeathCheckServiceStub(self.channel)
        self._health = health_pb2_grpc.HealthStub(self.channel)

    def __enter__(self) -> SilentcertClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.channel.close()

    # --- health ---------------------------------------------------------------------------------------------

    def health(self, service: str = "") -> int:
        """The HealthCheckResponse.ServingStatus of a service ('' = the whole server)."""
        return self._call(self._health.Check, health_pb2.HealthCheckRequest(service=service)).status

    # --- resolver -------------------------------------------------------------------------------------------

    def resolve_record(self, max_candidates: int = 0, **fields: str) -> list[resolver_pb2.Candidate]:
        """Candidates for one record given as keyword fields (id_number=, name=, birth_date=...)."""
        request = resolver_pb2.ResolveRecordRequest(record=resolver_pb2.RecordFields(**fields),
                                                    max_candidates=max_candidates)
        return list(self._call(self.resolver.ResolveRecord, request).candidates)

    def get_identifiers(self, person_id: str) -> resolver_pb2.GetIdentifiersResponse:
        return self._call(self.resolver.GetIdentifiers, resolver_pb2.GetIdentifiersRequest(person_id=person_id))

    def submit_round(self, round_file: str, out_dir: str, timeout: float | None = None
                     ) -> Iterator[resolver_pb2.SubmitRoundResponse]:
        """Progress events of a server-side round; the last carries the summary. No deadline unless given."""
        request = resolver_pb2.SubmitRoundRequest(round_file=round_file, out_dir=out_dir)
        yield from self._stream(self.resolver.SubmitRound(request, timeout=timeout))

    def fetch_round_file(self, out_dir: str, name: str, into: Path) -> int:
        """Copy one output file of a finished server-side round to `into`; returns the bytes written."""
        request = resolver_pb2.FetchRoundFileRequest(out_dir=out_dir, name=name)
        tmp = into.with_name(f".{into.name}.part")
        written = 0
        with open(tmp, "wb") as handle:
            for response in self._stream(self.resolver.FetchRoundFile(request, timeout=self.timeout * 30)):
                written += handle.write(response.chunk)
        tmp.replace(into)
        return written

    # --- liveness -------------------------------------------------------------------------------------------

    def get_liveness(self, *, person_id: str | None = None, id_number: str | None = None,
                     evidence_since: str = "") -> liveness_pb2.Liveness:
        request = liveness_pb2.GetLivenessRequest(evidence_since=evidence_since)
        _identify(request, person_id, id_number)
        return self._call(self.liveness.GetLiveness, request).liveness

    def stream_liveness(self, lookups: Iterable[liveness_pb2.StreamLivenessRequest]
                        ) -> Iterator[liveness_pb2.StreamLivenessResponse]:
        """One answer per lookup, in order; failed lookups come back as `failure`, not as errors."""
        yield from self._stream(self.liveness.StreamLiveness(iter(lookups), timeout=self.timeout))

    def record_certification(self, *, person_id: str | None = None, id_number: str | None = None,
                             channel: liveness_pb2.CertificationChannel.ValueType, occurred_at: datetime,
                             passed: bool, record_id: str, operator: str) -> liveness_pb2.RecordCertificationResponse:
        request = liveness_pb2.RecordCertificationRequest(
            channel=channel, occurred_at=timestamp(occurred_at), passed=passed, record_id=record_id, operator=operator,
        )
        _identify(request, person_id, id_number)
        return self._call(self.liveness.RecordCertification, request)

    # --- deathcheck -----------------------------------------------------------------------------------------

    def list_flags(self, **filters: Any) -> deathcheck_pb2.ListFlagsResponse:
        """One page; filters are ListFlagsRequest fields (kind, severity, county_code, status, page_size, page_token)."""
        return self._call(self.deathcheck.ListFlags, deathcheck_pb2.ListFlagsRequest(**filters))

    def iter_flags(self, **filters: Any) -> Iterator[deathcheck_pb2.Flag]:
        """Every matching flag, following page tokens."""
        token = ""
        while True:
            page = self.list_flags(page_token=token, **filters)
            yield from page.flags
            token = page.next_page_token
            if not token:
                return

    def get_flag(self, flag_id: str) -> deathcheck_pb2.GetFlagResponse:
        return self._call(self.deathcheck.GetFlag, deathcheck_pb2.GetFlagRequest(flag_id=flag_id))

    def decide_flag(self, flag_id: str, action: deathcheck_pb2.DecisionAction.ValueType, reviewer: str, note: str = "") -> deathcheck_pb2.DecideFlagResponse:
        request = deathcheck_pb2.DecideFlagRequest(flag_id=flag_id, action=action, reviewer=reviewer, note=note)
        return self._call(self.deathcheck.DecideFlag, request)

    def audit_trail(self, person_id: str) -> list[deathcheck_pb2.AuditEntry]:
        request = deathcheck_pb2.GetAuditTrailRequest(person_id=person_id)
        return list(self._call(self.deathcheck.GetAuditTrail, request).entries)

    # --- plumbing -------------------------------------------------------------------------------------------

    def _call(self, method: Callable[..., T], request: Any) -> T:
        try:
            return method(request, timeout=self.timeout)
        except grpc.RpcError as error:
            raise _domain_error(error) from error

    def _stream(self, responses: Iterator[T]) -> Iterator[T]:
        try:
            yield from responses
        except grpc.RpcError as error:
            raise _domain_error(error) from error


def _domain_error(error: grpc.RpcError) -> Exception:
    """The graph.errors class for a status the server's error interceptor set; otherwise the RpcError itself
    (a dead channel is UNAVAILABLE too, but not a store outage)."""
    if not isinstance(error, grpc.Call):
        return error
    trailers = dict(error.trailing_metadata() or ())
    if ERROR_TRAILER not in trailers:
        return error
    cls = _ERROR_OF.get(error.code())
    if cls in (InvalidInput, Forbidden):
        return cls(error.details(), field=trailers.get(FIELD_TRAILER))
    return cls(error.details()) if cls else error


def _identify(request: Any, person_id: str | None, id_number: str | None) -> None:
    """Set the identifier given; one left None stays unset (an empty string would be a value the server refuses)."""
    if person_id is not None:
        request.person_id = person_id
    if id_number is not None:
        request.id_number = id_number
