"""Every Cypher statement of silentcert, loaded by name from ``graph/queries/*.cypher``.

One statement a file, ``$parameters`` only; the file name is the query's name::

    catalog.query("publish_pensioner_verdicts")

The schema (constraints and indexes) lives in ``graph/schema.cypher`` and comes out as a list of statements.
No other module holds Cypher text.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

QUERIES_DIR = Path(__file__).parent / "queries"
SCHEMA_FILE = Path(__file__).parent / "schema.cypher"


class UnknownQuery(LookupError):
    """A query name with no file in graph/queries/ — a bug in the caller, not a runtime condition."""


@cache
def names() -> tuple[str, ...]:
    """The names of every query in the catalog, sorted."""
    return tuple(sorted(p.stem for p in QUERIES_DIR.glob("*.cypher")))


@cache
def query(name: str) -> str:
    """The text of query `name`, comments stripped; raises UnknownQuery naming the known queries."""
    path = QUERIES_DIR / f"{name}.cypher"
    if name not in names():
        raise UnknownQuery(f"no query {name!r} in {QUERIES_DIR}; known: {', '.join(names())}")
    return _strip_comments(path.read_text(encoding="utf-8"))


@cache
def schema_statements() -> tuple[str, ...]:
    """The constraint and index statements of schema.cypher, one per `;`."""
    text = _strip_comments(SCHEMA_FILE.read_text(encoding="utf-8"))
    return tuple(s.strip() for s in text.split(";") if s.strip())


def is_constraint(statement: str) -> bool:
    """Whether a schema statement creates a constraint (the others create plain indexes)."""
    return statement.split(maxsplit=2)[1].upper() == "CONSTRAINT"


def _strip_comments(text: str) -> str:
    lines = (line for line in text.splitlines() if not line.lstrip().startswith("//"))
    return "\n".join(lines).strip()
