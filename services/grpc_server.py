"""Building a gRPC server: servicers, the error interceptor, health and reflection, in one place.

Each service's ``server.py`` describes itself as a :class:`ServiceBinding`; :func:`build_server` puts one or
several bindings on one ``grpc.Server`` (``silentcert serve`` runs all three on one port by default).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent import futures
from dataclasses import dataclass
from typing import Any

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from silentcert.graph.errors import InvalidInput
from silentcert.services.grpc_errors import ErrorInterceptor

MAX_METADATA_BYTES = 16 * 1024  # headers: a bearer token and a few trailers, never more


@dataclass(frozen=True)
class ServerConfig:
    """Where and how a server listens. Port 0 picks a free port (tests)."""

    address: str = "127.0.0.1:0"
    max_workers: int = 16
    max_message_bytes: int = 4 * 1024 * 1024
    grace_seconds: float = 5.0
    # TLS (services.security.tls.server_credentials); None listens in plaintext — tests and --insecure-dev only,
    # `silentcert serve` refuses it otherwise.
    credentials: grpc.ServerCredentials | None = None
    # Run before the error interceptor, outermost first (services.security.auth.AccessInterceptor).
    interceptors: tuple[grpc.ServerInterceptor, ...] = ()
    # SO_REUSEPORT: several server processes share one port and the kernel spreads connections among them
    # (`silentcert serve --processes N`). Off by default, so a second server on a taken port fails loudly.
    reuse_port: bool = False
    # Calls in progress at once, streams included; beyond it grpc refuses new calls with RESOURCE_EXHAUSTED
    # instead of queueing them without end behind busy workers.
    max_concurrent_rpcs: int = 256
    # Open grpc.health.v1 Watch streams (no credential needed); each counts in max_concurrent_rpcs, so they are
    # bounded well below it.
    max_health_watches: int = 32


@dataclass(frozen=True)
class ServiceBinding:
    """One servicer and how to add it to a server."""

    service_name: str  # full protobuf name, e.g. "silentcert.liveness.v1.LivenessService"
    servicer: Any
    add_to_server: Callable[[Any, grpc.Server], None]
    on_start: Callable[[], object] | None = None  # once the server has started (e.g. background work)
    on_stop: Callable[[], object] | None = None  # when it is stopped, before running calls are let finish


class SilentcertServer:
    """A grpc.Server (same start/stop/wait_for_termination) that announces NOT_SERVING before it stops."""

    def __init__(self, server: grpc.Server, health_servicer: health.HealthServicer, grace_seconds: float,
                 bindings: Sequence[ServiceBinding] = ()):
        self.server = server
        self.health = health_servicer
        self.grace_seconds = grace_seconds
        self.bindings = tuple(bindings)

    def start(self) -> None:
        self.server.start()
        for binding in self.bindings:
            if binding.on_start:
                binding.on_start()

    def stop(self, grace: float | None = None) -> threading.Event:
        """Report NOT_SERVING, refuse new calls, let running calls finish within the grace period.

        Returns the event set when the server has stopped, as grpc.Server.stop does."""
        self.health.enter_graceful_shutdown()
        for binding in self.bindings:
            if binding.on_stop:
                binding.on_stop()
        return self.server.stop(self.grace_seconds if grace is None else grace)

    def wait_for_termination(self, timeout: float | None = None) -> bool:
        return self.server.wait_for_termination(timeout)


def build_server(config: ServerConfig, bindings: Sequence[ServiceBinding]) -> tuple[SilentcertServer, int]:
    """A server (not yet started) with the bindings, health (SERVING per service) and reflection.

    Returns the server and the bound port; raises InvalidInput when the address cannot be bound.
    """
    options = [
        ("grpc.max_receive_message_length", config.max_message_bytes),
        ("grpc.max_send_message_length", config.max_message_bytes),
        ("grpc.max_metadata_size", MAX_METADATA_BYTES),
        ("grpc.so_reuseport", int(config.reuse_port)),
    ]
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=config.max_workers),
        interceptors=[*config.interceptors, ErrorInterceptor()],
        options=options,
        maximum_concurrent_rpcs=config.max_concurrent_rpcs,
    )
    for binding in bindings:
        binding.add_to_server(binding.servicer, server)
    health_servicer = _add_health(server, [b.service_name for b in bindings], config.max_health_watches)
    names = [b.service_name for b in bindings]
    reflection.enable_server_reflection((*names, health.SERVICE_NAME, reflection.SERVICE_NAME), server)
    try:
        port = _add_port(server, config)
    except RuntimeError as error:
        raise InvalidInput(f"cannot listen on {config.address}: {error}", field="address") from error
    if port == 0:
        raise InvalidInput(f"cannot listen on {config.address}", field="address")
    return SilentcertServer(server, health_servicer, config.grace_seconds, bindings), port


def _add_port(server: grpc.Server, config: ServerConfig) -> int:
    if config.credentials is None:
        return server.add_insecure_port(config.address)
    return server.add_secure_port(config.address, config.credentials)


class BoundedHealth(health.HealthServicer):
    """grpc's health servicer (non-blocking Watch: no worker thread per watcher) with at most `max_watches`
    Watch streams open; one more is refused with RESOURCE_EXHAUSTED."""

    def __init__(self, max_watches: int):
        super().__init__()
        self._slots = threading.BoundedSemaphore(max_watches)
        self.max_watches = max_watches

    def Watch(self, request: Any, context: grpc.ServicerContext, send_response_callback: Any = None) -> Any:
        if not self._slots.acquire(blocking=False):
            context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED, f"{self.max_watches} health watches are open")
        released = threading.Event()

        def release() -> None:
            if not released.is_set():
                released.set()
                self._slots.release()

        if not context.add_callback(release):
            release()
        return super().Watch(request, context, send_response_callback)

    Watch.experimental_non_blocking = True  # type: ignore[attr-defined]  # what grpc looks for to pass the callback


def _add_health(server: grpc.Server, service_names: Sequence[str], max_watches: int) -> health.HealthServicer:
    servicer = BoundedHealth(max_watches)
    health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
    for name in ("", *service_names):
        servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
    return servicer
