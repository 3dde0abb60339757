"""The contract of the QP role used by the SQP of sub-problem I.

A QP backend solves, repeatedly and with the same sparsity of constraints,

    min  1/2 x^T H x + g^T x   s.t.  A x = b,  lb <= x <= ub,

with H symmetric positive definite (the SQP checks this before every call). It returns the
primal point and multipliers with the convention

    H x + g = A^T y + z,   z_i >= 0 where x_i = lb_i,  z_i <= 0 where x_i = ub_i,

i.e. ``y`` are the equality multipliers and ``z`` the reduced gradient (HiGHS's col_dual).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
import scipy.sparse as sp


@dataclass(frozen=True)
class QPOutcome:
    """What one QP solve returned. ``status`` is ``optimal`` or a reason it is not."""

    status: str
    x: np.ndarray
    y: np.ndarray
    z: np.ndarray
    message: str = ""

    @property
    def ok(self) -> bool:
        """True when the QP was solved to optimality."""
        return self.status == "optimal"


class QPSession(Protocol):
    """A QP with fixed equality rows A x = b, solved many times with new H, g, lb, ub."""

    def solve(
        self, H: sp.csc_matrix, g: np.ndarray, lb: np.ndarray, ub: np.ndarray
    ) -> QPOutcome:  # pragma: no cover - protocol
        """Solve with Hessian H (symmetric, full), gradient g and bounds lb, ub."""
        ...

    def set_time_limit(self, seconds: float) -> None:  # pragma: no cover - protocol
        """Limit each following ``solve`` to ``seconds`` (the caller's time left)."""
        ...


def kkt_residual(H: sp.spmatrix, g: np.ndarray, A: sp.spmatrix, out: QPOutcome) -> float:
    """Infinity norm of H x + g - A^T y - z: a backend-independent check of the multipliers."""
    r = H @ out.x + g - A.T @ out.y - out.z
    return float(np.max(np.abs(r), initial=0.0))


def optimality_error(
    H: sp.spmatrix,
    g: np.ndarray,
    A: sp.spmatrix,
    lb: np.ndarray,
    ub: np.ndarray,
    out: QPOutcome,
    At: sp.spmatrix | None = None,
) -> float:
    """Largest violation of the QP's optimality conditions by ``out``, relative to ``max |g|``.

    Stationarity H x + g = A^T y + z and the signs of z (z_i = 0 strictly inside the bounds,
    >= 0 at lb, <= 0 at ub), measured as || x - clip(x - (H x + g - A^T y), lb, ub) ||_inf
    at x clipped to its bounds: zero exactly at a solution (the rows A x = b are not
    checked). Used to catch a backend that reports "optimal" at a point that is not
    (HiGHS's QP solver was seen to). ``At``: A transposed, if the caller keeps it.
    """
    x = np.clip(np.asarray(out.x, float), lb, ub)
    grad = H @ x + g - (A.T if At is None else At) @ out.y
    proj = x - np.clip(x - grad, lb, ub)
    scale = max(float(np.max(np.abs(g), initial=0.0)), 1e-300)
    return float(np.max(np.abs(proj), initial=0.0) / scale)
