"""Synthetic province generator: a messy round directory plus its ground truth."""

from synthetic.command import register
from synthetic.province import Summary, generate

__all__ = ["Summary", "generate", "register"]
