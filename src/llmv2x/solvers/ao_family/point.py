"""The mutable point the family AO works on (arrays per vehicle, SI units)."""

from __future__ import annotations

from dataclasses import dataclass
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

    with np.errstate(all="ignore"):
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
