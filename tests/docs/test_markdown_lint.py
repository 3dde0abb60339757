"""Markdown that renders wrongly on the site although the strict build passes.

Python-Markdown (MkDocs) needs four spaces to nest a list, and reads a ``*`` next to a word as
emphasis, so ``f*_R`` in running text came out in italics and a bullet indented by three
spaces under a numbered item fell out of its list (algorithms.md). Maths goes in ``$...$``
(MathJax, docs/_hooks/mathjax.py), where neither rule applies.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[2] / "docs"
PAGES = sorted(DOCS.glob("*.md"))


def _prose_lines(text: str):
    """(line number, line) outside fenced code, ``$$`` blocks, indented code and inline maths."""
    fence = maths = False
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if stripped.startswith(("```", "~~~")):
            fence = not fence
            continue
        if stripped == "$$" or (stripped.startswith("$$") and not stripped.endswith("$$")):
            maths = not maths
            continue
        if fence or maths:
            continue
        line = re.sub(r"`[^`]*`", "``", line)
        line = re.sub(r"\$[^$]+\$", "$$", line)
        yield number, line


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_nested_lists_are_indented_by_four_spaces(page):
    bad = [
        f"{page.name}:{n}: {line.strip()[:60]}"
        for n, line in _prose_lines(page.read_text(encoding="utf-8"))
        if re.match(r"^ {1,3}([-*+]|\d+\.) ", line)
    ]
    assert not bad, "indent nested list items by 4 spaces:\n" + "\n".join(bad)


#: The Markdown extensions of mkdocs.yml that change how ``*`` and ``$`` are read.
EXTENSIONS = ["tables", "attr_list", "md_in_html", "footnotes", "pymdownx.superfences"]


def _stray_emphasis(text: str) -> list[str]:
    """Italics that start right after a letter or hold ``_``/``=``: a symbol's ``*`` at work."""
    markdown = pytest.importorskip("markdown")
    html = markdown.markdown(
        text,
        extensions=[*EXTENSIONS, "pymdownx.arithmatex"],
        extension_configs={"pymdownx.arithmatex": {"generic": True}},
    )
    bad = []
    for match in re.finditer(r"<em>(.*?)</em>", html, re.S):
        inner, before = match.group(1), html[max(0, match.start() - 1) : match.start()]
        if re.match(r"[_,.;:)\]\s]", inner) or "=" in inner or re.match(r"\w", before):
            bad.append(html[max(0, match.start() - 20) : match.end()][:80])
    return bad


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_no_symbol_star_turns_into_italics(page):
    bad = _stray_emphasis(page.read_text(encoding="utf-8"))
    assert not bad, f"{page.name}: write symbols like f* as maths ($f^*$):\n" + "\n".join(bad)


def test_the_checks_see_what_they_guard():
    """The patterns of the issue are found in plain text and ignored in maths and code."""
    sample = "1. item\n   - three spaces\n```\n   - code\n```\n"
    lines = [line for _, line in _prose_lines(sample)]
    assert sum(bool(re.match(r"^ {1,3}[-*+] ", line)) for line in lines) == 1
    assert _stray_emphasis("then runs at f*_R = 0.15 GHz and f*_V = 0.3 GHz.")
    assert _stray_emphasis("clip(f*, l, u) with f* = 1")
    assert not _stray_emphasis("runs at $f^*_R$ and $f^*_V$; *measured* `f*_R`")
