"""The composition root of the gRPC services: stores, engines and settings in, a started server out.

`start` wires each chosen service with its own config over one server; `serve` runs it until SIGTERM or SIGINT
(or a stop event): health turns NOT_SERVING, new calls are refused, running calls get `grace_seconds` to finish.
The command line that fills `ServeSettings` is clients/serve_command.py; several processes on one port,
services/server_processes.py; the batch round the resolver runs, services/rounds/runner.py.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from silentcert.graph.errors import Conflict, InvalidInput
from silentcert.graph.store import GraphStore
from silentcert.services.deathcheck import server as deathcheck_server
from silentcert.services.deathcheck.audit import verify_store
from silentcert.services.grpc_server import ServerConfig, ServiceBinding, SilentcertServer, build_server
from silentcert.services.liveness import server as liveness_server
from silentcert.services.resolver import server as resolver_server
from silentcert.services.resolver.batch import RunRound
from silentcert.services.resolver.one_record import ResolveOne, exact_id_resolver
from silentcert.services.resolver.realtime import model_resolver, open_resolver
from silentcert.services.resolver.settings import LinkageSettings
from silentcert.services.rounds import outputs
from silentcert.services.rounds.runner import DEFAULT_SPARK_MASTER, pipeline_runner
from silentcert.services.security.limits import bounded_rounds
from silentcert.services.security.round_paths import RoundRoots
from silentcert.services.security.settings import SecuritySettings, ServerSecurity, server_security
from silentcert.services.signals import on_signals, wait_until_set

log = logging.getLogger(__name__)

SERVICES = ("resolver", "liveness", "deathcheck")
DEFAULT_ADDRESS = "127.0.0.1:50051"
DEFAULT_STORE = Path("graph.duckdb")


@dataclass(frozen=True)
class ServeSettings:
    """What `silentcert serve` needs, read once from the command line and the environment."""

    address: str = DEFAULT_ADDRESS
    services: tuple[str, ...] = SERVICES
    store_path: Path = DEFAULT_STORE
    neo4j_uri: str | None = None
    grace_seconds: float = 5.0
    max_workers: int = 16
    period_months: int = 12
    security: SecuritySettings = field(default_factory=SecuritySettings)
    model_path: Path | None = None
    registry_db: Path | None = None
    processes: int = 1  # >1: that many server processes on one port (services.server_processes)
    reuse_port: bool = False
    rounds: RoundRoots | None = None  # None: the current directory under --insecure-dev, else batch rpcs refused
    # where submitted rounds with `[linkage] engine = "spark"` run; not round.toml's
    spark_master: str = DEFAULT_SPARK_MASTER
    max_concurrent_rpcs: int = ServerConfig.max_concurrent_rpcs
    max_rounds: int = 1  # SubmitRound calls running at once
    answers_kept: int = liveness_server.ANSWERS_KEPT  # GetLiveness answers reused while their pensioner is unchanged
    warm_answers: bool = True  # read the answers into that cache in the background (LivenessServicer.warm_answers)


@dataclass(frozen=True)
class Engines:
    """The resolver's engines; None means the defaults built over the store."""

    resolve_one: ResolveOne | None = None
    run_round: RunRound | None = None


@dataclass
class Running:
    server: SilentcertServer
    port: int
    services: tuple[str, ...] = field(default_factory=tuple)
    security: ServerSecurity | None = None


def start(settings: ServeSettings, stores: Sequence[GraphStore], engines: Engines = Engines()) -> Running:
    """Start one server with the chosen services, answering from the last store (Neo4j when configured)."""
    unknown = sorted(set(settings.services) - set(SERVICES))
    if unknown or not settings.services:
        raise InvalidInput(f"unknown service {unknown}; choose from {', '.join(SERVICES)}", field="service")
    settings.security.streams.check(settings.max_workers)
    for store in stores:
        _require_intact_audit(store)
    roots = round_roots(settings)
    bindings = [_binding(name, settings, stores, engines, roots) for name in SERVICES if name in settings.services]
    security = server_security(settings.security)
    try:
        server, port = build_server(ServerConfig(settings.address, settings.max_workers,
                                                 grace_seconds=settings.grace_seconds,
                                                 credentials=security.credentials,
                                                 interceptors=(security.interceptor,),
                                                 reuse_port=settings.reuse_port,
                                                 max_concurrent_rpcs=settings.max_concurrent_rpcs), bindings)
    except BaseException:
        security.close()
        raise
    server.start()
    log.info("serving %s on port %d (%s)", ", ".join(b.service_name for b in bindings), port,
             "TLS" if security.credentials else "plaintext")
    return Running(server, port, tuple(b.service_name for b in bindings), security)


def _require_intact_audit(store: GraphStore) -> None:
    """Refuse to serve a store whose audit chain does not verify under its key: a forged or broken chain is
    investigated (`silentcert audit verify`) before anyone decides on top of it."""
    count, broken = verify_store(store)
    if broken is not None:
        log.critical("audit chain broken at entry %d: %s", broken.seq, broken.reason)
        raise Conflict(f"refusing to serve: the audit chain is broken at entry {broken.seq} of {count} "
                       f"({broken.reason}); see `silentcert audit verify`")
    log.info("audit chain verified: %d entries", count)


def round_roots(settings: ServeSettings) -> RoundRoots:
    """The configured rounds roots; unconfigured, the current directory under --insecure-dev and none otherwise."""
    if settings.rounds is not None:
        return settings.rounds
    if settings.security.insecure_dev:
        roots = RoundRoots.of(Path.cwd())
        log.warning("--insecure-dev without --rounds-root: batch rounds may read and write below %s", roots.output)
        return roots
    if "resolver" in settings.services:
        log.warning("no --rounds-root: SubmitRound and FetchRoundFile are refused")
    return RoundRoots()


def _binding(name: str, settings: ServeSettings, stores: Sequence[GraphStore], engines: Engines,
             roots: RoundRoots) -> ServiceBinding:
    """One service over the last store, with its own config (where the server listens, and what the service needs)."""
    store = stores[-1]
    address, workers, grace = settings.address, settings.max_workers, settings.grace_seconds
    if name == "liveness":
        config = liveness_server.LivenessConfig(address, workers, grace_seconds=grace,
                                                period_months=settings.period_months,
                                                answers_kept=settings.answers_kept,
                                                warm_answers=settings.warm_answers)
        return liveness_server.binding(config, store)
    if name == "deathcheck":
        return deathcheck_server.binding(deathcheck_server.DeathCheckConfig(address, workers, grace_seconds=grace),
                                         store)
    run_round = bounded_rounds(engines.run_round or pipeline_runner(list(stores), roots, settings.spark_master),
                               settings.max_rounds)
    return resolver_server.binding(resolver_server.ResolverConfig(address, workers, grace_seconds=grace), store,
                                   engines.resolve_one or exact_id_resolver(store), run_round, outputs.output_file,
                                   roots)


def serve(settings: ServeSettings, stores: Sequence[GraphStore], engines: Engines = Engines(),
          stop_event: threading.Event | None = None, announce: Callable[[Running], None] | None = None) -> None:
    """Serve until SIGTERM / SIGINT (or `stop_event`), then stop gracefully. `announce` is told once the server
    is up (default: print the "silentcert serving ... on port N" line)."""
    stop_event = stop_event or threading.Event()
    running = start(settings, stores, engines)
    restore = on_signals(lambda *_: stop_event.set())
    try:
        if announce:
            announce(running)
        else:
            announce_serving(running.services, running.port)
        wait_until_set(stop_event)
        log.info("stopping (grace %.1fs)", settings.grace_seconds)
        running.server.stop().wait()
    finally:
        restore()
        if running.security:
            running.security.close()


def announce_serving(services: Sequence[str], port: int, processes: int = 1) -> None:
    """The line scripts wait for: "silentcert serving NAMES on port N"."""
    several = f" ({processes} processes)" if processes > 1 else ""
    print(f"silentcert serving {', '.join(services)} on port {port}{several}", flush=True)


def model_engines(settings: ServeSettings) -> Engines:
    """Engines with the model resolver when a model is configured; the exact-ID fallback otherwise."""
    if settings.model_path is None:
        if settings.registry_db is not None:
            raise InvalidInput("--registry-db needs --model", field="registry-db")
        return Engines()
    registry_db = settings.registry_db or settings.model_path.parent / "round.duckdb"
    resolver = open_resolver(settings.model_path, registry_db, LinkageSettings())
    log.info("resolver model %s over %d registry persons from %s", settings.model_path, resolver.registry_size,
             registry_db)
    return Engines(resolve_one=model_resolver(resolver))
