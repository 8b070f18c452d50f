"""Synthetic province generator: a messy round directory plus its ground truth."""

from silentcert.synthetic.command import register
from silentcert.synthetic.province import Summary, generate
from silentcert.synthetic.series import SeriesSummary, generate_series

__all__ = ["SeriesSummary", "Summary", "generate", "generate_series", "register"]
