"""`python -m silentcert.graph.neo4j_local start | stop | status` (the same as `silentcert neo4j ...`)."""

from __future__ import annotations

import argparse
import sys

from silentcert.graph.errors import SilentcertError
from silentcert.graph.neo4j_local.cli import register


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m silentcert.graph.neo4j_local")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["neo4j", *(sys.argv[1:] if argv is None else argv)])
    try:
        return int(args.handler(args))
    except SilentcertError as error:
        print(f"neo4j: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
