"""The one server interceptor that turns the exception tree of :mod:`graph.errors` into gRPC status codes.

Servicers raise domain errors and never call ``context.abort`` themselves:

    InvalidInput      → INVALID_ARGUMENT   message names the field; trailer ``silentcert-field``
    Forbidden         → PERMISSION_DENIED  message names the field; trailer ``silentcert-field``
    NotFound          → NOT_FOUND
    Conflict          → FAILED_PRECONDITION
    StoreUnavailable  → UNAVAILABLE
    Busy              → RESOURCE_EXHAUSTED
    anything else     → INTERNAL           "internal error (ref …)"; the traceback goes to the server log only

Every mapped status also carries the trailer ``silentcert-error`` with the error class name, which
:mod:`clients.grpc_client` uses to raise the same class on the client side.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import grpc

from silentcert.graph.errors import Busy, Conflict, Forbidden, InvalidInput, NotFound, SilentcertError, StoreUnavailable

log = logging.getLogger(__name__)

ERROR_TRAILER = "silentcert-error"
FIELD_TRAILER = "silentcert-field"

# Most specific first: the first matching class wins.
STATUS_OF: tuple[tuple[type[SilentcertError], grpc.StatusCode], ...] = (
    (InvalidInput, grpc.StatusCode.INVALID_ARGUMENT),
    (Forbidden, grpc.StatusCode.PERMISSION_DENIED),
    (NotFound, grpc.StatusCode.NOT_FOUND),
    (Conflict, grpc.StatusCode.FAILED_PRECONDITION),
    (StoreUnavailable, grpc.StatusCode.UNAVAILABLE),
    (Busy, grpc.StatusCode.RESOURCE_EXHAUSTED),
)

# grpc.health.v1 is served by grpc's own HealthServicer, whose Watch is non-blocking (it holds no worker thread
# while a client waits); re-wrapping it would turn every idle Watch into a blocked worker. It raises nothing of ours.
UNWRAPPED_PREFIX = "/grpc.health.v1.Health/"


def status_for(error: BaseException) -> grpc.StatusCode:
    """The status code an error maps to; INTERNAL for anything not in the table."""
    for cls, code in STATUS_OF:
        if isinstance(error, cls):
            return code
    return grpc.StatusCode.INTERNAL


def _abort(context: grpc.ServicerContext, error: Exception, method: str) -> None:
    """Abort the call with the status of `error`; raises (as context.abort always does)."""
    if context.code() is not None:  # the handler already chose a status: keep it
        raise error
    code = status_for(error)
    if code is grpc.StatusCode.INTERNAL:
        ref = uuid.uuid4().hex[:12]
        log.exception("internal error in %s (ref %s)", method, ref)
        context.abort(code, f"internal error (ref {ref})")
    trailers = [(ERROR_TRAILER, type(error).__name__)]
    field = getattr(error, "field", None)
    message = str(error)
    if field:
        trailers.append((FIELD_TRAILER, field))
        if field not in message:
            message = f"{field}: {message}"
    context.set_trailing_metadata(tuple(trailers))
    context.abort(code, message)


def _wrap_unary(behavior: Callable[..., Any], method: str) -> Callable[..., Any]:
    def handler(request: Any, context: grpc.ServicerContext) -> Any:
        try:
            return behavior(request, context)
        except Exception as error:  # noqa: BLE001 — mapped to a status, never swallowed
            _abort(context, error, method)

    return handler


def _wrap_streaming(behavior: Callable[..., Iterator[Any]], method: str) -> Callable[..., Iterator[Any]]:
    def handler(request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
        try:
            yield from behavior(request, context)
        except Exception as error:  # noqa: BLE001
            _abort(context, error, method)

    return handler


class ErrorInterceptor(grpc.ServerInterceptor):
    """Wraps every rpc handler so domain errors leave the server as the right status code."""

    def intercept_service(
        self, continuation: Callable[[grpc.HandlerCallDetails], grpc.RpcMethodHandler | None],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler | None:
        handler = continuation(handler_call_details)
        if handler is None or handler_call_details.method.startswith(UNWRAPPED_PREFIX):
            return handler
        method = handler_call_details.method
        return rebuild_handler(handler, lambda behavior, streaming:
                               (_wrap_streaming if streaming else _wrap_unary)(behavior, method))


def rebuild_handler(handler: grpc.RpcMethodHandler,
                    wrap: Callable[[Callable[..., Any], bool], Callable[..., Any]]) -> grpc.RpcMethodHandler:
    """The same rpc handler with its behaviour wrapped; `wrap(behavior, response_streaming)` returns the new one.

    Every server interceptor here (errors, access) rebuilds handlers this one way."""
    kwargs = {"request_deserializer": handler.request_deserializer,
              "response_serializer": handler.response_serializer}
    if handler.unary_unary:
        return grpc.unary_unary_rpc_method_handler(wrap(handler.unary_unary, False), **kwargs)
    if handler.unary_stream:
        return grpc.unary_stream_rpc_method_handler(wrap(handler.unary_stream, True), **kwargs)
    if handler.stream_unary:
        return grpc.stream_unary_rpc_method_handler(wrap(handler.stream_unary, False), **kwargs)
    return grpc.stream_stream_rpc_method_handler(wrap(handler.stream_stream, True), **kwargs)
