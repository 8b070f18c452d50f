"""Full-width to half-width folding, and the whitespace every normaliser strips.

Chinese input methods produce full-width digits and letters (``１２３ＡＢＣ``) and the ideographic
space; this module folds them to ASCII. Python and SQL use the same character lists, so a value
folds identically in a gRPC resolve and in a batch ``SELECT``.

The SQL builders avoid DuckDB's ``translate`` and ``trim(s, chars)`` on large alphabets: both rebuild
their character table for every row, at a cost that grows with the alphabet (benchmarks/normalise_bench.py).
Instead one regular expression with a constant character class decides whether a row needs work,
and only those rows are rebuilt character by character. Per-row values are bound with
``list_transform([expr], lambda x: ...)[1]``, DuckDB's nearest thing to a ``let``.
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


def sql_char_class(chars: str, negate: bool = False) -> str:
    """An RE2 character class matching any of ``chars`` (each written as ``\\x{hex}``, so none is special)."""
    return "[" + ("^" if negate else "") + "".join(f"\\x{{{ord(c):X}}}" for c in chars) + "]"


def half_width_sql(expr: str) -> str:
    """SQL twin of :func:`to_half_width`.

    DuckDB's ``translate`` rebuilds its table for every row (see the module docstring),
    so rows are tested with one regular expression and only the few with a full-width character are
    folded, character by character, by code point arithmetic.
    """
    offset = 0xFF01 - 0x21
    fold = f"CASE WHEN unicode(_ch) BETWEEN {0xFF01} AND {0xFF5E} THEN chr(unicode(_ch) - {offset}) ELSE _ch END"
    return _per_char_when(expr, "[\\x{FF01}-\\x{FF5E}]", fold)


def delete_sql(expr: str, chars: str) -> str:
    """SQL deleting every character of ``chars`` from ``expr`` (Python: ``str.translate`` to None)."""
    return f"regexp_replace({expr}, {sql_string(sql_char_class(chars))}, '', 'g')"


def translate_sql(expr: str, source: str, target: str) -> str:
    """SQL with the semantics of DuckDB ``translate`` (and Python ``str.translate``), fast on big alphabets.

    ``source[i]`` becomes ``target[i]``; characters of ``source`` past the end of ``target`` are
    deleted. Only rows containing a character of ``source`` pay for the per-character lookup.
    """
    lookup = (
        f"list_transform([strpos({sql_string(source)}, _ch)], lambda _at: "
        f"CASE _at WHEN 0 THEN _ch ELSE substr({sql_string(target)}, _at, 1) END)[1]"
    )
    return _per_char_when(expr, sql_char_class(source), lookup)


def _per_char_when(expr: str, pattern: str, per_char: str) -> str:
    """``expr`` unchanged unless it matches ``pattern``; then ``per_char`` (over ``_ch``) on each character."""
    rebuilt = f"array_to_string(list_transform(string_split(_s, ''), lambda _ch: {per_char}), '')"
    return (
        f"list_transform([{expr}], lambda _s: "
        f"CASE WHEN regexp_matches(_s, {sql_string(pattern)}) THEN {rebuilt} ELSE _s END)[1]"
    )


def strip_sql(expr: str) -> str:
    """SQL twin of ``str.strip(WHITESPACE)``; DuckDB's ``trim`` with a character set is slow, so it
    runs only on rows that start or end with whitespace (the expression must be cheap to repeat)."""
    edge = sql_char_class(WHITESPACE)
    return (
        f"CASE WHEN regexp_matches({expr}, {sql_string(f'^{edge}|{edge}$')}) "
        f"THEN trim({expr}, {sql_string(WHITESPACE)}) ELSE {expr} END"
    )
