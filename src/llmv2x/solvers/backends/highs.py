"""HiGHS through highspy: the default backend of the QP role (SQP steps of sub-problem I).

One ``highspy.Highs`` object is kept per SQP run: the equality rows are passed once and each
iteration only changes the Hessian, the gradient and the bounds (a persistent session).
HiGHS checks only the signs of a QP's diagonal, so the SQP verifies positive definiteness
itself before calling ``HighsQPSession.solve``.

A QP on which HiGHS fails is retried, first in Jacobi-scaled variables u = x / d,
d_i = 1/sqrt(H_ii) (HiGHS then sees a Hessian with unit diagonal; the answer is mapped back:
x = d u, the row duals unchanged, the column duals divided by d), then as given with the
primal feasibility tolerance raised to 1e-4. On ``large`` the SQP's step QPs (Hessian diagonal
from 4e-3 to 3e4 after the eigenvalue modification) ended in the QP iteration limit, which
the scaled retry solves in tens of iterations, or in "Solve error" (a primal infeasibility of
5e-6 found after HiGHS claimed optimality; 2.3e-5 on a well-conditioned 30-variable QP of a
10,000-vehicle instance), which the loose retry accepts when the answer passes the
optimality check; the SQP's ``restore`` removes such a drift of the row. Scaling is not the
first try: on well-scaled QPs HiGHS was seen to stop early in scaled variables (a zero step
where the step to a bound was optimal).
"""

from __future__ import annotations

import importlib.metadata
import os
import sys
from typing import Any

import numpy as np
import scipy.sparse as sp

from llmv2x.errors import BackendUnavailable
from llmv2x.solvers.base import Availability, State, module_missing
from llmv2x.solvers.qp import QPOutcome, optimality_error

#: Primal feasibility tolerance of the last retry of a QP that HiGHS failed on (``solve``).
LOOSE_PRIMAL_TOL = 1e-4
#: Largest optimality error (``llmv2x.solvers.qp.optimality_error``) of an accepted answer.
QP_CHECK_TOL = 1e-6

#: HiGHS model status (name) -> QP outcome status.
STATUS_MAP = {
    "kOptimal": "optimal",
    "kInfeasible": "infeasible",
    "kUnbounded": "unbounded",
    "kUnboundedOrInfeasible": "infeasible",
    "kTimeLimit": "time_limit",
    "kIterationLimit": "iteration_limit",
}


def new_highs() -> Any:
    """A ``highspy.Highs`` object, created with the C-level stdout silenced.

    highspy prints a banner from C++ on the first construction, which would pollute the CLI's
    output (``llmv2x evaluate`` prints JSON); options can only silence it afterwards.
    """
    import highspy

    sys.stdout.flush()
    saved = os.dup(1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        h = highspy.Highs()
    finally:
        os.dup2(saved, 1)
        os.close(saved)
        os.close(devnull)
    h.setOptionValue("output_flag", False)
    return h


class HighsBackend:
    """QP role: convex QPs with HiGHS's interior/active-set QP solver via highspy."""

    name = "highs"
    kind = "qp"
    description = "HiGHS QP solver through highspy (persistent session)"

    def available(self) -> Availability:
        """Available when highspy can be imported."""
        if module_missing("highspy"):
            return Availability(State.NO, "highspy is not installed", "pip install highspy")
        return Availability(State.YES)

    def version(self) -> str:
        """``highs X.Y.Z``."""
        return f"highs {importlib.metadata.version('highspy')}"

    def qp_session(
        self, A_eq: sp.spmatrix, b_eq: np.ndarray, options: dict[str, Any] | None = None
    ) -> HighsQPSession:
        """A persistent QP with fixed rows ``A_eq x = b_eq``."""
        if not self.available():
            raise BackendUnavailable(self.available().describe(self.name))
        return HighsQPSession(A_eq, b_eq, options or {})


class HighsQPSession:
    """min 1/2 x'Hx + g'x s.t. A x = b, lb <= x <= ub, re-solved with new H, g, lb, ub."""

    def __init__(self, A_eq: sp.spmatrix, b_eq: np.ndarray, options: dict[str, Any]) -> None:
        import highspy

        self._hs = highspy
        A = sp.csc_matrix(A_eq)
        self.n = A.shape[1]
        self.m = A.shape[0]
        h = new_highs()
        h.setOptionValue("output_flag", bool(options.get("verbose", False)))
        # HiGHS's active-set QP solver has no iteration limit by default and was seen to
        # cycle on a degenerate step QP; a bounded call lets the SQP shrink its region instead
        h.setOptionValue("qp_iteration_limit", int(options.get("qp_iteration_limit", 20000)))
        # HiGHS measures time_limit on a clock that runs across every run() of this object, so
        # the limit is re-armed before each solve (see solve())
        self._time_limit = float(options.get("time_limit", 30.0))
        for key, value in options.items():
            if key in ("verbose", "qp_iteration_limit", "time_limit", "retry"):
                continue
            h.setOptionValue(key, value)
        lp = highspy.HighsLp()
        lp.num_col_ = self.n
        lp.num_row_ = self.m
        lp.col_cost_ = np.zeros(self.n)
        lp.col_lower_ = np.full(self.n, -np.inf)
        lp.col_upper_ = np.full(self.n, np.inf)
        lp.row_lower_ = np.asarray(b_eq, float)
        lp.row_upper_ = np.asarray(b_eq, float)
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.start_ = A.indptr.astype(np.int32)
        lp.a_matrix_.index_ = A.indices.astype(np.int32)
        lp.a_matrix_.value_ = A.data.astype(float)
        lp.a_matrix_.num_col_ = self.n
        lp.a_matrix_.num_row_ = self.m
        h.passModel(lp)
        self._h = h
        self._idx = np.arange(self.n, dtype=np.int32)
        self._A = A
        self._At = sp.csr_matrix(A.T)
        self._A_rows = A.indices.astype(np.int32)
        self._A_cols = np.repeat(np.arange(self.n, dtype=np.int32), np.diff(A.indptr))
        #: retry a failed QP scaled, then with a looser primal tolerance (see ``solve``)
        self._retry = bool(options.get("retry", True))
        self._scaled_cols: np.ndarray | None = None
        self._lower_cache: tuple[np.ndarray, np.ndarray, Any] | None = None
        tol = h.getOptionValue("primal_feasibility_tolerance")
        # highspy returns (status, value) in some versions and the value in others
        self._primal_tol = float(tol[-1] if isinstance(tol, tuple) else tol)

    def set_time_limit(self, seconds: float) -> None:
        """Limit the next solves to ``seconds`` each (the caller's time left)."""
        self._time_limit = float(seconds)

    def solve(self, H: sp.spmatrix, g: np.ndarray, lb: np.ndarray, ub: np.ndarray) -> QPOutcome:
        """Solve with the current Hessian ``H`` (symmetric), gradient ``g`` and bounds.

        An answer is accepted when HiGHS says optimal and its optimality error
        (``llmv2x.solvers.qp.optimality_error``) is at most ``QP_CHECK_TOL``. Otherwise the
        same QP is retried in Jacobi-scaled variables, then with a looser primal feasibility
        tolerance (see the module's docstring); status ``error`` when none is accepted.
        """
        H = sp.csc_matrix(H)
        g, lb, ub = (np.asarray(a, float) for a in (g, lb, ub))
        attempts: list[tuple[np.ndarray | None, bool]] = [(None, False)]
        if self._retry:
            diag = H.diagonal()
            d = np.where(diag > 0, 1.0 / np.sqrt(np.where(diag > 0, diag, 1.0)), 1.0)
            attempts += [(d, False), (None, True)]
        out = None
        for scale, loose in attempts:
            out = self._run(H, g, lb, ub, scale, loose)
            if out.status == "time_limit":
                return out
            if out.ok:
                err = optimality_error(H, g, self._A, lb, ub, out, self._At)
                if err <= QP_CHECK_TOL:
                    return out
                out = QPOutcome(
                    "error", out.x, out.y, out.z, f"HiGHS said optimal, optimality error {err:.1e}"
                )
        return out

    def _lower(self, H: sp.csc_matrix) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(start, index, mask) of the lower triangle of the CSC matrix ``H`` (rows sorted in
        each column): its entries are ``H.data[mask]``. The SQP passes the same pattern at
        every iteration, so it is computed once per pattern."""
        if not H.has_sorted_indices:
            H.sort_indices()
        cached = self._lower_cache
        if (
            cached is not None
            and np.array_equal(cached[0], H.indptr)
            and np.array_equal(cached[1], H.indices)
        ):
            return cached[2]
        cols = np.repeat(np.arange(self.n), np.diff(H.indptr))
        mask = H.indices >= cols
        start = np.concatenate([[0], np.cumsum(np.bincount(cols[mask], minlength=self.n))])
        out = (start.astype(np.int32), H.indices[mask].astype(np.int32), mask)
        self._lower_cache = (H.indptr.copy(), H.indices.copy(), out)
        return out

    def _set_scale(self, d: np.ndarray | None) -> None:
        """Columns of the row matrix multiplied by ``d`` (None: the matrix as given)."""
        if d is None and self._scaled_cols is None:
            return
        values = self._A.data * (1.0 if d is None else d[self._A_cols])
        for r, c, v in zip(self._A_rows, self._A_cols, values, strict=True):
            self._h.changeCoeff(int(r), int(c), float(v))
        self._scaled_cols = d

    def _run(
        self,
        H: sp.csc_matrix,
        g: np.ndarray,
        lb: np.ndarray,
        ub: np.ndarray,
        d: np.ndarray | None,
        loose: bool,
    ) -> QPOutcome:
        """One HiGHS run on the QP in variables u = x / d (d None: x itself)."""
        hs, h = self._hs, self._h
        self._set_scale(d)
        if d is not None:
            H = sp.csc_matrix(sp.diags(d) @ H @ sp.diags(d))
            g, lb, ub = g * d, lb / d, ub / d
        if loose:
            h.setOptionValue("primal_feasibility_tolerance", LOOSE_PRIMAL_TOL)
        start, index, mask = self._lower(H)
        hess = hs.HighsHessian()
        hess.dim_ = self.n
        hess.format_ = hs.HessianFormat.kTriangular
        hess.start_ = start
        hess.index_ = index
        hess.value_ = H.data[mask].astype(float)
        h.passHessian(hess)
        h.changeColsCost(self.n, self._idx, g)
        h.changeColsBounds(self.n, self._idx, lb, ub)
        h.setOptionValue("time_limit", h.getRunTime() + self._time_limit)
        h.run()
        if loose:
            h.setOptionValue("primal_feasibility_tolerance", self._primal_tol)
        status_name = h.modelStatusToString(h.getModelStatus())
        native = str(h.getModelStatus()).split(".")[-1]
        status = STATUS_MAP.get(native, "error")
        sol = h.getSolution()
        x = np.array(sol.col_value, float)
        if status != "optimal" or x.shape != (self.n,):
            return QPOutcome(
                status, np.zeros(self.n), np.zeros(self.m), np.zeros(self.n), status_name
            )
        scale = np.ones(self.n) if d is None else d
        return QPOutcome(
            "optimal",
            x * scale,
            np.array(sol.row_dual, float),
            np.array(sol.col_dual, float) / scale,
            status_name,
        )
