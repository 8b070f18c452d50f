"""The ``silentcert generate`` subcommand."""

import argparse
import dataclasses
from datetime import date
from pathlib import Path

from silentcert.synthetic.evidence import MAX_RELATIVE_SOURCES, WORLDS, World
from silentcert.synthetic.province import generate
from silentcert.synthetic.series import generate_series
from silentcert.synthetic.shapes import SHAPES


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
    parser.add_argument("--as-of", type=_as_of, required=True,
                        help="reference date of the round (of the first round with --months), YYYY-MM-DD")
    parser.add_argument("--out", type=Path, required=True, help="directory to write (created if missing)")
    parser.add_argument("--months", type=_months, default=None,
                        help="write a series: this many consecutive monthly rounds of one province in OUT/YYYY-MM/, "
                             "with the series' truth in OUT/truth/ (--pensioners is the first round's registry)")
    parser.add_argument("--file-shapes", choices=SHAPES, default="plain",
                        help="plain: each source as its recipe says; messy: unused columns named like working "
                             "columns or each other, shuffled order, BOM, a .csv.gz and an .xlsx source")
    world = parser.add_argument_group("world", "how relatives behave after a death, and the evidence mix "
                                      "(a preset, then any knob overrides it; written to truth/world.json)")
    world.add_argument("--world", choices=sorted(WORLDS), default="default",
                       help="light: few relatives, one source; heavy: relatives keep using up to four sources")
    world.add_argument("--relatives", type=_share("--relatives"),
                       help="share of the recently dead whose relatives keep using their identifiers")
    world.add_argument("--relative-sources", type=_sources,
                       help="comma-separated weak sources relatives keep using (card_spending,telecom,...)")
    world.add_argument("--relative-per-source", type=_share("--relative-per-source"),
                       help="chance a using family uses each listed source")
    world.add_argument("--relative-max-sources", type=_max_sources, help="at most this many sources a family (0..4)")
    world.add_argument("--relatives-unreported", type=_share("--relatives-unreported"),
                       help="chance a death relatives keep using is in no register (default: as any death)")
    world.add_argument("--weak-only", type=_share("--weak-only"),
                       help="share of people whose only evidence in life is weak (default 0.04)")
    parser.add_argument("--duplicate-share", type=float, default=0.002,
                        help="share of living pensioners given a second account in another county (truth only)")
    parser.set_defaults(handler=run)
    return parser


def _months(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 120:
        raise argparse.ArgumentTypeError(f"--months must be a whole number of months from 1 to 120, got {text!r}")
    return int(text)


def _share(flag: str):
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(f"{flag} must be a number in [0, 1], got {text!r}") from exc
        if not 0.0 <= value <= 1.0:
            raise argparse.ArgumentTypeError(f"{flag} must lie in [0, 1], got {text}")
        return value
    return parse


def _sources(text: str) -> tuple[str, ...]:
    names = tuple(s.strip() for s in text.split(",") if s.strip())
    try:
        World(relative_sources=names)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"--relative-sources: {exc}") from exc
    return names


def _max_sources(text: str) -> int:
    if not text.isdigit() or not 0 <= int(text) <= MAX_RELATIVE_SOURCES:
        raise argparse.ArgumentTypeError(f"--relative-max-sources must be 0..{MAX_RELATIVE_SOURCES}, got {text!r}")
    return int(text)


KNOBS = {"relatives": "relatives", "relative_sources": "relative_sources", "relative_per_source": "per_source",
         "relative_max_sources": "max_sources", "relatives_unreported": "unreported", "weak_only": "weak_only"}


def world_from(args: argparse.Namespace) -> World:
    """The preset named by --world with every knob given on the command line applied over it."""
    preset = WORLDS[args.world]
    changes = {field: getattr(args, arg) for arg, field in KNOBS.items() if getattr(args, arg, None) is not None}
    return dataclasses.replace(preset, **changes, name=preset.name + ("+custom" if changes else ""))


def run(args: argparse.Namespace) -> int:
    if args.months is not None:
        series = generate_series(args.pensioners, args.months, args.seed, args.as_of, args.out, world_from(args),
                                 shape=args.file_shapes, duplicate_share=args.duplicate_share)
        print("\n".join(series.lines()))
        return 0
    summary = generate(args.pensioners, args.seed, args.as_of, args.out, world_from(args), shape=args.file_shapes,
                       duplicate_share=args.duplicate_share)
    print("\n".join(summary.lines()))
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run the subcommand standalone: ``python -m silentcert.synthetic generate ...`` (synthetic/__main__.py)."""
    parser = argparse.ArgumentParser(prog="silentcert")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.handler(args)
