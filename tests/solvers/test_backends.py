"""Tier 2: one set of known-answer problems run through every registered backend of each role.

The core backends (HiGHS for QPs, IPOPT through cyipopt for NLPs, SCIP for MINLPs) must be
available: if one is not, these tests fail with the registry's reason. Any other backend is
skipped only when the registry says it cannot run here (a licence, or a binary the Makefile
cannot install), and the skip message is the registry's own reason.
"""

from __future__ import annotations

import math

import numpy as np
import pyomo.environ as pyo
import pytest
import scipy.sparse as sp
from scipy.optimize import minimize_scalar

from llmv2x.solvers import registry
from llmv2x.solvers.qp import kkt_residual

CORE = {("qp", "highs"), ("nlp", "cyipopt"), ("minlp", "scip")}


def backend_or_skip(name: str, kind: str):
    """The backend; a core one must be available, any other is skipped with its reason."""
    avail = registry.availability(name, kind)
    if (kind, name) in CORE:
        assert avail, f"core backend unavailable: {avail.describe(name)}"
    elif not avail:
        pytest.skip(avail.describe(name))
    return registry.get_backend(name, kind)


@pytest.mark.parametrize("kind,name", sorted(CORE))
def test_core_backends_are_available(kind, name):
    avail = registry.availability(name, kind)
    assert avail, avail.describe(name)


# ----- QP role ----------------------------------------------------------------------------

#: min 1/2 ||x - c||^2 s.t. x1 + x2 + x3 = 1, 0 <= x <= 0.6, c = (1, 0.5, -1): the projection
#: of c; x = (0.6, 0.4, 0), y = -0.1, z = x - c - y = (-0.3, 0, 1.1) (upper, free, lower).
PROJECTION = {
    "A": sp.csr_matrix(np.ones((1, 3))),
    "b": np.array([1.0]),
    "H": sp.identity(3, format="csc"),
    "g": -np.array([1.0, 0.5, -1.0]),
    "lb": np.zeros(3),
    "ub": np.full(3, 0.6),
    "x": np.array([0.6, 0.4, 0.0]),
    "y": np.array([-0.1]),
    "z": np.array([-0.3, 0.0, 1.1]),
}

#: LP-like: min 1e-6/2 ||x||^2 + (1, 2, 3) x s.t. sum x = 1, 0 <= x <= 2: the cheapest
#: coordinate takes everything; y = 1 + 1e-6, z = g + 1e-6 x - y.
EPS = 1e-6
LP_LIKE = {
    "A": sp.csr_matrix(np.ones((1, 3))),
    "b": np.array([1.0]),
    "H": EPS * sp.identity(3, format="csc"),
    "g": np.array([1.0, 2.0, 3.0]),
    "lb": np.zeros(3),
    "ub": np.full(3, 2.0),
    "x": np.array([1.0, 0.0, 0.0]),
    "y": np.array([1.0 + EPS]),
    "z": np.array([0.0, 1.0 - EPS, 2.0 - EPS]),
}

QPS = {"projection": PROJECTION, "lp_like": LP_LIKE}


@pytest.mark.parametrize("problem", sorted(QPS))
@pytest.mark.parametrize("name", registry.backend_names("qp"))
def test_qp_known_answer_and_multipliers(name, problem):
    backend = backend_or_skip(name, "qp")
    q = QPS[problem]
    session = backend.qp_session(q["A"], q["b"])
    out = session.solve(q["H"], q["g"], q["lb"], q["ub"])
    assert out.ok, out.message
    np.testing.assert_allclose(out.x, q["x"], atol=1e-6)
    np.testing.assert_allclose(out.y, q["y"], atol=1e-6)
    np.testing.assert_allclose(out.z, q["z"], atol=1e-6)
    assert kkt_residual(q["H"], q["g"], q["A"], out) < 1e-6


@pytest.mark.parametrize("name", registry.backend_names("qp"))
def test_qp_session_is_reused_with_new_data(name):
    """Same rows, new H, g and bounds: a session must pick up every change."""
    backend = backend_or_skip(name, "qp")
    rng = np.random.default_rng(7)
    A = sp.csr_matrix(np.array([[1.0, 1.0, 1.0, 1.0, 0.0], [0.0, 1.0, -1.0, 0.0, 2.0]]))
    b = np.array([2.0, 0.5])
    session = backend.qp_session(A, b)
    for _ in range(3):
        M = rng.normal(size=(5, 5))
        H = sp.csc_matrix(M @ M.T + np.eye(5))
        g = rng.normal(size=5)
        lb, ub = -rng.uniform(0.1, 1.0, 5), rng.uniform(0.5, 2.0, 5)
        out = session.solve(H, g, lb, ub)
        assert out.ok, out.message
        np.testing.assert_allclose(A @ out.x, b, atol=1e-7)
        assert np.all(out.x >= lb - 1e-7) and np.all(out.x <= ub + 1e-7)
        assert kkt_residual(H, g, A, out) < 1e-5
        # sign conditions of z at active bounds
        assert np.all(out.z[np.isclose(out.x, lb, atol=1e-7)] >= -1e-6)
        assert np.all(out.z[np.isclose(out.x, ub, atol=1e-7)] <= 1e-6)
        free = ~np.isclose(out.x, lb, atol=1e-5) & ~np.isclose(out.x, ub, atol=1e-5)
        assert np.all(np.abs(out.z[free]) < 1e-5)


# ----- NLP role ---------------------------------------------------------------------------


def convex_nlp() -> pyo.ConcreteModel:
    """max log x + log y s.t. x + 2 y = 4: optimum x = 2, y = 1, objective -log 2."""
    m = pyo.ConcreteModel()
    m.x = pyo.Var(bounds=(1e-6, 10), initialize=3.0)
    m.y = pyo.Var(bounds=(1e-6, 10), initialize=0.2)
    m.obj = pyo.Objective(expr=-pyo.log(m.x) - pyo.log(m.y))
    m.budget = pyo.Constraint(expr=m.x + 2 * m.y == 4)
    return m


@pytest.mark.parametrize("name", registry.backend_names("nlp"))
def test_nlp_known_answer_converged_and_loaded(name):
    backend = backend_or_skip(name, "nlp")
    m = convex_nlp()
    out = backend.solve(m, time_limit=10, options={"tol": 1e-10}, tee=False)
    assert out.status == "converged" and out.has_point, out.message
    assert out.bound is None
    assert pyo.value(m.x) == pytest.approx(2.0, abs=1e-6)
    assert pyo.value(m.y) == pytest.approx(1.0, abs=1e-6)
    assert pyo.value(m.obj) == pytest.approx(-math.log(2.0), abs=1e-9)


@pytest.mark.parametrize("name", registry.backend_names("nlp"))
def test_nlp_options_reach_the_solver(name):
    """An iteration limit of 1 must stop IPOPT early: not converged, reported as such."""
    backend = backend_or_skip(name, "nlp")
    out = backend.solve(convex_nlp(), time_limit=10, options={"max_iter": 1})
    assert out.status not in ("optimal", "converged"), out


# ----- MINLP role -------------------------------------------------------------------------


def double_well() -> pyo.ConcreteModel:
    """min (x^2 - 1)^2 + 0.3 x + (k - 1.6)^2 / 2, x in [-2, 2], k in {0..3}: nonconvex.

    Two local minima in x (near -1 and near +1); the global one is near x = -1.04, k = 2.
    The model starts in the wrong basin (x = 1, k = 0).
    """
    m = pyo.ConcreteModel()
    m.x = pyo.Var(bounds=(-2, 2), initialize=1.0)
    m.k = pyo.Var(within=pyo.Integers, bounds=(0, 3), initialize=0)
    m.obj = pyo.Objective(expr=(m.x**2 - 1) ** 2 + 0.3 * m.x + 0.5 * (m.k - 1.6) ** 2)
    m.cut = pyo.Constraint(expr=m.x + m.k >= -1)
    return m


def double_well_optimum() -> tuple[float, float]:
    """(x*, objective*) by a bounded 1-D search in the left basin, k = 2."""
    res = minimize_scalar(
        lambda x: (x * x - 1) ** 2 + 0.3 * x,
        bounds=(-2, 0),
        method="bounded",
        options={"xatol": 1e-12},
    )
    return float(res.x), float(res.fun) + 0.5 * 0.4**2


@pytest.mark.parametrize("name", registry.backend_names("minlp"))
def test_minlp_known_answer(name):
    backend = backend_or_skip(name, "minlp")
    x_opt, f_opt = double_well_optimum()
    m = double_well()
    out = backend.solve(m, time_limit=20, gap=1e-6, options={}, tee=False)
    assert out.has_point, out.message
    value = pyo.value(m.obj)
    assert value >= f_opt - 1e-6  # a point can never beat the global optimum
    assert pyo.value(m.x) + pyo.value(m.k) >= -1 - 1e-6
    if getattr(backend, "global_solver", False):
        assert out.status == "optimal", out.message
        assert value == pytest.approx(f_opt, abs=1e-5)
        assert pyo.value(m.x) == pytest.approx(x_opt, abs=1e-3)
        assert round(pyo.value(m.k)) == 2
        assert out.bound is not None and out.bound <= f_opt + 1e-6
    else:
        assert out.status in ("converged", "feasible"), out.message
        assert out.bound is None


@pytest.mark.parametrize("name", registry.backend_names("minlp"))
def test_minlp_time_limit_is_honoured(name):
    """A hard instance of the same family with a 2 s limit returns within a few seconds."""
    import time

    backend = backend_or_skip(name, "minlp")
    m = pyo.ConcreteModel()
    m.I = pyo.RangeSet(0, 29)
    m.x = pyo.Var(m.I, bounds=(-2, 2), initialize=1.0)
    m.k = pyo.Var(m.I, within=pyo.Integers, bounds=(0, 5), initialize=0)
    m.obj = pyo.Objective(
        expr=sum(
            (m.x[i] ** 2 - 1) ** 2 * (1 + 0.1 * i) + 0.3 * m.x[i] * m.x[(i + 1) % 30] * m.k[i]
            for i in m.I
        )
    )
    t0 = time.perf_counter()
    out = backend.solve(m, time_limit=2, gap=1e-9, options={}, tee=False)
    assert time.perf_counter() - t0 < 15
    assert out.status in ("optimal", "converged", "feasible", "time_limit", "error"), out
