"""`silentcert serve`: the three gRPC services in one process, one port by default.

    silentcert serve                                   all three on 127.0.0.1:50051, embedded store ./graph.duckdb
    silentcert serve --service liveness --address 0.0.0.0:50052
    silentcert serve --neo4j bolt://127.0.0.1:7687      (user/password from NEO4J_USER, NEO4J_PASSWORD)
    silentcert serve --model OUT/state/linkage_model.json   resolve with a round's trained model (registry from
                                                       OUT/state/round.duckdb, or --registry-db PATH)

    silentcert serve --rounds-root /srv/rounds          batch rounds (SubmitRound, FetchRoundFile) read and write
                                                       only below this directory (--rounds-out: outputs elsewhere)

TLS and callers' credentials are required (``--tls-cert/--tls-key`` and ``--tokens FILE`` or
``--tls-client-ca``); ``--insecure-dev`` serves plaintext without authentication and says so in the log.
See docs/security.md.

SIGTERM or SIGINT stops the server gracefully: health turns NOT_SERVING, new calls are refused, running calls
get `grace_seconds` to finish.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import signal
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from graph.store import GraphStore
from services.deathcheck import server as deathcheck_server
from services.deathcheck.audit import verify_store
from services.errors import Conflict, Forbidden, InvalidInput
from services.grpc_server import ServerConfig, ServiceBinding, SilentcertServer, build_server
from services.liveness import server as liveness_server
from services.resolver import server as resolver_server
from services.resolver.one_record import ResolveOne, exact_id_resolver
from services.resolver.servicer import RoundEvent, RoundOutcome, RunRound
from services.security.auth import ID_LOOKUP_RATE
from services.security.limits import StreamLimits, bounded_rounds
from services.security.rate_limit import RateLimit
from services.security.round_paths import RoundRoots
from services.security.settings import SecuritySettings, ServerSecurity, server_security
from services.security.tls import TlsFiles

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
    spark_master: str = "local[*]"  # where submitted rounds with `[linkage] engine = "spark"` run; not round.toml's
    max_concurrent_rpcs: int = ServerConfig.max_concurrent_rpcs
    max_rounds: int = 1  # SubmitRound calls running at once
    answers_kept: int = liveness_server.ANSWERS_KEPT  # GetLiveness answers reused while the store is unchanged


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
    config = liveness_server.LivenessConfig(address=settings.address, max_workers=settings.max_workers,
                                            grace_seconds=settings.grace_seconds,
                                            period_months=settings.period_months,
                                            answers_kept=settings.answers_kept)
    settings.security.streams.check(settings.max_workers)
    for store in stores:
        _require_intact_audit(store)
    roots = round_roots(settings)
    bindings = [_binding(name, config, stores, engines, roots, settings.spark_master, settings.max_rounds)
                for name in SERVICES if name in settings.services]
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


def _binding(name: str, config: liveness_server.LivenessConfig, stores: Sequence[GraphStore],
             engines: Engines, roots: RoundRoots, spark_master: str, max_rounds: int) -> ServiceBinding:
    store = stores[-1]
    if name == "liveness":
        return liveness_server.binding(config, store)
    if name == "deathcheck":
        return deathcheck_server.binding(store)
    run_round = bounded_rounds(engines.run_round or pipeline_runner(list(stores), roots, spark_master), max_rounds)
    return resolver_server.binding(store, engines.resolve_one or exact_id_resolver(store), run_round, roots)


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
        stop_event.wait()
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


def on_signals(handler: Callable[..., Any]) -> Callable[[], None]:
    """Install `handler` for SIGTERM and SIGINT (main thread only); returns a function restoring the old ones."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    old = {sig: signal.signal(sig, handler) for sig in (signal.SIGTERM, signal.SIGINT)}

    def restore() -> None:
        for sig, previous in old.items():
            signal.signal(sig, previous)

    return restore


def pipeline_runner(stores: list[GraphStore], roots: RoundRoots | None = None,
                    spark_master: str = ServeSettings.spark_master) -> RunRound:
    """A RunRound over the round pipeline, publishing into the served stores.

    round.toml is parsed once, here, and the run uses that parse. With `roots`, every file it names and every path
    setting ([linkage] model_path, ...) must resolve inside them, checked before any input is opened. A submitted
    round cannot choose where its registry is shipped: `[linkage] spark_master` is refused, the server's is used."""

    def run(round_file: Path, out_dir: Path, emit: Callable[[RoundEvent], None]) -> RoundOutcome:
        from services.rounds.pipeline import run_round
        from services.rounds.progress import CallbackProgress
        from services.rounds.roundfile import load_round
        from services.settings import RoundSettings

        spec = load_round(round_file, roots=roots.readable if roots is not None else None)
        if "spark_master" in spec.settings.get("linkage", {}):
            raise Forbidden("round_file: [linkage] spark_master is set by the server (`silentcert serve "
                            "--spark-master`), not by a submitted round file", field="round_file")
        settings = RoundSettings.of_round(spec)
        if roots is not None:
            roots.setting_paths(settings, RoundSettings())
        settings = dataclasses.replace(settings, linkage=dataclasses.replace(settings.linkage,
                                                                             spark_master=spark_master))
        progress = CallbackProgress(lambda event, stage, done, total, stats: emit(_event(event, stage, done, total,
                                                                                         stats)))
        summary = run_round(spec, out_dir, settings, stores, progress=progress)
        return RoundOutcome(summary.round_id, summary.out_dir, _counts(summary.stages), _figures(summary.stages))

    return run


def _event(event: str, stage: str, done: int, total: int | None, stats: dict[str, Any]) -> RoundEvent:
    figures = ", ".join(f"{k} {v}" for k, v in stats.items() if isinstance(v, (int, float, str)))
    return RoundEvent(stage, done, total or 0, f"{stage} {event}" + (f": {figures}" if figures else ""))


def _counts(stages: dict[str, dict[str, Any]]) -> dict[str, int]:
    return {f"{stage}.{key}": value for stage, stats in stages.items() for key, value in stats.items()
            if isinstance(value, int) and not isinstance(value, bool)}


def _figures(stages: dict[str, dict[str, Any]]) -> dict[str, float]:
    return {f"{stage}.{key}": value for stage, stats in stages.items() for key, value in stats.items()
            if isinstance(value, float)}


def register(sub: argparse._SubParsersAction) -> None:
    """Add `serve [--service NAME]... [--address HOST:PORT] [--store PATH | --neo4j URI]`."""
    parser = sub.add_parser("serve", help="start the gRPC services (resolver, liveness, deathcheck)")
    parser.add_argument("--service", action="append", choices=SERVICES, default=None,
                        help="serve only this service (repeatable); default all three on one port")
    parser.add_argument("--address", default=DEFAULT_ADDRESS, help=f"HOST:PORT to listen on (default {DEFAULT_ADDRESS})")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--store", type=Path, default=DEFAULT_STORE, help="embedded graph store file")
    where.add_argument("--neo4j", default=None, metavar="BOLT_URI",
                       help="answer from this Neo4j (or env NEO4J_URI; NEO4J_USER, NEO4J_PASSWORD)")
    parser.add_argument("--audit-key", type=Path, default=None, metavar="FILE",
                        help="the audit chain's key file, created 0600 when absent (default: beside the --store "
                             "file; for --neo4j env SILENTCERT_AUDIT_KEY_FILE or ./silentcert-audit.key)")
    parser.add_argument("--grace", type=float, default=5.0, help="seconds running calls get on shutdown")
    parser.add_argument("--workers", type=int, default=ServeSettings.max_workers,
                        help=f"threads answering calls, per process (default {ServeSettings.max_workers})")
    parser.add_argument("--max-concurrent-rpcs", type=int, default=ServeSettings.max_concurrent_rpcs,
                        help="calls in progress at once per process; more are refused with RESOURCE_EXHAUSTED "
                             f"(default {ServeSettings.max_concurrent_rpcs})")
    parser.add_argument("--answers-kept", type=int, default=ServeSettings.answers_kept,
                        help="GetLiveness answers kept per process and reused until a write changes the store "
                             f"(docs/scaling.md); 0 keeps none (default {ServeSettings.answers_kept})")
    parser.add_argument("--max-rounds", type=int, default=ServeSettings.max_rounds,
                        help=f"SubmitRound calls running at once (default {ServeSettings.max_rounds})")
    parser.add_argument("--processes", type=int, default=1,
                        help="server processes sharing the port (SO_REUSEPORT; needs a fixed port): each has its "
                             "own interpreter, store connection and rate-limit buckets (default 1)")
    parser.add_argument("--model", type=Path, default=None, metavar="MODEL_JSON",
                        help="resolve records with this trained linkage model (a round's state/linkage_model.json); "
                             "without it ResolveRecord links by exact ID number only")
    parser.add_argument("--registry-db", type=Path, default=None, metavar="ROUND_DB",
                        help="round database holding the registry the model resolves against "
                             "(default: round.duckdb beside the model)")
    parser.add_argument("--rounds-root", type=Path, action="append", default=None, metavar="DIR",
                        help="SubmitRound may read round files and their inputs only below DIR (repeatable); "
                             "without it batch rounds are refused (under --insecure-dev: the current directory)")
    parser.add_argument("--rounds-out", type=Path, default=None, metavar="DIR",
                        help="round outputs may be written and fetched only below DIR (default: the first "
                             "--rounds-root)")
    parser.add_argument("--spark-master", default=ServeSettings.spark_master, metavar="URL",
                        help="Spark master for submitted rounds whose [linkage] engine is spark (round files may not "
                             f"name one; default {ServeSettings.spark_master})")
    _add_security_flags(parser)
    parser.set_defaults(handler=serve_command)


def _rounds_settings(args: argparse.Namespace) -> RoundRoots | None:
    if args.rounds_out and not args.rounds_root:
        raise InvalidInput("--rounds-out needs --rounds-root (where round files are read from)", field="rounds-out")
    if not args.rounds_root:
        return None
    for root in [*args.rounds_root, *([args.rounds_out] if args.rounds_out else [])]:
        if not root.is_dir():
            raise InvalidInput(f"rounds root {root} is not a directory", field="rounds-root")
    return RoundRoots.of(*args.rounds_root, output=args.rounds_out)


def _add_security_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--tls-cert", type=Path, help="server certificate chain (PEM)")
    parser.add_argument("--tls-key", type=Path, help="server private key (PEM)")
    parser.add_argument("--tls-client-ca", type=Path, help="CA of client certificates: require mutual TLS")
    parser.add_argument("--client-roles", type=Path,
                        help="with --tls-client-ca: which client certificate (SHA-256 fingerprint or subject) has "
                             "which role (JSON; `security dev-ca --client` writes one)")
    parser.add_argument("--tokens", type=Path, help="token file (silentcert security issue-token)")
    parser.add_argument("--access-log", type=Path, default=Path("access-log.jsonl"),
                        help="append-only JSON lines of person reads (default ./access-log.jsonl)")
    parser.add_argument("--rate", type=float, default=RateLimit.rate, help="calls a second per caller")
    parser.add_argument("--burst", type=float, default=RateLimit.burst, help="burst of calls per caller")
    parser.add_argument("--id-lookup-rate", type=float, default=ID_LOOKUP_RATE.rate,
                        help="lookups by full ID number a second per caller, found or not (default "
                             f"{ID_LOOKUP_RATE.rate:g})")
    parser.add_argument("--id-lookup-burst", type=float, default=ID_LOOKUP_RATE.burst,
                        help=f"burst of lookups by ID number per caller (default {ID_LOOKUP_RATE.burst:g})")
    limits = StreamLimits()
    parser.add_argument("--max-streams", type=int, default=limits.max_streams,
                        help=f"streaming calls open at once per process, below --workers (default {limits.max_streams})")
    parser.add_argument("--max-streams-per-caller", type=int, default=limits.max_streams_per_caller,
                        help=f"streaming calls one caller may have open (default {limits.max_streams_per_caller})")
    parser.add_argument("--max-stream-lookups", type=int, default=limits.max_lookups,
                        help=f"lookups in one StreamLiveness stream (default {limits.max_lookups})")
    parser.add_argument("--max-stream-seconds", type=float, default=limits.max_seconds,
                        help=f"lifetime of one request stream (default {limits.max_seconds:g})")
    parser.add_argument("--insecure-dev", action="store_true",
                        help="development only: allow plaintext and no authentication (logs a warning)")


def _security_settings(args: argparse.Namespace) -> SecuritySettings:
    if bool(args.tls_cert) != bool(args.tls_key):
        raise InvalidInput("--tls-cert and --tls-key go together", field="tls-cert")
    if args.tls_client_ca and not args.tls_cert:
        raise InvalidInput("--tls-client-ca needs --tls-cert and --tls-key", field="tls-client-ca")
    tls = TlsFiles(args.tls_cert, args.tls_key, args.tls_client_ca) if args.tls_cert else None
    streams = StreamLimits(args.max_streams, args.max_streams_per_caller, args.max_stream_lookups,
                           args.max_stream_seconds)
    if args.client_roles and not args.tls_client_ca:
        raise InvalidInput("--client-roles needs --tls-client-ca", field="client-roles")
    return SecuritySettings(tls=tls, tokens=args.tokens, access_log=args.access_log,
                            client_roles=args.client_roles, rate=RateLimit(args.rate, args.burst), insecure_dev=args.insecure_dev, streams=streams,
                            id_lookups=RateLimit(args.id_lookup_rate, args.id_lookup_burst))


def serve_command(args: argparse.Namespace) -> int:
    from graph.connect import StoreSettings, open_store

    settings = ServeSettings(address=args.address, services=tuple(args.service or SERVICES),
                             store_path=args.store, neo4j_uri=args.neo4j, grace_seconds=args.grace,
                             security=_security_settings(args), model_path=args.model,
                             registry_db=args.registry_db, max_workers=_positive(args.workers, "workers"),
                             processes=_positive(args.processes, "processes"), rounds=_rounds_settings(args),
                             spark_master=args.spark_master,
                             max_concurrent_rpcs=_positive(args.max_concurrent_rpcs, "max-concurrent-rpcs"),
                             max_rounds=_positive(args.max_rounds, "max-rounds"),
                             answers_kept=_at_least_zero(args.answers_kept, "answers-kept"))
    store_settings = StoreSettings.from_env(embedded_path=settings.store_path, neo4j_uri=settings.neo4j_uri,
                                            audit_key_file=args.audit_key)
    if settings.processes > 1:
        from services.server_processes import serve_processes
        return serve_processes(settings, store_settings)
    engines = model_engines(settings)
    with open_store(store_settings) as store:
        serve(settings, [store], engines)
    return 0


def _positive(value: int, name: str) -> int:
    if value < 1:
        raise InvalidInput(f"--{name} must be at least 1, got {value}", field=name)
    return value


def _at_least_zero(value: int, name: str) -> int:
    if value < 0:
        raise InvalidInput(f"--{name} must be 0 or more, got {value}", field=name)
    return value


def model_engines(settings: ServeSettings) -> Engines:
    """Engines with the model resolver when a model is configured; the exact-ID fallback otherwise."""
    if settings.model_path is None:
        if settings.registry_db is not None:
            raise InvalidInput("--registry-db needs --model", field="registry-db")
        return Engines()
    from services.resolver.realtime import model_resolver, open_resolver
    from services.resolver.settings import LinkageSettings

    registry_db = settings.registry_db or settings.model_path.parent / "round.duckdb"
    resolver = open_resolver(settings.model_path, registry_db, LinkageSettings())
    log.info("resolver model %s over %d registry persons from %s", settings.model_path, resolver.registry_size,
             registry_db)
    return Engines(resolve_one=model_resolver(resolver))
