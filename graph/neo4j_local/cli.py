"""`silentcert neo4j start | stop | status`: the local Neo4j server from the command line."""

from __future__ import annotations

import argparse

from graph.neo4j_local import home, server
from graph.neo4j_local.settings import USER, LocalNeo4jSettings


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the `neo4j` command with its start, stop and status actions."""
    parser = subparsers.add_parser("neo4j", help="a local Neo4j Community server for development and tests")
    parser.add_argument("action", choices=("start", "stop", "status"))
    parser.add_argument("--show-password", action="store_true", help="print the password itself, not only its file")
    parser.set_defaults(handler=run)
    return parser


def run(args: argparse.Namespace) -> int:
    """Carry out the action; `status` exits 3 when the server is not running (as init scripts do)."""
    settings = LocalNeo4jSettings.from_env()
    if args.action == "start":
        print_status(server.start(settings), settings, show_password=args.show_password)
        return 0
    if args.action == "stop":
        print("Neo4j stopped" if server.stop(settings) else "Neo4j was not running")
        return 0
    state = server.status(settings)
    print_status(state, settings, show_password=args.show_password)
    return 0 if state.running else 3


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
