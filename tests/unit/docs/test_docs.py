"""The docs a clone ships: every relative link resolves, and the contract is the shared one (issue 15)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
SHARED_CONTRACT = REPO.parent / "shared" / "CONTRACT.md"

# [text](target) and [text](target "title"); images too. Code spans are blanked first so `[a](b)` in code is not read.
LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
CODE = re.compile(r"```.*?```|`[^`\n]*`", re.DOTALL)


def _markdown_files() -> list[Path]:
    return [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]


def relative_links(path: Path) -> list[str]:
    text = CODE.sub("", path.read_text(encoding="utf-8"))
    return [t for t in LINK.findall(text) if not re.match(r"[a-z][a-z0-9+.-]*:|#", t, re.IGNORECASE)]


@pytest.mark.parametrize("path", _markdown_files(), ids=lambda p: str(p.relative_to(REPO)))
def test_relative_links_resolve_inside_the_clone(path: Path) -> None:
    broken = []
    for target in relative_links(path):
        resolved = (path.parent / target.split("#", 1)[0]).resolve()
        if not resolved.exists() or not resolved.is_relative_to(REPO):
            broken.append(target)
    assert not broken, f"{path.relative_to(REPO)} links outside the clone or to missing files: {broken}"


def test_link_reader_finds_links_and_skips_urls_and_code(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text('See [a](docs/a.md#x), [b](https://x.org), ![c](img.png "t"), `[d](no.md)`, [e](#top).\n')
    assert relative_links(page) == ["docs/a.md#x", "img.png"]


def test_readme_links_the_contract_in_the_repository() -> None:
    assert "](docs/contract.md)" in (REPO / "README.md").read_text(encoding="utf-8")


@pytest.mark.skipif(not SHARED_CONTRACT.is_file(), reason="no shared CONTRACT.md beside this checkout")
def test_contract_copy_is_in_step_with_the_shared_contract() -> None:
    assert (REPO / "docs" / "contract.md").read_text(encoding="utf-8") == SHARED_CONTRACT.read_text(encoding="utf-8"), (
        "docs/contract.md differs from ../shared/CONTRACT.md: copy the shared contract into docs/contract.md")
