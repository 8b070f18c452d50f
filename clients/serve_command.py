"""`silentcert serve`: the command line of the gRPC services; services/serving.py wires them.

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
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from silentcert.graph.connect import StoreSettings, open_store
from silentcert.graph.errors import InvalidInput
from silentcert.services import serving
from silentcert.services.security.auth import ID_LOOKUP_RATE
from silentcert.services.security.limits import StreamLimits
from silentcert.services.security.rate_limit import RateLimit
from silentcert.services.security.round_paths import RoundRoots
from silentcert.services.security.settings import SecuritySettings
from silentcert.services.security.tls import TlsFiles
from silentcert.services.server_processes import serve_processes


def register(sub: argparse._SubParsersAction[Any]) -> None:
    """Add `serve [--service NAME]... [--address HOST:PORT] [--store PATH | --neo4j URI]`."""
    parser = sub.add_parser("serve", help="start the gRPC services (resolver, liveness, deathcheck)")
    parser.add_argument("--service", action="append", choices=serving.SERVICES, default=None,
                        help="serve only this service (repeatable); default all three on one port")
    parser.add_argument("--address", default=serving.DEFAULT_ADDRESS,
                        help=f"HOST:PORT to listen on (default {serving.DEFAULT_ADDRESS})")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--store", type=Path, default=serving.DEFAULT_STORE, help="embedded graph store file")
    where.add_argument("--neo4j", default=None, metavar="BOLT_URI",
                       help="answer from this Neo4j (or env NEO4J_URI; NEO4J_USER, NEO4J_PASSWORD)")
    parser.add_argument("--audit-key", type=Path, default=None, metavar="FILE",
                        help="the audit chain's key file, created 0600 when absent (default: beside the --store "
                             "file; for --neo4j env SILENTCERT_AUDIT_KEY_FILE or ./silentcert-audit.key)")
    parser.add_argument("--grace", type=float, default=5.0, help="seconds running calls get on shutdown")
    parser.add_argument("--workers", type=int, default=serving.ServeSettings.max_workers,
                        help=f"threads answering calls, per process (default {serving.ServeSettings.max_workers})")
    parser.add_argument("--max-concurrent-rpcs", type=int, default=serving.ServeSettings.max_concurrent_rpcs,
                        help="calls in progress at once per process; more are refused with RESOURCE_EXHAUSTED "
                             f"(default {serving.ServeSettings.max_concurrent_rpcs})")
    parser.add_argument("--answers-kept", type=int, default=serving.ServeSettings.answers_kept,
                        help="GetLiveness answers kept per process and reused until a write changes the store "
                             f"(docs/scaling.md); 0 keeps none (default {serving.ServeSettings.answers_kept})")
    parser.add_argument("--no-warm-answers", dest="warm_answers", action="store_false",
                        help="do not read every pensioner's GetLiveness answer into that cache in the background "
                             "when serving starts and after a round is published (embedded store only; up to "
                             "--answers-kept answers, two a pensioner)")
    parser.add_argument("--max-rounds", type=int, default=serving.ServeSettings.max_rounds,
                        help=f"SubmitRound calls running at once (default {serving.ServeSettings.max_rounds})")
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
    parser.add_argument("--spark-master", default=serving.ServeSettings.spark_master, metavar="URL",
                        help="Spark master for submitted rounds whose [linkage] engine is spark (round files may not "
                             f"name one; default {serving.ServeSettings.spark_master})")
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
    settings = serving.ServeSettings(address=args.address, services=tuple(args.service or serving.SERVICES),
                             store_path=args.store, neo4j_uri=args.neo4j, grace_seconds=args.grace,
                             security=_security_settings(args), model_path=args.model,
                             registry_db=args.registry_db, max_workers=_positive(args.workers, "workers"),
                             processes=_positive(args.processes, "processes"), rounds=_rounds_settings(args),
                             spark_master=args.spark_master,
                             max_concurrent_rpcs=_positive(args.max_concurrent_rpcs, "max-concurrent-rpcs"),
                             max_rounds=_positive(args.max_rounds, "max-rounds"),
                             answers_kept=_at_least_zero(args.answers_kept, "answers-kept"),
                             warm_answers=args.warm_answers)
    store_settings = StoreSettings.from_env(embedded_path=settings.store_path, neo4j_uri=settings.neo4j_uri,
                                            audit_key_file=args.audit_key)
    if settings.processes > 1:
        return serve_processes(settings, store_settings)
    engines = serving.model_engines(settings)
    with open_store(store_settings) as store:
        serving.serve(settings, [store], engines)
    return 0


def _at_least_zero(value: int, name: str) -> int:
    if value < 0:
        raise InvalidInput(f"--{name} must be 0 or more, got {value}", field=name)
    return value


def _positive(value: int, name: str) -> int:
    if value < 1:
        raise InvalidInput(f"--{name} must be at least 1, got {value}", field=name)
    return value
