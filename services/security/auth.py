"""The one server interceptor every rpc passes: who is calling, may their role call this, are they within their
rate, and what of the answer may they see.

    no credential, an unknown or expired token,
    a malformed authorization header            → UNAUTHENTICATED
    a role the table in roles.py does not allow → PERMISSION_DENIED
    the caller's token bucket is empty          → RESOURCE_EXHAUSTED (each request of a request stream counts)
    too many streams open, a stream too long    → RESOURCE_EXHAUSTED (limits.py)
    otherwise the rpc runs; its responses are masked (masking.py) unless the role sees full values, and every
    person it disclosed is written to the access log (access_log.py).

A caller is named by a bearer token (metadata ``authorization: Bearer sct_…``, looked up in the token file) or,
on a mutual-TLS port, by the client certificate as the client roles file maps it (client_roles.py: by
fingerprint or exact subject, never by the OU alone); a token, when sent, wins.
With ``--insecure-dev`` there is no authentication: every call runs as the admin ``insecure-dev``.
"""

from __future__ import annotations

import contextvars
import logging
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import grpc

from silentcert.graph.errors import Busy
from silentcert.services.grpc_errors import rebuild_handler
from silentcert.services.security import roles
from silentcert.services.security.access_log import ID_LOOKUPS, PERSON_READS, AccessLog
from silentcert.services.security.client_roles import ClientRoles
from silentcert.services.security.limits import StreamGate, StreamLimits, bounded_requests
from silentcert.services.security.masking import mask_message
from silentcert.services.security.rate_limit import RateLimit, RateLimiter
from silentcert.services.security.tokens import TokenBook, TokenRejected

log = logging.getLogger(__name__)

PEM_CERT = "x509_pem_cert"
# Lookups by full ID number, per caller, on top of the call rate: a caller walking the masked digits of a number
# (10^7 candidates with the check digit) needs weeks, and every miss is in the access log.
ID_LOOKUP_RATE = RateLimit(rate=2.0, burst=200.0)


@dataclass(frozen=True)
class Caller:
    name: str
    role: str
    via: str  # token | certificate | insecure-dev


DEV_CALLER = Caller("insecure-dev", roles.ADMIN, "insecure-dev")

# The caller of the unary rpc running in this thread, for the rpcs that record who acted (DecideFlag).
_current_caller: contextvars.ContextVar[Caller | None] = contextvars.ContextVar("silentcert_caller", default=None)


def authenticated_caller() -> Caller | None:
    """Who is calling the rpc being served now; None outside the access interceptor."""
    return _current_caller.get()


class Unauthenticated(Exception):
    """No usable credential; the message says what is wrong and never repeats the credential."""


class Authenticator:
    """Names the caller from a bearer token (when a token file is loaded) or a verified client certificate."""

    def __init__(self, tokens: TokenBook | None, certificates: ClientRoles | None):
        self.tokens = tokens
        self.certificates = certificates  # None: no client certificates (no mutual TLS)

    def caller(self, context: grpc.ServicerContext) -> Caller:
        header = _authorization(context)
        if header is not None:
            return self._from_token(header)
        pem = (context.auth_context() or {}).get(PEM_CERT)
        if self.certificates is not None and pem:
            return _from_certificate(pem[0], self.certificates)
        wanted = "authorization: Bearer <token>" + (" or a client certificate" if self.certificates is not None
                                                    else "")
        raise Unauthenticated(f"missing credential: send {wanted}")

    def _from_token(self, header: str) -> Caller:
        scheme, _, token = header.strip().partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthenticated("authorization metadata must be 'Bearer <token>'")
        if self.tokens is None:
            raise Unauthenticated("this server accepts client certificates, not bearer tokens")
        try:
            entry = self.tokens.verify(token.strip())
        except TokenRejected as rejected:
            raise Unauthenticated(str(rejected)) from None
        return Caller(entry.name, entry.role, "token")


def _authorization(context: grpc.ServicerContext) -> str | None:
    for key, value in context.invocation_metadata() or ():
        if key.lower() == "authorization":
            return value if isinstance(value, str) else None
    return None


def _from_certificate(pem: bytes, mapping: ClientRoles) -> Caller:
    found = mapping.caller_of(pem)
    if found is None:
        raise Unauthenticated("this client certificate is not in the server's client roles file")
    return Caller(found.name, found.role, "certificate")


class AccessInterceptor(grpc.ServerInterceptor):
    """Authenticate, authorize, rate-limit, then mask and log what the rpc returns. See the module docstring."""

    def __init__(self, authenticator: Authenticator | None, *, rate_limiter: RateLimiter | None = None,
                 access_log: AccessLog | None = None, streams: StreamLimits = StreamLimits(),
                 id_lookups: RateLimit = ID_LOOKUP_RATE):
        self.authenticator = authenticator  # None: --insecure-dev
        self.rate_limiter = rate_limiter
        self.access_log = access_log
        self.streams = StreamGate(streams)
        self.id_lookups = RateLimiter(id_lookups)

    def intercept_service(self, continuation: Callable[[grpc.HandlerCallDetails], grpc.RpcMethodHandler | None],
                          details: grpc.HandlerCallDetails) -> grpc.RpcMethodHandler | None:
        handler = continuation(details)
        if handler is None or roles.is_public(details.method):
            return handler
        return rebuild_handler(handler, lambda behavior, streaming: self._guard(behavior, details.method, streaming))

    def admit(self, context: grpc.ServicerContext, method: str) -> Caller:
        """The caller, if it may make this call now; otherwise the call is aborted with the reason."""
        try:
            caller = self.authenticator.caller(context) if self.authenticator else DEV_CALLER
        except Unauthenticated as refused:
            log.warning("unauthenticated call to %s from %s: %s", method, context.peer(), refused)
            context.abort(grpc.StatusCode.UNAUTHENTICATED, str(refused))
        if not roles.may_call(caller.role, method):
            log.warning("%s (%s) may not call %s", caller.name, caller.role, method)
            context.abort(grpc.StatusCode.PERMISSION_DENIED, f"role {caller.role} may not call {method}")
        if self.rate_limiter and not self.rate_limiter.allow(caller.name):
            wait = self.rate_limiter.retry_after(caller.name)
            context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED, f"rate limit of {caller.name} reached; retry in "
                                                              f"{wait:.2f}s")
        return caller

    def disclose(self, caller: Caller, method: str, request: Any, response: Any, context: grpc.ServicerContext) -> Any:
        """Log the persons a response names, then mask it for the caller's role."""
        person_ids = PERSON_READS.get(method)
        if self.access_log and person_ids:
            self.access_log.record(caller=caller.name, role=caller.role, rpc=method,
                                   person_ids=person_ids(request, response), peer=context.peer())
        if not roles.sees_full_values(caller.role):
            mask_message(response)
        return response

    def _guard(self, behavior: Callable[..., Any], method: str, streaming: bool) -> Callable[..., Any]:
        if streaming:
            def stream(request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
                caller = self.admit(context, method)
                leave = self._enter_stream(caller, request, context)
                unary_request = request if _is_message(request) else None
                pending: deque[str] = deque()  # ID numbers of lookups not answered yet (answers come in order)
                requests = request if unary_request else self._bounded(caller, request, method, pending)
                try:
                    for response in behavior(requests, context):
                        if method in ID_LOOKUPS and pending:
                            number = pending.popleft()
                            if number:
                                self._log_lookup(caller, method, number, response, context)
                        yield self.disclose(caller, method, unary_request, response, context)
                finally:
                    leave()
            return stream

        def unary(request: Any, context: grpc.ServicerContext) -> Any:
            caller = self.admit(context, method)
            if not _is_message(request):  # a request stream answered once
                leave = self._enter_stream(caller, request, context)
                try:
                    response = behavior(self._bounded(caller, request), context)
                finally:
                    leave()
                return self.disclose(caller, method, None, response, context)
            number = self._id_lookup(caller, method, request, context)
            try:
                response = _as(caller, lambda: behavior(request, context))
            except BaseException:
                if number:
                    self._log_lookup(caller, method, number, None, context)
                raise
            if number:
                self._log_lookup(caller, method, number, response, context)
            return self.disclose(caller, method, request, response, context)
        return unary

    def _enter_stream(self, caller: Caller, request: Any, context: grpc.ServicerContext) -> Callable[[], None]:
        """Count the call against the stream limits (aborting when full); the returned function lets it go, and
        runs on its own when the call ends, however it ends."""
        try:
            leave = self.streams.enter(caller.name)
        except Busy as busy:
            context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED, str(busy))
        if not context.add_callback(leave):
            leave()
        return leave

    def _bounded(self, caller: Caller, requests: Iterator[Any], method: str = "",
                 pending: deque[str] | None = None) -> Iterator[Any]:
        def take_token(request: Any) -> None:
            if self.rate_limiter and not self.rate_limiter.allow(caller.name):
                wait = self.rate_limiter.retry_after(caller.name)
                raise Busy(f"rate limit of {caller.name} reached (each lookup counts); retry in {wait:.2f}s")
            if method in ID_LOOKUPS and pending is not None:
                pending.append(self._id_number(caller, method, request))
        return bounded_requests(requests, self.streams.limits, take_token)

    def _id_number(self, caller: Caller, method: str, request: Any) -> str:
        """The ID number `request` looks a person up by ("" for none), once the caller's ID-lookup bucket allows
        it; Busy when it does not."""
        number = ID_LOOKUPS[method][0](request) if method in ID_LOOKUPS else ""
        if number and not self.id_lookups.allow(caller.name):
            wait = self.id_lookups.retry_after(caller.name)
            raise Busy(f"lookups by ID number of {caller.name} limited to {self.id_lookups.limit.rate:g} a second; "
                       f"retry in {wait:.2f}s")
        return number

    def _id_lookup(self, caller: Caller, method: str, request: Any, context: grpc.ServicerContext) -> str:
        try:
            return self._id_number(caller, method, request)
        except Busy as busy:
            context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED, str(busy))
            raise  # not reached: context.abort raises

    def _log_lookup(self, caller: Caller, method: str, number: str, response: Any,
                    context: grpc.ServicerContext) -> None:
        if self.access_log:
            found = ID_LOOKUPS[method][1](response) if response is not None else ""
            self.access_log.lookup(caller=caller.name, role=caller.role, rpc=method, id_number=number,
                                   person_id=found, peer=context.peer())


def _as(caller: Caller, call: Callable[[], Any]) -> Any:
    token = _current_caller.set(caller)
    try:
        return call()
    finally:
        _current_caller.reset(token)


def _is_message(request: Any) -> bool:
    return hasattr(request, "DESCRIPTOR")


