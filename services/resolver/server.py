"""The ResolverService server: ``create_server(config, store, resolve_one=..., run_round=...)``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from silentcert.graph.errors import NotFound
from silentcert.graph.store import GraphStore
from silentcert.resolver.v1 import resolver_pb2, resolver_pb2_grpc
from silentcert.services.grpc_server import ServerConfig, ServiceBinding, SilentcertServer, build_server
from silentcert.services.resolver.batch import OutputFile, RunRound
from silentcert.services.resolver.one_record import ResolveOne
from silentcert.services.resolver.servicer import ResolverServicer
from silentcert.services.security.round_paths import RoundRoots

SERVICE_NAME = resolver_pb2.DESCRIPTOR.services_by_name["ResolverService"].full_name


@dataclass(frozen=True)
class ResolverConfig(ServerConfig):
    """Where the resolver listens (see ServerConfig)."""


def no_output_files(out_dir: Path, name: str) -> Path:
    """The `output_file` of a server that runs no round pipeline: FetchRoundFile finds nothing."""
    raise NotFound(f"this server fetches no round files ({name} of {out_dir})")


def binding(config: ResolverConfig, store: GraphStore, resolve_one: ResolveOne, run_round: RunRound,
            output_file: OutputFile, roots: RoundRoots = RoundRoots()) -> ServiceBinding:
    """The resolver servicer; `roots` are where SubmitRound and FetchRoundFile may read and write (none: refused)."""
    servicer = ResolverServicer(store, resolve_one, run_round, output_file, roots)
    return ServiceBinding(SERVICE_NAME, servicer, resolver_pb2_grpc.add_ResolverServiceServicer_to_server)


def create_server(config: ResolverConfig, store: GraphStore, *, resolve_one: ResolveOne, run_round: RunRound,
                  output_file: OutputFile = no_output_files,
                  roots: RoundRoots = RoundRoots()) -> tuple[SilentcertServer, int]:
    """The resolver server, not yet started, and its bound port; without `output_file` it fetches no round file."""
    return build_server(config, [binding(config, store, resolve_one, run_round, output_file, roots)])
