"""An allocation: values of every decision variable of P1 (10), in SI units."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, eq=False)
class Allocation:
    """(alpha, p, b, f^V, f^R) for every vehicle; ``f_rsu_hz[n]`` is f_{n, association[n]}."""

    alpha: np.ndarray
    p_w: np.ndarray
    b_hz: np.ndarray
    f_vehicle_hz: np.ndarray
    f_rsu_hz: np.ndarray

    def __post_init__(self) -> None:
        for k in ("alpha", "p_w", "b_hz", "f_vehicle_hz", "f_rsu_hz"):
            a = np.array(getattr(self, k), dtype=float, copy=True)
            a.setflags(write=False)
            object.__setattr__(self, k, a)

    def replace(self, **kw: np.ndarray) -> Allocation:
        """A copy with some arrays replaced."""
        d = {k: getattr(self, k) for k in ("alpha", "p_w", "b_hz", "f_vehicle_hz", "f_rsu_hz")}
        d.update(kw)
        return Allocation(**d)
