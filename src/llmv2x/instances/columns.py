"""Parsed JSON lists to NumPy columns, fast when every entry has the right type.

The common case (every entry an ``int`` or ``float``) is one C-level pass (``set(map(type,
...))``) and one ``np.array``; only a list with a wrong entry is walked in Python, to name
the first one.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from llmv2x.errors import InstanceError
from llmv2x.instances.validate import fmt_value
from llmv2x.jsonio import json_kind

_NUMBER = frozenset({int, float})
_NULLABLE = frozenset({int, float, type(None)})
_INDEX = frozenset({int})


def json_list(values: Any, where: str, length: int | None = None) -> list[Any]:
    """``values`` if it is a list (of ``length`` entries), else an InstanceError at ``where``."""
    if not isinstance(values, list):
        raise InstanceError(f"{where}: expected a list, got {json_kind(values)}")
    if length is not None and len(values) != length:
        raise InstanceError(f"{where}: expected {length} entries, got {len(values)}")
    return values


def json_column(
    values: list[Any],
    path: Callable[[int], str],
    *,
    index: bool = False,
    nullable: bool = False,
    what: str = "a number",
) -> np.ndarray:
    """A list of JSON numbers as float64 (int64 when ``index``); null is NaN when ``nullable``.

    ``path(i)`` names entry i in messages. Booleans, strings and (for an index) floats are
    refused, as is an integer too large for a double; range rules are ``validate``'s.
    """
    allowed = _INDEX if index else _NULLABLE if nullable else _NUMBER
    dtype = np.int64 if index else np.float64
    if set(map(type, values)) <= allowed:
        try:
            return np.array(values, dtype=dtype)
        except OverflowError:
            pass
    for i, v in enumerate(values):
        if v is None and nullable:
            continue
        if isinstance(v, bool) or not isinstance(v, (float, int) if not index else int):
            raise InstanceError(f"{path(i)}: expected {what}, got {fmt_value(v)}")
        if isinstance(v, int) and not index:
            try:
                math.isfinite(v)
            except OverflowError:
                raise InstanceError(f"{path(i)}: integer too large to be a finite number") from None
        if index and not -(2**63) <= v < 2**63:
            raise InstanceError(f"{path(i)}: {fmt_value(v)[:24]} is out of range")
    if nullable:
        return np.array([np.nan if v is None else v for v in values], dtype=dtype)
    return np.array(values, dtype=dtype)
