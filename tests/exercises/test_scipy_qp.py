"""Exercise 3: a QP backend of one's own, registered and used by AO."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

import llmv2x
from llmv2x.solvers import registry
from llmv2x.solvers.qp import kkt_residual


@pytest.fixture
def scipy_backend(monkeypatch):
    import scipy_qp

    key, target = scipy_qp.REGISTRY_ENTRY
    monkeypatch.setitem(registry.BACKENDS, key, target)
    monkeypatch.setattr(registry, "_LOADED", {})
    return scipy_qp


def test_registered_backend_is_listed_and_available(scipy_backend):
    assert "scipy" in registry.backend_names("qp")
    assert "scipy" in registry.installed_backends("qp")
    assert any(r["name"] == "scipy" and r["state"] == "yes" for r in registry.availability_rows())


def test_known_answer_qp_matches_highs_with_multipliers(scipy_backend):
    rng = np.random.default_rng(1)
    n = 9
    M = rng.normal(size=(n, n))
    H = sp.csc_matrix(M @ M.T + n * np.eye(n))
    g = rng.normal(size=n) * 10
    A = sp.csc_matrix(np.kron(np.eye(3), np.ones(3)))
    b = np.zeros(3)
    lb, ub = -np.full(n, 0.3), np.full(n, 0.3)
    sols = {}
    for name in ("highs", "scipy"):
        session = registry.get_backend(name, "qp").qp_session(A, b, {})
        out = session.solve(H, g, lb, ub)
        assert out.ok
        assert kkt_residual(H, g, A, out) < 1e-6  # HiGHS: ~3e-8 here
        sols[name] = out
    assert np.allclose(sols["scipy"].x, sols["highs"].x, atol=1e-7)
    # some bounds are active (a solver's point: to a tolerance, not bit for bit)
    assert np.any(np.isclose(np.abs(sols["scipy"].x), 0.3, rtol=0.0, atol=1e-9))
    assert np.allclose(sols["scipy"].z, sols["highs"].z, atol=1e-6)


def test_ao_with_the_new_backend_reaches_the_same_objective(scipy_backend, tutorial_instance):
    ours = llmv2x.solve(tutorial_instance, method="ao", qp_backend="scipy")
    ref = llmv2x.solve(tutorial_instance, method="ao", qp_backend="highs")
    assert ours.solvers["qp"].startswith("scipy ")
    assert ours.objective == pytest.approx(ref.objective, rel=1e-9)
