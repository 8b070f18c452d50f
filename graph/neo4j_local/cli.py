"""`silentcert neo4j start | stop | status | import OUT_DIR`: the local Neo4j server from the command line.

Loading a round is the rounds' business (services.rounds.bulk_publish): the CLI's composition root passes it in as
`import_round`, so graph imports no service; without it (`python -m silentcert.graph.neo4j_local`) there is no `import`.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Protocol

from silentcert.graph.errors import InvalidInput
from silentcert.graph.neo4j_local import home, server
from silentcert.graph.neo4j_local.bulk_import import IMPORT_LOG
from silentcert.graph.neo4j_local.settings import USER, LocalNeo4jSettings
from silentcert.graph.store import NODE_LABELS, RELATIONSHIP_TYPES


class ImportedRound(Protocol):
    """What loading a round reports: its id, the counts of the graph, the seconds of each phase."""

    @property
    def round_id(self) -> str: ...

    @property
    def counts(self) -> Mapping[str, int]: ...

    @property
    def seconds(self) -> Mapping[str, float]: ...


# (settings, OUT_DIR, overwrite) -> what was loaded
ImportRound = Callable[[LocalNeo4jSettings, Path, bool], ImportedRound]


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
             import_round: ImportRound | None = None) -> argparse.ArgumentParser:
    """Add the `neo4j` command with its start, stop and status actions, and `import` when `import_round` is given."""
    parser = subparsers.add_parser("neo4j", help="a local Neo4j Community server for development and tests")
    actions = ("start", "stop", "status", *(("import",) if import_round is not None else ()))
    parser.add_argument("action", choices=actions,
                        help="import OUT_DIR: bulk-load a finished round into an empty database (stops and restarts "
                             "the server)")
    parser.add_argument("out_dir", nargs="?", type=Path, metavar="OUT_DIR", help="the round's output directory")
    parser.add_argument("--show-password", action="store_true", help="print the password itself, not only its file")
    parser.add_argument("--overwrite", action="store_true",
                        help="import: replace a database that already holds a graph")
    parser.set_defaults(handler=run, import_round=import_round)
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
    done = args.import_round(settings, args.out_dir, args.overwrite)
    nodes = sum(done.counts[label] for label in NODE_LABELS)
    relationships = sum(done.counts[kind] for kind in RELATIONSHIP_TYPES)
    total = sum(done.seconds.values())
    print(f"round {done.round_id}: {nodes:,} nodes and {relationships:,} relationships imported in {total:.0f} s "
          f"({', '.join(f'{phase} {s:.0f} s' for phase, s in done.seconds.items())})")
    print(f"  bolt uri : {settings.bolt_uri}")
    print(f"  tool log : {settings.logs_dir / IMPORT_LOG}")
    return 0


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
