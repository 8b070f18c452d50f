"""Synthetic province generator: a messy round directory plus its ground truth."""

from synthetic.province import Summary, generate
from synthetic.series import SeriesSummary, generate_series


def register(subparsers):
    """Add the ``generate`` subcommand to a CLI's subparsers (see synthetic.command)."""
    from synthetic.command import register as add_generate

    return add_generate(subparsers)


__all__ = ["SeriesSummary", "Summary", "generate", "generate_series", "register"]
