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
    answers_kept: int = ANSWERS_KEPT  # GetLiveness answers reused while their pensioner is unchanged; 0: none
    warm_answers: bool = False  # read every pensioner's answer into the cache once serving, and after a publish


def binding(config: LivenessConfig, store: GraphStore) -> ServiceBinding:
    servicer = LivenessServicer(store, config.period_months, answers_kept=config.answers_kept,
                                warm=config.warm_answers)
    return ServiceBinding(SERVICE_NAME, servicer, liveness_pb2_grpc.add_LivenessServiceServicer_to_server,
                          on_start=servicer.start_warming,
                          on_stop=servicer.stop_warming)


def create_server(config: LivenessConfig, store: GraphStore) -> tuple[SilentcertServer, int]:
    """The liveness server, not yet started, and its bound port."""
    return build_server(config, [binding(config, store)])
