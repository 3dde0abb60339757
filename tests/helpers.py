"""Test helpers shared across test folders (importable as ``helpers``: pytest puts tests/ on
sys.path because tests/conftest.py sits there).

``assert_close_tree`` compares two JSON-like trees (dicts, lists, numbers, strings, NumPy
arrays) the way generated data should be compared across machines: the structure, strings,
booleans and integers exactly, floats to a relative tolerance. NumPy and libm may differ in
the last ulp between CPUs and builds, so a float that came out of a computation is never
compared bit for bit with one computed elsewhere (docs/data-format.md).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np


def _plain(x: Any) -> Any:
    """NumPy arrays and scalars as the Python values JSON would hold."""
    if isinstance(x, np.ndarray | np.generic):
        return x.tolist()
    return x


def close_tree_difference(a: Any, b: Any, rtol: float = 1e-12, path: str = "$") -> str | None:
    """The first difference between ``a`` and ``b`` as one line naming its path, or None.

    Dict keys, list lengths, strings, None, booleans and integers must match exactly (an int
    is not a float: ``300`` vs ``300.0`` is a difference); floats must agree to ``rtol``
    relative (``math.isclose``, no absolute slack, so 0.0 only matches 0.0); NaN matches NaN.
    """
    a, b = _plain(a), _plain(b)
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        if set(a) != set(b):
            missing, extra = sorted(set(a) - set(b)), sorted(set(b) - set(a))
            return f"{path}: keys differ (only left: {missing}, only right: {extra})"
        for key in a:
            diff = close_tree_difference(a[key], b[key], rtol, f"{path}.{key}")
            if diff:
                return diff
        return None
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        if len(a) != len(b):
            return f"{path}: lengths differ ({len(a)} vs {len(b)})"
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            diff = close_tree_difference(x, y, rtol, f"{path}[{i}]")
            if diff:
                return diff
        return None
    if type(a) is float and type(b) is float:
        if math.isnan(a) and math.isnan(b):
            return None
        if a == b or math.isclose(a, b, rel_tol=rtol, abs_tol=0.0):
            return None
        rel = abs(a - b) / max(abs(a), abs(b))
        return f"{path}: {a!r} vs {b!r} (relative difference {rel:.1e} > {rtol:.0e})"
    if type(a) is not type(b):
        return f"{path}: {type(a).__name__} {a!r} vs {type(b).__name__} {b!r}"
    if a != b:
        return f"{path}: {a!r} vs {b!r}"
    return None


def assert_close_tree(a: Any, b: Any, rtol: float = 1e-12) -> None:
    """Assert ``a`` and ``b`` are the same tree with floats equal to ``rtol`` relative."""
    diff = close_tree_difference(a, b, rtol)
    assert diff is None, diff
