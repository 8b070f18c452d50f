"""The ``silentcert generate`` subcommand."""

import argparse
from datetime import date
from pathlib import Path

from synthetic.province import generate


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
    parser.add_argument("--duplicate-share", type=float, default=0.002,
                        help="share of living pensioners given a second account in another county (truth only)")
    parser.set_defaults(handler=run)
    return parser


def run(args: argparse.Namespace) -> int:
    summary = generate(args.pensioners, args.seed, args.as_of, args.out, args.duplicate_share)
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
