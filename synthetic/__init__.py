"""Synthetic province generator: a messy round directory plus its ground truth."""

from synthetic.command import register
from synthetic.province import Summary, generate
from synthetic.series import SeriesSummary, generate_series

__all__ = ["SeriesSummary", "Summary", "generate", "generate_series", "register"]
