"""The optimality check that the HiGHS QP session applies to every answer it returns."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from llmv2x.solvers.qp import QPOutcome, optimality_error
from llmv2x.solvers.registry import get_backend


def _qp():
    """min 1/2 (x0^2 + x1^2) - x0 - 3 x1 s.t. x0 + x1 = 1, -1 <= x <= 1: x* = (0, 1)."""
    H = sp.csc_matrix(np.eye(2))
    g = np.array([-1.0, -3.0])
    A = sp.csr_matrix(np.ones((1, 2)))
    return H, g, A, np.array([-1.0, -1.0]), np.array([1.0, 1.0])


def test_optimality_error_is_zero_at_the_solution_and_large_elsewhere():
    H, g, A, lb, ub = _qp()
    # at x* = (0, 1): H x + g = (-1, -2) = A'y + z with y = -1, z = (0, -1) (x1 at ub)
    right = QPOutcome("optimal", np.array([0.0, 1.0]), np.array([-1.0]), np.array([0.0, -1.0]))
    assert optimality_error(H, g, A, lb, ub, right) <= 1e-15
    # a feasible point that a backend could wrongly call optimal (x0 strictly inside, z0 != 0)
    wrong = QPOutcome("optimal", np.array([0.5, 0.5]), np.array([-1.5]), np.array([0.0, -1.0]))
    assert optimality_error(H, g, A, lb, ub, wrong) >= 0.1


def test_highs_session_answers_pass_the_check():
    H, g, A, lb, ub = _qp()
    session = get_backend("highs", "qp").qp_session(A, np.array([1.0]))
    out = session.solve(H, g, lb, ub)
    assert out.ok
    np.testing.assert_allclose(out.x, [0.0, 1.0], atol=1e-9)
    assert optimality_error(H, g, A, lb, ub, out) <= 1e-9
