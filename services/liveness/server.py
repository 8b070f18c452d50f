"""The LivenessService server: ``create_server(config, store)``."""

from __future__ import annotations

from dataclasses import dataclass

from silentcert.graph.store import GraphStore
from silentcert.liveness.v1 import liveness_pb2, liveness_pb2_grpc
from silentcert.services.grpc_server import ServerConfig, ServiceBinding, SilentcertServer, build_server
from silentcert.services.liveness.servicer import ANSWERS_KEPT, LivenessServicer

SERVICE_NAME = liveness_pb2.DESCRIPTOR.services_by_name["LivenessService"].full_name


@dataclass(frozen=True)
class LivenessConfig(ServerConfig):
    """Where the liveness service listens, and the period a passed face / in-person check grants."""

    period_months: int = 12
    answers_kept: int = ANSWERS_KEPT  # GetLiveness answers reused until the store's generation moves; 0: none


def binding(config: LivenessConfig, store: GraphStore) -> ServiceBinding:
    servicer = LivenessServicer(store, config.period_months, answers_kept=config.answers_kept)
    return ServiceBinding(SERVICE_NAME, servicer, liveness_pb2_grpc.add_LivenessServiceServicer_to_server)


def create_server(config: LivenessConfig, store: GraphStore) -> tuple[SilentcertServer, int]:
    """The liveness server, not yet started, and its bound port."""
    return build_server(config, [binding(config, store)])
