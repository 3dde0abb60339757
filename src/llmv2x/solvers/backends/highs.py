"""HiGHS through highspy: the default backend of the QP role (SQP steps of sub-problem I).

One ``highspy.Highs`` object is kept per SQP run: the equality rows are passed once and each
iteration only changes the Hessian, the gradient and the bounds (a persistent session).
HiGHS checks only the signs of a QP's diagonal, so the SQP verifies positive definiteness
itself before calling ``HighsQPSession.solve``.
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
from llmv2x.solvers.qp import QPOutcome

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
            if key in ("verbose", "qp_iteration_limit", "time_limit"):
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

    def set_time_limit(self, seconds: float) -> None:
        """Limit the next solves to ``seconds`` each (the caller's time left)."""
        self._time_limit = float(seconds)

    def solve(self, H: sp.spmatrix, g: np.ndarray, lb: np.ndarray, ub: np.ndarray) -> QPOutcome:
        """Solve with the current Hessian ``H`` (symmetric), gradient ``g`` and bounds."""
        hs, h = self._hs, self._h
        L = sp.tril(sp.csc_matrix(H)).tocsc()
        L.sort_indices()
        hess = hs.HighsHessian()
        hess.dim_ = self.n
        hess.format_ = hs.HessianFormat.kTriangular
        hess.start_ = L.indptr.astype(np.int32)
        hess.index_ = L.indices.astype(np.int32)
        hess.value_ = L.data.astype(float)
        h.passHessian(hess)
        h.changeColsCost(self.n, self._idx, np.asarray(g, float))
        h.changeColsBounds(self.n, self._idx, np.asarray(lb, float), np.asarray(ub, float))
        h.setOptionValue("time_limit", h.getRunTime() + self._time_limit)
        h.run()
        status_name = h.modelStatusToString(h.getModelStatus())
        native = str(h.getModelStatus()).split(".")[-1]
        status = STATUS_MAP.get(native, "error")
        sol = h.getSolution()
        x = np.array(sol.col_value, float)
        if status != "optimal" or x.shape != (self.n,):
            return QPOutcome(
                status, np.zeros(self.n), np.zeros(self.m), np.zeros(self.n), status_name
            )
        return QPOutcome(
            "optimal",
            x,
            np.array(sol.row_dual, float),
            np.array(sol.col_dual, float),
            status_name,
        )
