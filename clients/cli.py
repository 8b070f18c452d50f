"""The `silentcert` command line (CONTRACT section 1).

Each subcommand lives with the code it drives and registers itself here; this module only assembles the parser,
configures logging once, and turns a :class:`SilentcertError` into a one-line reason and a non-zero exit.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from services.errors import SilentcertError


def build_parser() -> argparse.ArgumentParser:
    from clients import demo, review, rounds
    from graph.neo4j_local import cli as neo4j_cli
    from services import serving
    from services.security import command as security_cli
    from synthetic import command as synthetic_cli

    parser = argparse.ArgumentParser(prog="silentcert", description="Silent pension liveness certification.")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    synthetic_cli.register(sub)
    rounds.register(sub)
    demo.register(sub)
    review.register(sub)
    serving.register(sub)
    security_cli.register(sub)
    neo4j_cli.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    if not args.verbose:  # Splink narrates every training step at INFO
        logging.getLogger("splink").setLevel(logging.WARNING)
    try:
        return int(args.handler(args) or 0)
    except SilentcertError as exc:
        print(f"silentcert: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("silentcert: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
