"""Griffe extension: read llmv2x's NumPy docstrings the way they are written.

The package's docstrings use NumPy sections (``Parameters`` / ``----------``), but put the
description on the name's line, ``name : what it is``, and take types and defaults from the
signature. Griffe's NumPy parser reads the text after the colon as a *type*, so the API pages
showed every description in the Type column, and a line naming several parameters
(``max_iter, kkt_tol, step_tol : termination ...``) gave all of them the first one's default.
Before the docstrings are parsed, this extension rewrites such items into canonical NumPy
form, one item per name with the text as its description::

    max_iter
        termination ...
    kkt_tol
        termination ...

Griffe then fills each type and default from the signature. A text after the colon that
reads as a type (``int``, ``float, optional``, ``{'a', 'b'}``) is left alone. In a
``Returns`` section a first line that is prose becomes the description of the signature's
return annotation. Loaded by mkdocstrings (``extensions:`` in mkdocs.yml).
"""

from __future__ import annotations

import ast
import re
from typing import Any

import griffe

#: Sections whose items are ``name : type`` in NumPy style.
NAMED_SECTIONS = {"parameters", "other parameters", "attributes"}
_ITEM = re.compile(r"^(?P<names>\*{0,2}\w+(?:,\s*\*{0,2}\w+)*)\s+:\s+(?P<text>.+)$")
_TYPE_SUFFIX = re.compile(r",\s*(optional|default[ :=].*)$")


def looks_like_type(text: str) -> bool:
    """True when ``text`` after ``name :`` reads as a type, not as a description."""
    text = _TYPE_SUFFIX.sub("", text.strip())
    if text.startswith("{") and text.endswith("}"):
        return True
    if text.endswith(".") or not text:
        return False
    try:
        ast.parse(text, mode="eval")
    except SyntaxError:
        return False
    return True


def _sections(lines: list[str]) -> list[tuple[str, int, int]]:
    """(title, first body line, end) of every underlined section."""
    heads = [
        i
        for i in range(len(lines) - 1)
        if lines[i].strip() and re.fullmatch(r"-{3,}", lines[i + 1].strip())
    ]
    bounds = heads[1:] + [len(lines)]
    return [(lines[h].strip().lower(), h + 2, end) for h, end in zip(heads, bounds, strict=True)]


def _items(body: list[str]) -> list[list[str]]:
    """Split a section body into items: an unindented line and its indented continuation."""
    items: list[list[str]] = []
    for line in body:
        if line.strip() and not line[0].isspace():
            items.append([line])
        elif items:
            items[-1].append(line)
        else:
            items.append([line])
    return items


def _named_item(item: list[str]) -> list[str]:
    match = _ITEM.match(item[0])
    if not match or looks_like_type(match.group("text")):
        return item
    trailing = []
    rest = item[1:]
    while rest and not rest[-1].strip():
        trailing.insert(0, rest.pop())
    out: list[str] = []
    for name in re.split(r",\s*", match.group("names")):
        out.append(name)
        out.append("    " + match.group("text"))
        out.extend(rest)
    return out + trailing


def _returns_item(item: list[str], returns: Any) -> list[str]:
    first = item[0]
    if returns is None or not first.strip() or ":" in first or looks_like_type(first):
        return item
    return [str(returns), "    " + first.strip(), *item[1:]]


def rewrite(text: str, returns: Any = None) -> str:
    """Rewrite ``name : description`` items of ``text`` into canonical NumPy items."""
    lines = text.splitlines()
    out = list(lines)
    for title, start, end in reversed(_sections(lines)):
        if title in NAMED_SECTIONS:
            new = [line for item in _items(lines[start:end]) for line in _named_item(item)]
        elif title == "returns":
            items = _items(lines[start:end])
            new = [line for item in items for line in _returns_item(item, returns)]
        else:
            continue
        out[start:end] = new
    return "\n".join(out)


class NameColonDescription(griffe.Extension):
    """Rewrite each docstring before griffe's NumPy parser reads it (see the module doc)."""

    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is None or "---" not in obj.docstring.value:
            return
        returns = getattr(obj, "returns", None) if obj.is_function else None
        obj.docstring.value = rewrite(obj.docstring.value, returns)
