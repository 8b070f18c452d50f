"""The `silentcert` command line (docs/contract.md section 1).

Each subcommand lives with the code it drives and registers itself here; this module only assembles the parser,
configures logging once (:mod:`clients.logs`), and turns a :class:`SilentcertError` into a one-line reason and a
non-zero exit.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from clients import file_modes, logs
from services.errors import SilentcertError


def build_parser() -> argparse.ArgumentParser:
    from clients import demo, review, rounds
    from clients.console import server as console
    from graph.neo4j_local import cli as neo4j_cli
    from services import serving
    from services.deathcheck import audit_command
    from services.security import command as security_cli
    from synthetic import command as synthetic_cli

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
    serving.register(sub)
    security_cli.register(sub)
    audit_command.register(sub)
    neo4j_cli.register(sub)
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
