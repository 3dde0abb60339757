"""The documentation build is strict for real, and the repository cites only its own pages.

Cheap guards (no site build): ``mkdocs build --quiet`` hides the warnings that ``--strict``
counts, so a broken link would pass ``make docs``; and every reference for the formulation,
the file formats and the command line lives in docs/, so no file may point to a
specification document the repository does not ship.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
#: The word, assembled so that this file does not contain it.
WORD = "SP" + "EC"


def _docs_recipe() -> list[str]:
    """The command lines of the Makefile's ``docs`` rule."""
    lines = (ROOT / "Makefile").read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if re.match(r"^docs\s*:", line))
    recipe = []
    for line in lines[start + 1 :]:
        if not line.startswith("\t"):
            break
        recipe.append(line.strip())
    return recipe


def test_make_docs_builds_strict_and_shows_warnings():
    recipe = _docs_recipe()
    builds = [line for line in recipe if "mkdocs build" in line]
    assert builds, f"no mkdocs build in the docs rule: {recipe}"
    for line in builds:
        assert "--strict" in line, line
        assert "--quiet" not in line and not re.search(r"\s-q\b", line), line


def test_mkdocs_config_is_strict():
    config = (ROOT / "mkdocs.yml").read_text()
    assert re.search(r"^strict:\s*true\s*$", config, re.M)


def _text_files():
    yield ROOT / "README.md"
    for top in ("docs", "src"):
        for path in sorted((ROOT / top).rglob("*")):
            if path.is_file() and path.suffix in {".md", ".py", ".ipynb", ".yml", ".txt", ".toml"}:
                yield path


def test_no_file_cites_a_specification_the_repository_does_not_ship():
    hits = []
    for path in _text_files():
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if WORD in line:
                hits.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()[:80]}")
    assert not hits, "cite a docs/ page instead:\n" + "\n".join(hits)


def test_every_docs_page_is_in_the_nav():
    config = (ROOT / "mkdocs.yml").read_text()
    nav = config[config.index("\nnav:") :]
    pages = sorted(p.relative_to(ROOT / "docs").as_posix() for p in (ROOT / "docs").glob("*.md"))
    missing = [page for page in pages if page not in nav]
    assert not missing, f"pages outside the nav of mkdocs.yml: {missing}"
