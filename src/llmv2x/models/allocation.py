"""An allocation: values of every decision variable of P1 (10), in SI units."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

_ARRAYS = ("alpha", "p_w", "b_hz", "f_vehicle_hz", "f_rsu_hz")


@dataclass(frozen=True, eq=False)
class Allocation:
    """(alpha, p, b, f^V, f^R) for every vehicle; ``f_rsu_hz[n]`` is f_{n, association[n]}.

    ``association`` is the RSU each vehicle uses (integers); None means the instance's own
    association (docs/formulation.md#problem-variants).
    """

    alpha: np.ndarray
    p_w: np.ndarray
    b_hz: np.ndarray
    f_vehicle_hz: np.ndarray
    f_rsu_hz: np.ndarray
    association: np.ndarray | None = None

    def __post_init__(self) -> None:
        for k in _ARRAYS:
            a = np.array(getattr(self, k), dtype=float, copy=True)
            a.setflags(write=False)
            object.__setattr__(self, k, a)
        if self.association is not None:
            raw = np.asarray(self.association)
            if raw.dtype.kind not in "iu" and not (
                raw.dtype.kind == "f" and np.all(np.isfinite(raw)) and np.all(raw == np.round(raw))
            ):
                raise ValueError("association: expected integer RSU indices")
            a = np.array(raw, dtype=np.int64, copy=True)
            a.setflags(write=False)
            object.__setattr__(self, "association", a)

    def replace(self, **kw: Any) -> Allocation:
        """A copy with some arrays (or the association) replaced."""
        d = {k: getattr(self, k) for k in (*_ARRAYS, "association")}
        d.update(kw)
        return Allocation(**d)
