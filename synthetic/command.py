"""The ``silentcert generate`` subcommand."""

import argparse
from datetime import date
from pathlib import Path

from synthetic.province import generate
from synthetic.shapes import SHAPES


def _as_of(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"--as-of must be YYYY-MM-DD, got {text!r}") from exc


def _positive(text: str) -> int:
    value = int(text)
    if value < 10:
        raise argparse.ArgumentTypeError("--pensioners must be at least 10")
    return value


def register(subparsers) -> argparse.ArgumentParser:
    """Add ``generate`` to a CLI's subparsers; the handler is stored as ``handler``."""
    parser = subparsers.add_parser("generate", help="write a synthetic round directory with ground truth")
    parser.add_argument("--pensioners", type=_positive, required=True, help="number of registry rows")
    parser.add_argument("--seed", type=int, default=1, help="same seed, same bytes")
    parser.add_argument("--as-of", type=_as_of, required=True, help="reference date of the round, YYYY-MM-DD")
    parser.add_argument("--out", type=Path, required=True, help="directory to write (created if missing)")
    parser.add_argument("--file-shapes", choices=SHAPES, default="plain",
                        help="plain: each source as its recipe says; messy: unused columns named like working "
                             "columns or each other, shuffled order, BOM, a .csv.gz and an .xlsx source")
    parser.set_defaults(handler=run)
    return parser


def run(args: argparse.Namespace) -> int:
    summary = generate(args.pensioners, args.seed, args.as_of, args.out, shape=args.file_shapes)
    print("\n".join(summary.lines()))
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run the subcommand standalone: ``python -m synthetic.command generate ...``."""
    parser = argparse.ArgumentParser(prog="silentcert")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":
    raise SystemExit(main())
