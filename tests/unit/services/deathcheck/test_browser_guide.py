"""The investigators' Browser guide stays in step with the saved queries it is generated from."""

import importlib.util
from pathlib import Path

BROWSER = Path(__file__).resolve().parents[4] / "graph" / "browser"


def _make_guide():
    spec = importlib.util.spec_from_file_location("make_guide", BROWSER / "make_guide.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_guide_html_is_generated_from_queries_cypher():
    queries = (BROWSER / "queries.cypher").read_text(encoding="utf-8")
    assert (BROWSER / "guide.html").read_text(encoding="utf-8") == _make_guide().guide(queries)


def test_every_saved_query_is_a_slide():
    queries = (BROWSER / "queries.cypher").read_text(encoding="utf-8")
    blocks = [b for b in queries.split("\n\n")[1:] if b.strip()]
    guide = (BROWSER / "guide.html").read_text(encoding="utf-8")
    assert guide.count("<slide") == len(blocks) + 1
