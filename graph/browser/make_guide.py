"""Regenerate guide.html (the Neo4j Browser guide) from queries.cypher, the investigators' saved queries.

    python graph/browser/make_guide.py

Each blank-line-separated block of queries.cypher becomes one slide: its first comment line the title, the other
comment lines (the :param commands) runnable snippets, the rest the runnable query.
"""

from __future__ import annotations

import html
from pathlib import Path

HERE = Path(__file__).parent

INTRO = """<h3>silentcert: investigating death-check flags</h3>
      <p>Flags are red nodes <code>(:Flag)-[:CONCERNS]-&gt;(:Pensioner)</code>; each <code>CITES</code> the death records
      and evidence it rests on. Double-click a node to expand it. Load <code>graph/browser/style.grass</code> (drag it
      onto the Browser window) so names, statuses and flag kinds show as captions.</p>
      <p>Every query on the next slides is also in <code>graph/browser/queries.cypher</code>. Decisions on flags are
      made through the DeathCheckService (gRPC), never by editing the graph here: the audit chain would not record
      them.</p>"""


def slide(body: str) -> str:
    return f'  <slide class="row-fluid">\n    <div class="col-sm-12">\n      {body}\n    </div>\n  </slide>'


def runnable(text: str) -> str:
    return f'<pre mode="cypher" class="pre-scrollable code runnable">{html.escape(text)}</pre>'


def query_slide(block: str) -> str:
    lines = block.splitlines()
    title = lines[0].lstrip("/ ").strip()
    params = [line.lstrip("/ ").strip() for line in lines[1:] if line.startswith("//")]
    query = "\n".join(line for line in lines if not line.startswith("//"))
    body = f"<h3>{html.escape(title)}</h3>\n      "
    if params:
        body += "<p>Set the parameter first (click to run):</p>" + "".join(runnable(p) for p in params) + "\n      "
    return slide(body + runnable(query))


def guide(queries: str) -> str:
    blocks = [b.strip() for b in queries.split("\n\n")[1:] if b.strip()]  # the first block is the file's header
    slides = "\n".join([slide(INTRO), *(query_slide(b) for b in blocks)])
    return ("<!-- Neo4j Browser guide, generated from queries.cypher by make_guide.py. Play it with\n"
            "     :play http://localhost:8001/guide.html   (serve this folder: python graph/browser/serve_guide.py)\n"
            "     See docs/investigation.md. -->\n"
            f'<article class="guide">\n<carousel class="deck container-fluid">\n{slides}\n</carousel>\n</article>\n')


def main() -> None:
    (HERE / "guide.html").write_text(guide((HERE / "queries.cypher").read_text(encoding="utf-8")), encoding="utf-8")


if __name__ == "__main__":
    main()
