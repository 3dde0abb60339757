"""Checking a result dictionary, from JSON or the ``.npz`` container (docs/result-format.md).

The five per-vehicle arrays are checked with NumPy, not value by value in Python: a result
of a million vehicles is read in a fraction of a second after parsing. Every refusal is one
line naming the field and, for an array, the first bad index (``p_w[3]: ...``).
"""

from __future__ import annotations

import json
import math
import sys
from typing import Any

import numpy as np

from llmv2x.errors import ResultError

FORMAT = "llmv2x-result/2"
#: the first format, still read: no ``problem`` (P1) and no ``association`` (the instance's)
FORMAT_1 = "llmv2x-result/1"
STATUSES = ("optimal", "converged", "feasible", "time_limit", "infeasible", "error")
#: the per-vehicle arrays, in file order
ARRAYS = ("alpha", "p_w", "b_hz", "f_vehicle_hz", "f_rsu_hz")
#: the fields of format 2, in file order
FIELDS = (
    "format",
    "instance",
    "method",
    "objective_variant",
    "omega_t",
    "problem",
    "status",
    "objective",
    "lower_bound",
    *ARRAYS,
    "association",
    "metrics",
    "solve_time_s",
    "solvers",
    "iterations",
)
#: the fields of format 1
FIELDS_1 = tuple(k for k in FIELDS if k not in ("problem", "association"))


def show(v: Any, limit: int = 40) -> str:
    """``v`` as JSON (or repr), cut to ``limit`` characters, for a one-line message."""
    try:
        text = json.dumps(v)
    except (TypeError, ValueError):
        text = repr(v)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _repr(v: Any, limit: int = 40) -> str:
    text = repr(v)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def number(v: Any, where: str, *, nullable: bool = False, integer: bool = False) -> Any:
    """A JSON number of a result field as a float, or ResultError naming the field."""
    if v is None and nullable:
        return None
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, float, np.integer, np.floating)):
        bad = True
    else:
        bad = integer and not (
            isinstance(v, (int, np.integer)) or (math.isfinite(v) and v == int(v))
        )
    if bad:
        kind = "an integer" if integer else "a number"
        raise ResultError(f"{where}: expected {kind}, got {show(v)}")
    try:
        out = float(v)
    except OverflowError:
        raise ResultError(f"{where}: number too large") from None
    if not math.isfinite(out):
        raise ResultError(f"{where}: {v} is not finite")
    return out


def _is_number_type(t: type) -> bool:
    return issubclass(t, (int, float, np.integer, np.floating)) and not issubclass(
        t, (bool, np.bool_)
    )


def vector(v: Any, where: str) -> np.ndarray:
    """One result array (a JSON list or a 1-d NumPy array of numbers) as float64, checked.

    A float64 input comes back as it is, not copied (``Allocation`` copies it).

    The element types are collected in C (``set(map(type, v))``) and the values checked with
    ``np.isfinite``; only an error is located with a Python loop.
    """
    if isinstance(v, np.ndarray):
        if v.ndim != 1 or v.dtype.kind not in "iuf":
            raise ResultError(
                f"{where}: expected a 1-d array of numbers, got dtype {v.dtype} shape {v.shape}"
            )
        a = v.astype(np.float64, copy=False)  # Allocation makes the one private copy
    elif isinstance(v, list):
        types = set(map(type, v))
        if not types <= {int, float} and not all(map(_is_number_type, types)):
            i = next(i for i, x in enumerate(v) if not _is_number_type(type(x)))
            raise ResultError(f"{where}[{i}]: expected a number, got {show(v[i])}")
        try:
            a = np.array(v, dtype=np.float64)
        except OverflowError:  # an integer beyond a double (only from a Python dictionary)
            i = next(i for i, x in enumerate(v) if abs(x) > sys.float_info.max)
            raise ResultError(f"{where}[{i}]: number too large") from None
    else:
        raise ResultError(f"{where}: expected a list of numbers, got {type(v).__name__}")
    bad = np.flatnonzero(~np.isfinite(a))
    if bad.size:
        i = int(bad[0])
        raise ResultError(f"{where}[{i}]: {a[i]} is not finite")
    return a


def int_vector(v: Any, where: str, n: int) -> np.ndarray:
    """The ``association`` array: ``n`` non-negative integers (a list or a NumPy array)."""
    if isinstance(v, np.ndarray) and v.dtype.kind in "iu":
        a = v.astype(np.int64, copy=False)
        if a.ndim != 1:
            raise ResultError(f"{where}: expected a 1-d array of integers, got shape {a.shape}")
    else:
        if isinstance(v, list) and not set(map(type, v)) <= {int}:
            i = next(i for i, x in enumerate(v) if type(x) is not int)
            raise ResultError(f"{where}[{i}]: expected an RSU index, got {show(v[i])}")
        if not isinstance(v, list):
            raise ResultError(f"{where}: expected a list of RSU indices, got {type(v).__name__}")
        try:
            a = np.array(v, dtype=np.int64)
        except OverflowError:
            raise ResultError(f"{where}: an RSU index is too large") from None
    if len(a) != n:
        raise ResultError(f"{where}: {len(a)} entries, alpha has {n}")
    bad = np.flatnonzero(a < 0)
    if bad.size:
        raise ResultError(f"{where}[{int(bad[0])}]: {int(a[bad[0]])} is not an RSU index")
    return a


def check_fields(d: Any) -> dict[str, Any]:
    """The checked fields of a result dictionary: arrays as float64, numbers as floats.

    Raises ResultError (one line naming the field) on anything docs/result-format.md does
    not allow. Format 1 is read as P1 (``problem`` default) on the instance's association;
    ``association`` is returned among the arrays (None: the instance's).
    """
    from llmv2x.problem import Problem

    if not isinstance(d, dict):
        raise ResultError("result: expected a JSON object")
    if str(d.get("format", "")).startswith("llmv2x-instance"):
        raise ResultError("format: this looks like an instance file, not a result file")
    fields = FIELDS_1 if d.get("format") == FORMAT_1 else FIELDS
    for k in fields:
        if k not in d:
            raise ResultError(f"{k}: missing field")
    for k in d:
        if k not in fields:
            raise ResultError(f"{k}: unknown field")
    if d["format"] not in (FORMAT, FORMAT_1):
        raise ResultError(
            f"format: expected {FORMAT!r} (or {FORMAT_1!r}), got {_repr(d['format'])}"
        )
    problem = Problem() if "problem" not in d else Problem.from_dict(d["problem"], ResultError)
    for k in ("instance", "method", "objective_variant"):
        if not isinstance(d[k], str):
            raise ResultError(f"{k}: expected a string, got {type(d[k]).__name__}")
    if d["status"] not in STATUSES:
        raise ResultError(f"status: {_repr(d['status'])} is not one of {', '.join(STATUSES)}")
    arrays = {k: vector(d[k], k) for k in ARRAYS}
    n = len(arrays["alpha"])
    for k in ARRAYS[1:]:
        if len(arrays[k]) != n:
            raise ResultError(
                f"{k}: {len(arrays[k])} entries, alpha has {n} "
                f"({', '.join(ARRAYS)}: lists of equal length)"
            )
    association = d.get("association")
    if association is not None:
        association = int_vector(association, "association", n) if n else None
    if arrays is not None and n:
        arrays["association"] = association
    for k in ("metrics", "solvers"):
        if d[k] is not None and not isinstance(d[k], dict):
            raise ResultError(f"{k}: expected an object, got {type(d[k]).__name__}")
    return {
        "instance": d["instance"],
        "method": d["method"],
        "objective_variant": d["objective_variant"],
        "omega_t": number(d["omega_t"], "omega_t"),
        "status": d["status"],
        "objective": number(d["objective"], "objective", nullable=True),
        "lower_bound": number(d["lower_bound"], "lower_bound", nullable=True),
        "arrays": arrays if n else None,
        "metrics": {str(k): number(v, f"metrics.{k}") for k, v in (d["metrics"] or {}).items()},
        "solve_time_s": number(d["solve_time_s"], "solve_time_s"),
        "solvers": {str(k): str(v) for k, v in (d["solvers"] or {}).items()},
        "iterations": int(number(d["iterations"], "iterations", integer=True)),
        "problem": problem,
    }
