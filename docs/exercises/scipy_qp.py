"""Exercise 3, reference answer: a QP backend built on SciPy, registered under the name ``scipy``.

The QP role's contract (``llmv2x/solvers/qp.py``): a session with fixed rows A x = b that is
solved many times with new H (positive definite), g and bounds, returning x, the equality
multipliers y and the reduced gradient z with H x + g = A^T y + z. The backend class declares
``name``, ``kind``, ``available()`` (cheap: no import of the solver), ``version()`` and
``qp_session()``; registering it is one entry in ``llmv2x.solvers.registry.BACKENDS``.

The solve is SLSQP followed by an exact *active-set polish*: with the bounds that SLSQP left
active fixed, the equality-constrained QP is one linear KKT system. Its solution is exact to
round-off, and its multipliers have the right signs exactly when it is the QP's optimum.
"""

from __future__ import annotations

import importlib.metadata
from typing import Any

import numpy as np
import scipy.sparse as sp

from llmv2x.solvers.base import Availability, State, module_missing
from llmv2x.solvers.qp import QPOutcome

#: (role, name) and "module:Class", the entry that registers the backend.
REGISTRY_ENTRY = (("qp", "scipy"), "scipy_qp:ScipyQPBackend")


class ScipyQPSession:
    """min 1/2 x'Hx + g'x s.t. A x = b, lb <= x <= ub, solved by SLSQP plus an exact polish."""

    def __init__(self, A_eq: sp.spmatrix, b_eq: np.ndarray, options: dict[str, Any]) -> None:
        self.A = sp.csr_matrix(A_eq).toarray()
        self.b = np.asarray(b_eq, float)
        self.tol = float(options.get("active_tol", 1e-9))
        self.maxiter = int(options.get("maxiter", 500))

    def solve(self, H: sp.spmatrix, g: np.ndarray, lb: np.ndarray, ub: np.ndarray) -> QPOutcome:
        """Solve with Hessian ``H``, gradient ``g`` and bounds ``lb``, ``ub``."""
        from scipy.optimize import Bounds, minimize

        H = sp.csr_matrix(H).toarray()
        g = np.asarray(g, float)
        lb, ub = np.asarray(lb, float), np.asarray(ub, float)
        A, b = self.A, self.b
        x0 = np.clip(np.zeros_like(g), lb, ub)
        res = minimize(
            lambda x: 0.5 * x @ H @ x + g @ x,
            x0,
            jac=lambda x: H @ x + g,
            method="SLSQP",
            bounds=Bounds(lb, ub),
            constraints=[{"type": "eq", "fun": lambda x: A @ x - b, "jac": lambda x: A}],
            options={"ftol": 1e-15, "maxiter": self.maxiter},
        )
        if not np.all(np.isfinite(res.x)):
            return QPOutcome(
                "error", np.zeros_like(g), np.zeros(len(b)), np.zeros_like(g), res.message
            )
        return self._polish(H, g, lb, ub, res.x, str(res.message))

    def _polish(self, H, g, lb, ub, x, message) -> QPOutcome:
        """Re-solve exactly with SLSQP's active bounds fixed; keep it if it is optimal."""
        A, b = self.A, self.b
        span = np.maximum(ub - lb, 1.0)
        at_lo = x - lb <= self.tol * span
        at_hi = (ub - x <= self.tol * span) & ~at_lo
        free = ~(at_lo | at_hi)
        xf = np.where(at_lo, lb, np.where(at_hi, ub, 0.0))
        n_free, m = int(free.sum()), A.shape[0]
        # KKT of the reduced problem:
        # [H_ff -A_f^T; A_f 0] [x_f; y] = [-(g + H_fa x_a); b - A_a x_a]
        K = np.block([[H[np.ix_(free, free)], -A[:, free].T], [A[:, free], np.zeros((m, m))]])
        rhs = np.concatenate(
            [-(g[free] + H[np.ix_(free, ~free)] @ xf[~free]), b - A[:, ~free] @ xf[~free]]
        )
        sol = np.linalg.lstsq(K, rhs, rcond=None)[0]
        xp = xf.copy()
        xp[free] = sol[:n_free]
        y = sol[n_free:]
        z = H @ xp + g - A.T @ y
        inside = np.all(xp >= lb - 1e-12 * span) and np.all(xp <= ub + 1e-12 * span)
        signs_ok = np.all(z[at_lo] >= -1e-9) and np.all(z[at_hi] <= 1e-9)
        if inside and signs_ok:
            z[free] = 0.0
            return QPOutcome("optimal", np.clip(xp, lb, ub), y, z, message + "; polished")
        # fall back to SLSQP's point, with least-squares multipliers on its free variables
        y = np.linalg.lstsq(A[:, free].T, (H @ x + g)[free], rcond=None)[0]
        return QPOutcome("optimal", x, y, H @ x + g - A.T @ y, message)


class ScipyQPBackend:
    """QP role: SciPy's SLSQP with an exact active-set polish (for teaching, not for speed)."""

    name = "scipy"
    kind = "qp"
    description = "SciPy SLSQP plus an exact active-set polish"

    def available(self) -> Availability:
        """Available when SciPy can be found (it is a dependency of llmv2x, so always)."""
        if module_missing("scipy"):
            return Availability(State.NO, "scipy is not installed", "pip install scipy")
        return Availability(State.YES)

    def version(self) -> str:
        """``scipy X.Y.Z``."""
        return f"scipy {importlib.metadata.version('scipy')}"

    def qp_session(
        self, A_eq: sp.spmatrix, b_eq: np.ndarray, options: dict[str, Any] | None = None
    ) -> ScipyQPSession:
        """A QP with fixed rows ``A_eq x = b_eq``."""
        return ScipyQPSession(A_eq, b_eq, options or {})


def register() -> None:
    """Add the backend to the registry (``qp_backend="scipy"`` then works everywhere)."""
    from llmv2x.solvers import registry

    key, target = REGISTRY_ENTRY
    registry.BACKENDS[key] = target
