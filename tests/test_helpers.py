"""The tree comparison the tests use for generated data (tests/helpers.py)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from helpers import assert_close_tree, close_tree_difference

BASE = {"name": "x", "n": 3, "ok": True, "none": None, "v": [1.0, 2.5e-10, 0.0], "m": [[1e9]]}


def _with(**changes):
    d = {k: (list(v) if isinstance(v, list) else v) for k, v in BASE.items()}
    d.update(changes)
    return d


def test_equal_trees_and_last_digit_differences_pass():
    assert_close_tree(BASE, _with())
    assert_close_tree(BASE, _with(v=[1.0 + 1e-15, math.nextafter(2.5e-10, 1.0), 0.0]))
    assert_close_tree({"a": np.array([1.0, 2.0])}, {"a": [1.0, 2.0 * (1 + 1e-13)]})
    assert_close_tree([math.nan, math.inf], [math.nan, math.inf])


@pytest.mark.parametrize(
    ("other", "where"),
    [
        (_with(v=[1.0, 2.5e-10 * (1 + 1e-6), 0.0]), "$.v[1]: "),
        (_with(v=[1.0, 2.5e-10, 1e-300]), "$.v[2]: "),  # no absolute slack at zero
        (_with(m=[[1e9 * (1 + 1e-11)]]), "$.m[0][0]: "),
        (_with(n=4), "$.n: "),
        (_with(n=3.0), "$.n: int 3 vs float 3.0"),
        (_with(ok=1), "$.ok: bool"),
        (_with(name="y"), "$.name: "),
        (_with(v=[1.0, 2.5e-10]), "$.v: lengths differ"),
        ({k: v for k, v in BASE.items() if k != "none"}, "$: keys differ"),
    ],
)
def test_every_kind_of_real_difference_is_named(other, where):
    diff = close_tree_difference(BASE, other)
    assert diff is not None and diff.startswith(where), diff
    with pytest.raises(AssertionError):
        assert_close_tree(BASE, other)


def test_the_tolerance_is_relative_and_adjustable():
    a, b = {"x": 1.0e-20}, {"x": 1.0e-20 * (1 + 1e-9)}
    with pytest.raises(AssertionError, match="relative difference 1.0e-09"):
        assert_close_tree(a, b)
    assert_close_tree(a, b, rtol=1e-8)
