"""The ResolverService server: ``create_server(config, store, resolve_one=..., run_round=...)``."""

from __future__ import annotations

from dataclasses import dataclass

from graph.store import GraphStore
from services.grpc_server import ServerConfig, ServiceBinding, SilentcertServer, build_server
from services.resolver.one_record import ResolveOne
from services.resolver.servicer import ResolverServicer, RunRound
from services.security.round_paths import RoundRoots
from silentcert.resolver.v1 import resolver_pb2, resolver_pb2_grpc

SERVICE_NAME = resolver_pb2.DESCRIPTOR.services_by_name["ResolverService"].full_name


@dataclass(frozen=True)
class ResolverConfig(ServerConfig):
    """Where the resolver listens (see ServerConfig)."""


def binding(store: GraphStore, resolve_one: ResolveOne, run_round: RunRound,
            roots: RoundRoots = RoundRoots()) -> ServiceBinding:
    """The resolver servicer; `roots` are where SubmitRound and FetchRoundFile may read and write (none: refused)."""
    servicer = ResolverServicer(store, resolve_one, run_round, roots)
    return ServiceBinding(SERVICE_NAME, servicer, resolver_pb2_grpc.add_ResolverServiceServicer_to_server)


def create_server(config: ResolverConfig, store: GraphStore, *, resolve_one: ResolveOne,
                  run_round: RunRound, roots: RoundRoots = RoundRoots()) -> tuple[SilentcertServer, int]:
    """The resolver server, not yet started, and its bound port."""
    return build_server(config, [binding(store, resolve_one, run_round, roots)])
