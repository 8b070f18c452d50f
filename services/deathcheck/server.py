"""The DeathCheckService server: ``create_server(config, store)``."""

from __future__ import annotations

from dataclasses import dataclass

from silentcert.deathcheck.v1 import deathcheck_pb2, deathcheck_pb2_grpc
from silentcert.graph.store import GraphStore
from silentcert.services.deathcheck.servicer import DeathCheckServicer
from silentcert.services.grpc_server import ServerConfig, ServiceBinding, SilentcertServer, build_server

SERVICE_NAME = deathcheck_pb2.DESCRIPTOR.services_by_name["DeathCheckService"].full_name


@dataclass(frozen=True)
class DeathCheckConfig(ServerConfig):
    """Where the death-check service listens (see ServerConfig)."""


def binding(config: DeathCheckConfig, store: GraphStore) -> ServiceBinding:
    servicer = DeathCheckServicer(store)
    return ServiceBinding(SERVICE_NAME, servicer, deathcheck_pb2_grpc.add_DeathCheckServiceServicer_to_server)


def create_server(config: DeathCheckConfig, store: GraphStore) -> tuple[SilentcertServer, int]:
    """The death-check server, not yet started, and its bound port."""
    return build_server(config, [binding(config, store)])
