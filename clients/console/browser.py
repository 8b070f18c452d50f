"""The link that opens one pensioner in Neo4j Browser: the saved query that draws a whole neighbourhood
(graph/browser/queries.cypher, slide "One pensioner's whole neighbourhood"), put in Browser's editor with the
person's account number in place of ``$person_id`` (Browser's ``?cmd=edit&arg=`` URL fills one statement; a
``:param`` line before it would need Browser's multi-statement mode, off by default). The investigator presses
run; nothing runs by itself. Only plain account numbers are written into the text (letters, digits, ``_.-``).
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlencode

from silentcert import graph

SAVED_QUERIES = Path(graph.__file__).parent / "browser" / "queries.cypher"
NEIGHBOURHOOD = "One pensioner's whole neighbourhood"
_PERSON_ID = re.compile(r"[0-9A-Za-z_.-]{1,64}")


def neighbourhood_query(saved: Path = SAVED_QUERIES) -> str:
    """The neighbourhood query (taking $person_id) of the investigators' saved queries."""
    for block in saved.read_text(encoding="utf-8").split("\n\n")[1:]:
        lines = block.strip().splitlines()
        if lines and NEIGHBOURHOOD in lines[0]:
            return "\n".join(line for line in lines if not line.startswith("//")).strip()
    raise LookupError(f"{saved} has no block titled {NEIGHBOURHOOD!r}")


def browser_link(browser_url: str, person_id: str, query: str) -> str | None:
    """Browser's URL with the editor holding the query for this person; None without a Browser URL or for an id
    that is not a plain account number (it is written into the query's text)."""
    if not browser_url or not _PERSON_ID.fullmatch(person_id):
        return None
    text = query.replace("$person_id", f"'{person_id}'")
    return f"{browser_url}?{urlencode({'cmd': 'edit', 'arg': text})}"
