"""Loose oracle calls of the certified dual (docs/exact.md, "The per-RSU dual"): the early
Kelley steps call the row oracle at a loose tolerance; their bounds must stay valid."""

from __future__ import annotations

import numpy as np
import pytest

import llmv2x
from llmv2x.instances import generate_instance
from llmv2x.problem import Problem
from llmv2x.settings import SolveSettings
from llmv2x.solvers.certify.dual import Groups, maximise
from llmv2x.solvers.certify.oracle import Rows, row_oracle
from llmv2x.solvers.certify.primal import budgets

FULL = Problem(budgets="inequality", deadlines=True, energy_budgets=True)


@pytest.mark.parametrize("eps", [1e-5, 1e-3])
def test_loose_oracle_lower_is_below_the_tight_point(eps):
    """At a loose ``eps`` every row's lower bound is still at most the value of the tight
    call's feasible point (so at most the row's minimum), and its own gap is about eps."""
    inst = generate_instance(
        seed=4, vehicles=8, rsus=3, deadline_tightness=1.3, energy_tightness=1.1
    )
    s = SolveSettings()
    rows = Rows.fixed(inst, FULL)
    rng = np.random.default_rng(4)
    sigma = rng.uniform(-2e-9, 2e-9, len(rows))
    lam = rng.uniform(0.0, 5e-7, len(rows))
    tight = row_oracle(inst, s, FULL, rows, sigma, lam)
    loose = row_oracle(inst, s, FULL, rows, sigma, lam, eps=eps)
    ok = np.isfinite(tight.upper)
    assert ok.all()
    assert np.all(loose.lower <= tight.upper + 1e-12 * np.abs(tight.upper))
    assert np.all(tight.lower <= loose.upper + 1e-12 * np.abs(loose.upper))
    assert np.all(loose.upper - loose.lower <= 2.0 * eps * np.abs(loose.upper))


def test_dual_with_loose_steps_reaches_its_tolerance():
    """The dual's bound (loose steps first, tight at the end) is within its tolerance of
    the master's estimate, and below a feasible point's value (weak duality)."""
    inst = generate_instance(
        seed=5, vehicles=8, rsus=2, deadline_tightness=1.6, energy_tightness=1.1
    )
    s = SolveSettings()
    prob = Problem(budgets="equality", deadlines=True, energy_budgets=True)
    rows = Rows.fixed(inst, prob)
    served = np.unique(rows.rsu)
    group = np.searchsorted(served, rows.rsu)
    f_b, b_b = budgets(inst, served)
    groups = Groups(rows, group, f_b, b_b, free_sigma=True)
    tol = 1e-7
    st = maximise(inst, s, prob, groups, tol=tol, maxit=200)
    assert np.all(np.isfinite(st.bound))
    assert np.all(st.estimate - st.bound <= tol * np.abs(st.bound) + 1e-12)
    res = llmv2x.solve(inst, method="exact", budgets="equality", time_limit=30)
    assert res.objective is not None
    assert float(np.sum(st.bound)) <= res.objective * (1.0 + 1e-9)
