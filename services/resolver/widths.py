"""Full-width to half-width folding, and the whitespace every normaliser strips.

Chinese input methods produce full-width digits and letters (``１２３ＡＢＣ``) and the ideographic
space; this module folds them to ASCII. Python and SQL use the same character lists, so a value
folds identically in a gRPC resolve and in a batch ``SELECT``.
"""

# U+FF01..U+FF5E are the full-width forms of ASCII U+0021..U+007E, in the same order.
FULL_WIDTH = "".join(chr(c) for c in range(0xFF01, 0xFF5F))
HALF_WIDTH = "".join(chr(c) for c in range(0x21, 0x7F))

# Explicit, not \s: Python's \s is Unicode-aware and RE2's is ASCII-only, so neither is shared.
WHITESPACE = (
    " \t\n\r\v\f"
    "\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u200b\u2028\u2029\u202f\u205f\u3000\ufeff"
)

_FOLD = str.maketrans(FULL_WIDTH, HALF_WIDTH)


def to_half_width(text: str) -> str:
    """Fold full-width ASCII forms to ASCII; everything else is left as it is."""
    return text.translate(_FOLD)


def sql_string(text: str) -> str:
    """``text`` as a DuckDB string literal."""
    return "'" + text.replace("'", "''") + "'"


def translate_sql(expr: str, source: str, target: str) -> str:
    """DuckDB ``translate``: maps ``source[i]`` to ``target[i]``, deletes the rest of ``source``."""
    return f"translate({expr}, {sql_string(source)}, {sql_string(target)})"


def half_width_sql(expr: str) -> str:
    """SQL twin of :func:`to_half_width`."""
    return translate_sql(expr, FULL_WIDTH, HALF_WIDTH)
