"""Exercise 2: budgets (10c), (10e) as inequalities; the frequency sink disappears."""

from __future__ import annotations

import numpy as np
import pyomo.environ as pyo
import pytest
from scipy.optimize import minimize

import llmv2x
from llmv2x.models.constants import F_RSU_FLOOR_HZ
from llmv2x.models.evaluator import cost_terms, rsu_layer_cost
from llmv2x.models.p1 import set_model_values
from llmv2x.solvers.registry import get_backend


@pytest.fixture(scope="module")
def ib():
    import inequality_budgets

    return inequality_budgets


@pytest.mark.parametrize("name", ["tutorial", "paper-seed0"])
def test_inequality_optimum_needs_no_sink_and_costs_less(ib, name, tutorial_instance):
    inst = tutorial_instance if name == "tutorial" else llmv2x.load_instance(name)
    settings = llmv2x.SolveSettings()
    equality = llmv2x.solve(inst, method="exact")
    assert np.any(equality.allocation.alpha == inst.layers)  # the sink(s) of (10e) as "="
    alloc = ib.optimal_inequality(inst, settings)
    assert np.all(alloc.alpha == 1)  # every vehicle offloads: no sink
    assert cost_terms(inst, alloc, settings).total < equality.objective
    # the point is feasible for the inequality model, and the model's objective agrees
    m = ib.build_p1_inequality(inst, settings)
    set_model_values(inst, m, alloc)
    for c in m.component_data_objects(pyo.Constraint, active=True):
        assert pyo.value(c.body) <= c.upper * (1 + 1e-12)
    for v in m.component_data_objects(pyo.Var):
        assert v.lb - 1e-12 <= v.value <= v.ub + 1e-12
    assert pyo.value(m.objective) == pytest.approx(
        cost_terms(inst, alloc, settings).total, rel=1e-12
    )


def test_inequality_split_beats_slsqp(ib, tutorial_instance):
    inst = tutorial_instance
    settings = llmv2x.SolveSettings()
    rng = np.random.default_rng(0)
    members = inst.members[0]
    fmax = float(inst.rsu["f_max_hz"][0]) / 1e9
    for _ in range(5):
        alpha = rng.choice([1.0, 7.0, float(inst.layers)], size=inst.n_vehicles)
        ours = ib.split_inequality(inst, settings, alpha)

        def cost(f_ghz, alpha=alpha, ours=ours):
            f = ours.copy()
            f[members] = f_ghz * 1e9
            per_layer = rsu_layer_cost(inst, settings.omega_t, f)
            return float(np.sum((inst.layers - alpha[members]) * per_layer[members]))

        start = rng.uniform(0.05, fmax / len(members), size=len(members))
        res = minimize(
            cost,
            start,
            method="SLSQP",
            bounds=[(F_RSU_FLOOR_HZ / 1e9, fmax)] * len(members),
            constraints=[{"type": "ineq", "fun": lambda f: fmax - np.sum(f)}],
            options={"ftol": 1e-14, "maxiter": 500},
        )
        assert cost(ours[members] / 1e9) <= res.fun * (1 + 1e-9)


def test_mindtpy_on_the_inequality_model_finds_nothing_better(ib, tutorial_instance):
    inst = tutorial_instance
    settings = llmv2x.SolveSettings()
    ours = cost_terms(inst, ib.optimal_inequality(inst, settings), settings).total
    m = ib.build_p1_inequality(inst, settings)
    out = get_backend("mindtpy", "minlp").solve(m, 30, 1e-6, {}, False)
    assert out.has_point
    assert pyo.value(m.objective) >= ours * (1 - 1e-7)


def test_package_inequality_budgets_agree_with_the_answer(ib, tutorial_instance):
    """Part 4: the package's budgets="inequality" reaches the enumerated optimum."""
    settings = llmv2x.SolveSettings()
    ours = cost_terms(
        tutorial_instance, ib.optimal_inequality(tutorial_instance, settings), settings
    )
    runs = ib.package_inequality(tutorial_instance, settings)
    ineq = runs["inequality"]
    assert ineq.problem.budgets == "inequality"
    assert ineq.objective == pytest.approx(ours.total, rel=1e-7)
    assert np.all(ineq.allocation.alpha == 1)
    assert np.all(runs["frequency_used"] < 0.9)  # every RSU leaves frequency unused


def test_with_deadlines_the_sink_stays_away_and_frequency_stays_unused(ib):
    """Part 5: deadlines (tau_D = 1.1) raise the cost, but under "<=" every vehicle still
    offloads ("=" keeps a sink). The deadlines need fast shares at the crowded RSU 0, whose
    frequency budget now binds; RSU 1 (one vehicle) still leaves most of its frequency unused."""
    inst = llmv2x.generate_instance(
        seed=2, name="tutorial", vehicles=6, rsus=2, deadline_tightness=1.1
    )
    runs = ib.package_inequality(inst, llmv2x.SolveSettings())
    eq, ineq = runs["equality"], runs["inequality"]
    settings = llmv2x.SolveSettings(budgets="inequality")
    assert llmv2x.evaluate(inst, ineq.allocation, settings).feasible
    assert ineq.objective < eq.objective
    assert np.any(eq.allocation.alpha == inst.layers)
    assert np.all(ineq.allocation.alpha == 1)
    used = runs["frequency_used"]
    assert used[0] == pytest.approx(1.0, rel=1e-6)
    assert used[1] < 0.5
