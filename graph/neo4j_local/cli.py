"""`silentcert neo4j start | stop | status | import OUT_DIR`: the local Neo4j server from the command line."""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

from graph.errors import InvalidInput
from graph.neo4j_local import home, server
from graph.neo4j_local.bulk_import import IMPORT_LOG
from graph.neo4j_local.settings import USER, LocalNeo4jSettings
from graph.store import NODE_LABELS, RELATIONSHIP_TYPES


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the `neo4j` command with its start, stop and status actions."""
    parser = subparsers.add_parser("neo4j", help="a local Neo4j Community server for development and tests")
    parser.add_argument("action", choices=("start", "stop", "status", "import"),
                        help="import OUT_DIR: bulk-load a finished round into an empty database (stops and restarts "
                             "the server)")
    parser.add_argument("out_dir", nargs="?", type=Path, metavar="OUT_DIR", help="the round's output directory")
    parser.add_argument("--show-password", action="store_true", help="print the password itself, not only its file")
    parser.add_argument("--overwrite", action="store_true",
                        help="import: replace a database that already holds a graph")
    parser.set_defaults(handler=run)
    return parser


def run(args: argparse.Namespace) -> int:
    """Carry out the action; `status` exits 3 when the server is not running (as init scripts do)."""
    settings = LocalNeo4jSettings.from_env()
    if args.action == "start":
        print_status(server.start(settings), settings, show_password=args.show_password)
        return 0
    if args.action == "import":
        return import_round_dir(settings, args)
    if args.action == "stop":
        print("Neo4j stopped" if server.stop(settings) else "Neo4j was not running")
        return 0
    state = server.status(settings)
    print_status(state, settings, show_password=args.show_password)
    return 0 if state.running else 3


def import_round_dir(settings: LocalNeo4jSettings, args: argparse.Namespace) -> int:
    """Bulk-load OUT_DIR's round; later rounds are published incrementally by `round run --neo4j` (or, into the
    read-only investigators' copy, imported again with --overwrite)."""
    if args.out_dir is None:
        raise InvalidInput("neo4j import needs the round's output directory: silentcert neo4j import OUT_DIR",
                           field="out_dir")
    done = import_round(settings, args.out_dir, overwrite=args.overwrite)
    nodes = sum(done.counts[label] for label in NODE_LABELS)
    relationships = sum(done.counts[kind] for kind in RELATIONSHIP_TYPES)
    total = sum(done.seconds.values())
    print(f"round {done.round_id}: {nodes:,} nodes and {relationships:,} relationships imported in {total:.0f} s "
          f"({', '.join(f'{phase} {s:.0f} s' for phase, s in done.seconds.items())})")
    print(f"  bolt uri : {settings.bolt_uri}")
    print(f"  tool log : {settings.logs_dir / IMPORT_LOG}")
    return 0


def import_round(settings: LocalNeo4jSettings, out_dir: Path, *, overwrite: bool):
    """Bulk-load the round; a read-only home (the investigators' copy) is loaded writable, because the load
    builds its indexes after the import, and restarted read-only."""
    from graph.audit_key import load_audit_key
    from graph.connect import StoreSettings
    from services.rounds.bulk_publish import bulk_publish_round_dir

    key = load_audit_key(StoreSettings.from_env(neo4j_uri=settings.bolt_uri).audit_key_path)  # as `serve` will
    writable = dataclasses.replace(settings, read_only=False)
    done = bulk_publish_round_dir(writable, out_dir, overwrite=overwrite, audit_key=key)
    if settings.read_only:
        server.stop(writable)
        server.start(settings)  # rewrites neo4j.conf: server.databases.default_to_read_only=true
    return done


def print_status(state: server.ServerStatus, settings: LocalNeo4jSettings, *, show_password: bool) -> None:
    if not state.running:
        print(f"Neo4j is not running (home {state.home})")
        return
    print(f"Neo4j {settings.version} running, pid {state.pid}, {state.rss_mib} MiB resident")
    print(f"  bolt uri : {state.bolt_uri}")
    print(f"  user     : {USER}")
    print(f"  password : {home.read_password(settings) if show_password else 'in ' + str(state.password_file)}")
    print(f"  browser  : {state.browser_url}")
    print(f"  home     : {state.home} (logs in {settings.logs_dir})")
    print(f"  connect  : export NEO4J_URI={state.bolt_uri} NEO4J_USER={USER} "
          f"NEO4J_PASSWORD=\"$(cat {state.password_file})\"")
