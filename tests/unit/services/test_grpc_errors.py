"""The error interceptor on a real in-process server: each class of the exception tree leaves as its status."""

from __future__ import annotations

from concurrent import futures

import grpc
import pytest

from silentcert.graph.errors import (
    Conflict,
    InvalidInput,
    NotFound,
    RoundFileError,
    SilentcertError,
    StageFailed,
    StoreUnavailable,
)
from silentcert.services.grpc_errors import ERROR_TRAILER, FIELD_TRAILER, ErrorInterceptor, status_for

CASES = [
    (InvalidInput("must be an ISO date", field="birth_date"), grpc.StatusCode.INVALID_ARGUMENT),
    (RoundFileError("round.toml: no [round] table"), grpc.StatusCode.INVALID_ARGUMENT),
    (NotFound("no pensioner P9"), grpc.StatusCode.NOT_FOUND),
    (Conflict("flag F1 already confirmed"), grpc.StatusCode.FAILED_PRECONDITION),
    (StoreUnavailable("neo4j down"), grpc.StatusCode.UNAVAILABLE),
    (StageFailed("resolve failed"), grpc.StatusCode.INTERNAL),
    (KeyError("secret-key"), grpc.StatusCode.INTERNAL),
]


@pytest.mark.parametrize(("error", "code"), CASES)
def test_status_for_maps_the_tree(error, code):
    assert status_for(error) is code


@pytest.fixture
def raising_server():
    """A server whose unary and streaming methods raise whatever the request bytes name."""
    errors = {str(i).encode(): e for i, (e, _) in enumerate(CASES)}

    def unary(request: bytes, context):
        raise errors[request]

    def streaming(request: bytes, context):
        yield b"first"
        raise errors[request]

    handler = grpc.method_handlers_generic_handler("test.Raiser", {
        "Unary": grpc.unary_unary_rpc_method_handler(unary),
        "Stream": grpc.unary_stream_rpc_method_handler(streaming),
    })
    server = grpc.server(futures.ThreadPoolExecutor(2), interceptors=[ErrorInterceptor()], handlers=[handler])
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        yield channel
    server.stop(0)


@pytest.mark.parametrize("index", range(len(CASES)))
@pytest.mark.parametrize("method", ["Unary", "Stream"])
def test_interceptor_sets_status_message_and_trailers(raising_server, index, method):
    error, code = CASES[index]
    call = (raising_server.unary_unary if method == "Unary" else raising_server.unary_stream)(f"/test.Raiser/{method}")
    with pytest.raises(grpc.RpcError) as caught:
        result = call(str(index).encode(), timeout=5)
        if method == "Stream":
            list(result)
    rpc_error = caught.value
    assert rpc_error.code() is code
    trailers = dict(rpc_error.trailing_metadata() or ())
    if isinstance(error, SilentcertError) and code is not grpc.StatusCode.INTERNAL:
        assert str(error) in rpc_error.details()
        assert trailers[ERROR_TRAILER] == type(error).__name__
    else:
        assert rpc_error.details().startswith("internal error (ref ")
        assert str(error) not in rpc_error.details() and ERROR_TRAILER not in trailers
    if getattr(error, "field", None):
        assert trailers[FIELD_TRAILER] == error.field and rpc_error.details().startswith("birth_date")
