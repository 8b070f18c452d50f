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
      and evidence it rests on. Double-click a node to expand it. The style (<code>graph/browser/style.grass</code>:
      names and statuses, flag kinds and severities, record sources and dates as captions) and this guide load when
      you connect; run <code>:style http://localhost:8001/style.grass</code> if the captions are missing.</p>
      <p>Start with the next three slides: the round's most urgent flags, its rings and its counties. Every
      <code>:param</code> on the later slides takes the round's most urgent case; replace its value with one from
      those lists to look at another. The queries are also in <code>graph/browser/queries.cypher</code>.</p>
      <p>Decide a flag in the review console (<code>silentcert console</code>, docs/investigation.md) or with
      <code>silentcert review decide FLAG_ID confirm|clear|escalate</code>: both go through the DeathCheckService
      under your own name, recorded in the audit chain. The investigators' Browser copy is read-only (never edit a
      flag here: a change made in the graph would bypass the audit chain).</p>"""


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
