"""The mutable point the family AO works on (arrays per vehicle, SI units)."""

from __future__ import annotations

import contextlib
import ctypes
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from llmv2x.instances.schema import Instance
from llmv2x.models.allocation import Allocation


@dataclass
class Point:
    """A mutable allocation with its association (arrays per vehicle, SI units)."""

    alpha: np.ndarray
    p: np.ndarray
    b: np.ndarray
    fv: np.ndarray
    fr: np.ndarray
    assoc: np.ndarray

    @classmethod
    def of(cls, alloc: Allocation, instance: Instance) -> Point:
        """A copy of ``alloc`` (the instance's association when it has none)."""
        a = instance.association if alloc.association is None else alloc.association
        return cls(
            *(
                np.array(x, float)
                for x in (alloc.alpha, alloc.p_w, alloc.b_hz, alloc.f_vehicle_hz, alloc.f_rsu_hz)
            ),
            np.array(a, np.int64),
        )

    def copy(self) -> Point:
        """An independent copy."""
        return Point(
            *(np.array(x) for x in (self.alpha, self.p, self.b, self.fv, self.fr, self.assoc))
        )

    def allocation(self) -> Allocation:
        """The point as an Allocation carrying its association."""
        return Allocation(self.alpha, self.p, self.b, self.fv, self.fr, association=self.assoc)


def slsqp(
    fun: Any, x0: np.ndarray, lo: np.ndarray, hi: np.ndarray, constraints: list, maxiter: int
) -> np.ndarray:
    """SciPy's SLSQP on ``fun`` (value and gradient) inside the box [lo, hi]; its point clipped
    back into the box. Every per-RSU step of the family's AO (blocks I and II, the joint
    step) is one such call."""
    from scipy.optimize import minimize

    with np.errstate(all="ignore"), one_blas_thread():
        res = minimize(
            fun,
            np.clip(x0, lo, hi),
            jac=True,
            method="SLSQP",
            bounds=list(zip(lo, hi, strict=True)),
            constraints=constraints,
            options={"maxiter": maxiter, "ftol": 1e-10},
        )
    return np.clip(res.x, lo, hi)


#: (setter, getter) symbol pairs of the OpenBLAS builds NumPy and SciPy wheels load
_OPENBLAS_SYMBOLS = (
    ("scipy_openblas_set_num_threads", "scipy_openblas_get_num_threads"),
    ("scipy_openblas_set_num_threads64_", "scipy_openblas_get_num_threads64_"),
    ("openblas_set_num_threads", "openblas_get_num_threads"),
)


_CONTROLS: list[tuple[Any, Any]] | None = None


def _openblas_controls() -> list[tuple[Any, Any]]:
    """(set, get) thread-count functions of every OpenBLAS loaded in this process (Linux:
    read from /proc/self/maps once SciPy's optimizers are loaded; elsewhere none)."""
    global _CONTROLS
    if _CONTROLS is None:
        import scipy.optimize  # noqa: F401  (loads SciPy's OpenBLAS before the scan)

        _CONTROLS = _find_openblas()
    return _CONTROLS


def _find_openblas() -> list[tuple[Any, Any]]:
    """The scan behind ``_openblas_controls``."""
    maps = Path("/proc/self/maps")
    if not maps.exists():
        return []
    paths = {
        line.split()[-1]
        for line in maps.read_text().splitlines()
        if "openblas" in line.rsplit("/", 1)[-1].lower() and "/" in line
    }
    out = []
    for path in sorted(paths):
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for set_name, get_name in _OPENBLAS_SYMBOLS:
            if hasattr(lib, set_name) and hasattr(lib, get_name):
                setter, getter = getattr(lib, set_name), getattr(lib, get_name)
                setter.argtypes, setter.restype, getter.restype = [ctypes.c_int], None, ctypes.c_int
                out.append((setter, getter))
                break
    return out


@contextlib.contextmanager
def one_blas_thread() -> Iterator[None]:
    """Run the block with OpenBLAS on one thread, then restore its thread counts.

    SLSQP's subproblems here have tens of variables; OpenBLAS's worker threads cost more
    than they save on them, and far more when other processes load the cores (a 20-vehicle
    family AO took 45 s on two loaded cores with the default threads, 6 s with one). Does
    nothing where no OpenBLAS is found.
    """
    controls = _openblas_controls()
    before = [get() for _, get in controls]
    for setter, _ in controls:
        setter(1)
    try:
        yield
    finally:
        for (setter, _), n in zip(controls, before, strict=True):
            setter(n)
