"""The README is a short runbook; its links and the docs pages' links and anchors all resolve."""

from __future__ import annotations

import re
import tomllib
import xml.dom.minidom
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
README = ROOT / "README.md"
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")
HEADING = re.compile(r"^#{1,6} (.+)$", re.MULTILINE)
FENCE = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)


def slug(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped (CJK kept), spaces to hyphens."""
    text = re.sub(r"[`*_]", "", heading).strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(markdown: str) -> set[str]:
    """Every heading anchor of a page."""
    return {slug(h) for h in HEADING.findall(FENCE.sub("", markdown))}


def broken_links(markdown: str, base: Path) -> list[str]:
    """The relative links of `markdown` (a file in `base`) whose file or anchor does not exist."""
    broken = []
    for target in LINK.findall(FENCE.sub("", markdown)):
        if re.match(r"^[a-z]+:", target):
            continue  # http(s), mailto: not checked offline
        path, _, anchor = target.partition("#")
        file = (base / path).resolve() if path else None
        if file is not None and not file.exists():
            broken.append(target)
            continue
        if anchor:
            text = file.read_text(encoding="utf-8") if file is not None else markdown
            if anchor not in anchors(text):
                broken.append(target)
    return broken


def pages() -> list[Path]:
    """README.md and every docs page."""
    return [README, *sorted(DOCS.glob("*.md"))]


def test_readme_is_a_runbook_of_at_most_12_kb() -> None:
    assert README.stat().st_size <= 12 * 1024
    text = README.read_text(encoding="utf-8")
    assert "make demo" in text and "make test" in text


def test_every_link_and_anchor_resolves() -> None:
    broken = {p.name: broken_links(p.read_text(encoding="utf-8"), p.parent) for p in pages()}
    assert {name: links for name, links in broken.items() if links} == {}


def test_every_docs_page_is_linked_from_the_readme() -> None:
    linked = {(ROOT / t.partition("#")[0]).resolve() for t in LINK.findall(README.read_text(encoding="utf-8"))}
    assert [p.name for p in DOCS.glob("*.md") if p.resolve() not in linked] == []


def test_the_link_checker_can_fail(tmp_path: Path) -> None:
    (tmp_path / "other.md").write_text("# Real heading\n", encoding="utf-8")
    text = ("# Top\n[ok](other.md) [ok](other.md#real-heading) [ok](#top) [web](https://example.org)\n"
            "[gone](missing.md) [bad anchor](other.md#nope) ![img](no.svg)\n```\n[in code](ignored.md)\n```\n")
    assert broken_links(text, tmp_path) == ["missing.md", "other.md#nope", "no.svg"]
    assert slug("The life of an evaluation (each step an API call and a page)") == \
        "the-life-of-an-evaluation-each-step-an-api-call-and-a-page"
    assert slug("主场 and `api/`") == "主场-and-api"


def test_the_layers_diagram_names_every_package() -> None:
    xml.dom.minidom.parse(str(DOCS / "layers.svg"))
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    layers = next(c for c in config["tool"]["importlinter"]["contracts"] if c["type"] == "layers")["layers"]
    packages = {name.strip() for layer in layers for name in layer.split("|")}
    for diagram in ("layers.mmd", "layers.svg", "architecture.md"):
        text = (DOCS / diagram).read_text(encoding="utf-8")
        assert [p for p in sorted(packages) if not re.search(rf"\b{p}\b", text)] == [], diagram
