"""The Cypher catalog: every query loads, unknown names fail clearly, and no Cypher hides in Python files."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from silentcert.graph import catalog
from silentcert.graph.store import NODE_LABELS, RELATIONSHIP_TYPES

REPO = Path(__file__).resolve().parents[3]
CYPHER_IN_A_STRING = re.compile(
    r"""["'][^"'\n]*\b(MATCH\s*\(|MERGE\s*\(|CREATE\s*\(|CREATE\s+(CONSTRAINT|INDEX)\b|DETACH\s+DELETE|UNWIND\s+\$)""",
)


def test_every_query_loads_without_comments():
    assert "publish_pensioner_verdicts" in catalog.names()
    for name in catalog.names():
        text = catalog.query(name)
        assert text and "//" not in text.splitlines()[0], name


def test_each_query_file_holds_one_statement():
    for name in catalog.names():
        assert ";" not in catalog.query(name).rstrip(";"), f"{name} holds more than one statement"


def test_queries_take_parameters_not_formatted_values():
    for name in catalog.names():
        text = catalog.query(name)
        assert not re.search(r"\{\s*\w+\s*\}", text), f"{name} holds a format placeholder"
        assert "%s" not in text, name


def test_unknown_query_names_the_known_ones():
    with pytest.raises(catalog.UnknownQuery, match="no query 'publish_everything'.*publish_pensioner_verdicts"):
        catalog.query("publish_everything")


def test_schema_statements_are_idempotent_and_cover_the_keys():
    statements = catalog.schema_statements()
    assert all("IF NOT EXISTS" in s for s in statements)
    text = "\n".join(statements)
    for label, key in [("Pensioner", "person_id"), ("IdNumber", "value"), ("Phone", "value"), ("Card", "value"),
                       ("Event", "key"), ("DeathRecord", "key"), ("Flag", "flag_id"), ("Round", "round_id"),
                       ("AuditEntry", "seq")]:
        assert re.search(rf"FOR \(n:{label}\) REQUIRE n\.{key} IS UNIQUE", text), label


def test_constraints_are_told_from_plain_indexes():
    statements = catalog.schema_statements()
    assert sum(map(catalog.is_constraint, statements)) == 10 and not all(map(catalog.is_constraint, statements))
    assert all(("REQUIRE" in s) == catalog.is_constraint(s) for s in statements)


def test_the_count_queries_name_every_label_and_type_of_the_model():
    """They answer from the count store only for names written out, so they must follow graph.store's lists."""
    assert re.findall(r"MATCH \(n:(\w+)\) RETURN '(\w+)'", catalog.query("count_nodes")) == [
        (label, label) for label in NODE_LABELS]
    assert re.findall(r"MATCH \(\)-\[r:(\w+)\]->\(\) RETURN '(\w+)'", catalog.query("count_relationships")) == [
        (kind, kind) for kind in RELATIONSHIP_TYPES]


def test_no_cypher_in_python_outside_the_catalog():
    offenders = []
    for path in REPO.rglob("*.py"):
        relative = path.relative_to(REPO)
        if relative.parts[0] in {".git", "build"} or path == Path(__file__).resolve():
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if CYPHER_IN_A_STRING.search(line):
                offenders.append(f"{relative}:{number}: {line.strip()}")
    assert offenders == [], "Cypher belongs in graph/queries/*.cypher:\n" + "\n".join(offenders)


def test_the_guard_recognises_cypher():
    assert CYPHER_IN_A_STRING.search('q = "MATCH (p:Pensioner) RETURN p"')
    assert CYPHER_IN_A_STRING.search("run('UNWIND $rows AS r MERGE (p:Pensioner {person_id: r.id})')")
    assert not CYPHER_IN_A_STRING.search("# we MERGE identifiers (see the catalog)")
