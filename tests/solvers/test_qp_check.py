"""The optimality check that the HiGHS QP session applies to every answer it returns."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from llmv2x.solvers.qp import QPOutcome, optimality_error
from llmv2x.solvers.registry import get_backend
from llmv2x.solvers.sqp_qp import solve_unit_gradient


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


def test_highs_session_recovers_from_a_solve_error():
    """A QP on which HiGHS says "Solve error" (2.3e-5 of primal infeasibility after claiming
    optimality): the session's retries return an answer that passes the optimality check."""
    raw = json.loads((Path(__file__).parent / "data" / "highs_solve_error_qp.json").read_text())

    def arr(xs):
        return np.array([float.fromhex(x) for x in xs])

    h = raw["H"]
    H = sp.csc_matrix((arr(h["data"]), (h["row"], h["col"])), shape=(h["n"], h["n"]))
    g, lb, ub = arr(raw["g"]), arr(raw["lb"]), arr(raw["ub"])
    A = sp.csr_matrix(arr(raw["A"])[None, :])
    backend = get_backend("highs", "qp")
    plain = backend.qp_session(A, np.zeros(1), {"retry": False}).solve(H, g, lb, ub)
    assert plain.status == "error"  # the HiGHS behaviour the retries work around
    out = backend.qp_session(A, np.zeros(1)).solve(H, g, lb, ub)
    assert out.ok
    assert optimality_error(H, g, A, lb, ub, out) <= 1e-6
    assert np.all(out.x >= lb - 1e-9) and np.all(out.x <= ub + 1e-9)
    assert abs(float((A @ out.x)[0])) <= 1e-4


def test_small_gradient_qp_is_solved_once_its_objective_is_scaled():
    """A step QP whose gradient is ~1e-4 (the SQP's end on 10,000 vehicles): HiGHS hits its
    iteration limit on it as given, and solves it once ``solve_unit_gradient`` scales it."""
    raw = json.loads((Path(__file__).parent / "data" / "highs_small_gradient_qp.json").read_text())

    def arr(xs):
        return np.array([float.fromhex(x) for x in xs])

    h, a = raw["H"], raw["A"]
    H = sp.csc_matrix((arr(h["data"]), (h["row"], h["col"])), shape=(h["n"], h["n"]))
    A = sp.csr_matrix((arr(a["data"]), (a["row"], a["col"])), shape=(a["m"], h["n"]))
    g, lb, ub = arr(raw["g"]), arr(raw["lb"]), arr(raw["ub"])
    backend = get_backend("highs", "qp")
    plain = backend.qp_session(A, np.zeros(a["m"])).solve(H, g, lb, ub)
    assert not plain.ok
    out = solve_unit_gradient(backend.qp_session(A, np.zeros(a["m"])), H, g, lb, ub)
    assert out.ok
    assert optimality_error(H, g, A, lb, ub, out) <= 1e-6
    np.testing.assert_allclose(A @ out.x, 0.0, atol=1e-9)
