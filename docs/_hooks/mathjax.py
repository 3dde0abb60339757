"""MkDocs hook: serve MathJax 3 from the installed ``django-static-mathjax`` package.

The site then renders maths without a network: ``mkdocs build`` fetches nothing and a page
opened from ``site/`` (or served on 127.0.0.1) typesets with local files. The hook also
removes the MathJax 2 loader that mkdocs-jupyter's nbconvert template puts into the tutorial
page (it points at a CDN and would fight MathJax 3); the site-wide configuration below
typesets the notebook's Markdown cells as well (``$...$`` there; arithmatex has already turned
every Markdown page's maths into ``\\(...\\)``, and code is never searched). Notebook pages
hide the left navigation so that code cells get the width of a screen, and their links to
other pages (``algorithms.md#...``, right in Jupyter and on GitHub) are rewritten to the
site's URLs, which mkdocs-jupyter leaves alone.
"""

from __future__ import annotations

import importlib.resources
import re
from pathlib import Path

from mkdocs.structure.files import File, Files

#: Where the files go in the site.
PREFIX = "assets/mathjax"
#: Parts of MathJax's es5 tree the site needs: the combined TeX/MathML -> CommonHTML
#: component, its fonts, the TeX extensions it may autoload, and the context menu.
KEEP = ("tex-mml-chtml.js", "output/chtml/", "input/tex/extensions/", "ui/", "a11y/")

CONFIG_JS = r"""
window.MathJax = {
  tex: {
    inlineMath: [["\\(", "\\)"], ["$", "$"]],
    displayMath: [["\\[", "\\]"], ["$$", "$$"]],
    processEscapes: true,
    processEnvironments: true
  },
  options: {
    ignoreHtmlClass: "tex2jax_ignore|highlight|jp-CodeCell"
  }
};
if (typeof document$ !== "undefined") {
  document$.subscribe(() => {
    if (window.MathJax && MathJax.typesetPromise) {
      MathJax.startup.output.clearCache();
      MathJax.typesetClear();
      MathJax.texReset();
      MathJax.typesetPromise();
    }
  });
}
"""

_NB_MATHJAX = re.compile(r"<!-- Load mathjax -->.*?<!-- End of mathjax configuration -->", re.S)
_MD_LINK = re.compile(r'href="(?![a-z]+:|/|#)([^"#]+?)\.md(#[^"]*)?"')


def _site_link(match: re.Match) -> str:
    """``page.md#a`` -> ``../page/#a`` (directory URLs, seen from a notebook page)."""
    path = match.group(1)
    path = path[: -len("index")] if path.endswith("index") else path + "/"
    return f'href="../{path}{match.group(2) or ""}"'


def _es5() -> Path:
    return Path(str(importlib.resources.files("mathjax"))) / "static" / "mathjax" / "es5"


def on_files(files: Files, config) -> Files:
    """Add MathJax's files and its configuration to the site as generated files."""
    root = _es5()
    if not root.is_dir():
        raise RuntimeError(f"MathJax not found at {root}: pip install django-static-mathjax")
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if path.is_file() and rel.startswith(KEEP):
            files.append(File.generated(config, f"{PREFIX}/{rel}", abs_src_path=str(path)))
    files.append(File.generated(config, f"{PREFIX}/config.js", content=CONFIG_JS))
    return files


def on_page_context(context, page, config, nav):
    """Notebook pages: hide the navigation sidebar (Material's ``hide`` page option)."""
    if page.file.src_uri.endswith(".ipynb"):
        page.meta.setdefault("hide", ["navigation"])
    return context


def on_post_page(output: str, page, config) -> str:
    """Drop the notebook template's own (CDN, MathJax 2) loader; fix notebook links."""
    output = _NB_MATHJAX.sub("", output)
    if page.file.src_uri.endswith(".ipynb"):
        output = _MD_LINK.sub(_site_link, output)
    return output
