"""The `silentcert` command line (docs/contract.md section 1).

The composition root of the command line: each subcommand lives with the code it drives and this module, the
only one importing them all, registers them (and hands `neo4j import` the rounds' bulk publish), assembles the parser,
configures logging once (:mod:`clients.logs`), and turns a :class:`SilentcertError` into a one-line reason and a
non-zero exit.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from silentcert.clients import demo, file_modes, logs, review, rounds, serve_command
from silentcert.clients.console import server as console
from silentcert.graph.errors import SilentcertError
from silentcert.graph.neo4j_local import cli as neo4j_cli
from silentcert.services.deathcheck import audit_command
from silentcert.services.rounds import bulk_publish
from silentcert.services.security import command as security_cli
from silentcert.synthetic import command as synthetic_cli


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="silentcert", description="Silent pension liveness certification.")
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="debug logging, libraries' too, on the console (otherwise they go only to "
                             "OUT/silentcert.log)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    synthetic_cli.register(sub)
    rounds.register(sub)
    demo.register(sub)
    review.register(sub)
    console.register(sub)
    serve_command.register(sub)
    security_cli.register(sub)
    audit_command.register(sub)
    neo4j_cli.register(sub, import_round=bulk_publish.import_round)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logs.configure(args.verbose)
    try:
        with file_modes.creating_files_with(file_modes.umask_from_env(os.environ)):
            return int(args.handler(args) or 0)
    except SilentcertError as exc:
        print(f"silentcert: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("silentcert: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
