"""Method ``exact`` on the problem family under a fixed association (llmv2x.solvers.certify,
docs/exact.md, "The problem family under fixed association"): optimal with a bound, equal
to SCIP's proven optimum, below AO's and SCIP's points, never above a feasible point."""

from __future__ import annotations

import numpy as np
import pytest

import llmv2x
from llmv2x.instances import generate_instance
from llmv2x.instances.generate import reference_allocation
from llmv2x.models.evaluator import evaluate
from llmv2x.settings import SolveSettings
from llmv2x.solvers import registry

needs_scip = pytest.mark.skipif(not registry.availability("scip", "minlp"), reason="needs SCIP")


def small(seed: int, vehicles: int = 4, rsus: int = 2, layers: int = 4, **kw):
    return generate_instance(seed=seed, vehicles=vehicles, rsus=rsus, layers=layers, **kw)


def _check(inst, res, budgets):
    """The point is the evaluator's, the bound is below it and the trace is consistent."""
    s = SolveSettings(budgets=budgets, omega_t=res.omega_t, objective=res.objective_variant)
    ev = evaluate(inst, res.allocation, s)
    assert ev.feasible, ev.violations
    assert ev.objective == pytest.approx(res.objective, rel=1e-12)
    assert res.lower_bound <= res.objective * (1 + 1e-12)
    tr = res.trace["bound"]
    assert list(tr.columns) == ["time_s", "lower_bound", "objective"] and len(tr) >= 1
    assert np.all(tr["lower_bound"] <= tr["objective"] * (1 + 1e-9))
    assert res.iterations >= 1


@needs_scip
@pytest.mark.parametrize(("seed", "budgets"), [(1, "equality"), (2, "inequality")])
def test_equals_scip_proven_optimum(seed, budgets):
    """Tiny instances (4 vehicles, 2 RSUs, 4 layers) with energy budgets, where SCIP on the
    strong formulation proves its optimum: exact's objective equals it within 1e-5 and its
    bound is below it."""
    inst = small(seed, energy_tightness=1.05)
    scip = llmv2x.solve(
        inst,
        method="minlp",
        minlp_backend="scip",
        budgets=budgets,
        time_limit=60.0,
        options={"formulation": "strong"},
    )
    assert scip.status == "optimal", scip.message
    ex = llmv2x.solve(inst, method="exact", budgets=budgets)
    assert ex.status == "optimal", ex.message
    _check(inst, ex, budgets)
    assert ex.objective == pytest.approx(scip.objective, rel=1e-5)
    assert ex.lower_bound <= scip.objective * (1 + 1e-9)


@needs_scip
def test_below_ao_and_scip_points_with_deadlines():
    """Deadlines and energy budgets, inequality budgets: optimal, and not above AO's point or
    SCIP's incumbent after a short limit (1e-6 relative)."""
    inst = small(1, vehicles=5, deadline_tightness=1.3, energy_tightness=1.1)
    ex = llmv2x.solve(inst, method="exact", budgets="inequality")
    assert ex.status == "optimal", ex.message
    _check(inst, ex, "inequality")
    ao = llmv2x.solve(inst, method="ao", budgets="inequality")
    scip = llmv2x.solve(
        inst,
        method="minlp",
        minlp_backend="scip",
        budgets="inequality",
        time_limit=8.0,
        options={"formulation": "strong"},
    )
    for other in (ao, scip):
        if other.allocation is not None:
            assert ex.objective <= other.objective * (1 + 1e-6)
            assert ex.lower_bound <= other.objective * (1 + 1e-9)


def _variants():
    rng = np.random.default_rng(11)
    out = []
    for i in range(12):
        kw = {}
        if rng.random() < 0.6:
            kw["deadline_tightness"] = float(rng.uniform(1.05, 2.0))
        if rng.random() < 0.6 or not kw:
            kw["energy_tightness"] = float(rng.uniform(1.02, 2.0))
        budgets = "inequality" if rng.random() < 0.6 else "equality"
        omega = float(rng.choice([0.2, 0.5, 0.8]))
        objective = str(rng.choice(["paper", "latency"]))
        out.append((100 + i, kw, budgets, omega, objective))
    return out


@pytest.mark.parametrize(("seed", "kw", "budgets", "omega", "objective"), _variants())
def test_no_feasible_point_below_the_bound(seed, kw, budgets, omega, objective):
    """Property: on random small instances and variants (budgets both ways, deadlines,
    energy budgets, both objectives) the generator's reference point (feasible by
    construction) and AO's point are never below exact's lower bound, whatever the status
    after a short time limit."""
    inst = small(seed, vehicles=3, **kw)
    opts = dict(budgets=budgets, omega_t=omega, objective=objective)
    ex = llmv2x.solve(inst, method="exact", time_limit=4.0, **opts)
    assert ex.status in ("optimal", "time_limit", "feasible"), ex.message
    _check(inst, ex, budgets)
    s = SolveSettings(**opts)
    ref = evaluate(inst, reference_allocation(inst), s)
    if ref.feasible:
        assert ex.lower_bound <= ref.objective * (1 + 1e-9)
        assert ex.objective <= ref.objective * (1 + 1e-9)
    if seed % 4 == 0:
        ao = llmv2x.solve(inst, method="ao", **opts)
        if ao.allocation is not None:
            assert ex.lower_bound <= ao.objective * (1 + 1e-9)


def test_infeasible_deadlines_never_give_a_point():
    """Deadlines far below what any allocation reaches: proven infeasible (or error), no point."""
    inst = small(3, vehicles=4, deadline_tightness=0.3)
    res = llmv2x.solve(inst, method="exact", budgets="inequality")
    assert res.status in ("infeasible", "error"), res.message
    assert res.allocation is None and res.objective is None


def test_time_limit_gives_point_and_bound():
    """A tiny time limit: status time_limit, a verified point and a bound below it."""
    inst = generate_instance(seed=4, vehicles=12, rsus=3, deadline_tightness=1.3)
    res = llmv2x.solve(inst, method="exact", budgets="equality", time_limit=0.01)
    assert res.status == "time_limit", res.message
    _check(inst, res, "equality")


def test_default_p1_keeps_its_path():
    """P1 itself still goes through the structural exact solver, not this one."""
    inst = small(5)
    res = llmv2x.solve(inst, method="exact")
    assert res.solvers == {"exact": "llmv2x structure"}
    var = llmv2x.solve(inst, method="exact", budgets="inequality")
    assert var.solvers == {"exact": "llmv2x structure (certify)"}
    assert var.status == "optimal"
    # inequality budgets relax P1: never worse
    assert var.objective <= res.objective * (1 + 1e-9)


@pytest.mark.parametrize("budgets", ["inequality", "equality"])
def test_every_price_gives_a_valid_rsu_bound(budgets):
    """Weak duality per price (docs/exact.md 11.5): D_m(sigma, lambda) at random prices (free
    sigma under equality) is below RSU m's cost at exact's optimal point."""
    from llmv2x.models.evaluator import cost_terms
    from llmv2x.problem import Problem
    from llmv2x.solvers.certify.dual import Groups, group_bound
    from llmv2x.solvers.certify.oracle import Rows, row_oracle

    inst = small(7, vehicles=4, deadline_tightness=1.6, energy_tightness=1.2)
    s = SolveSettings(budgets=budgets)
    prob = Problem.of(inst, s)
    # any feasible point bounds the optimum from above; exact's (even cut short) is close
    ex = llmv2x.solve(inst, method="exact", budgets=budgets, time_limit=3.0)
    terms = cost_terms(inst, ex.allocation, s)
    per_vehicle = terms.vehicle + terms.rsu + terms.comm
    rsu_cost = np.bincount(inst.association, weights=per_vehicle, minlength=inst.n_rsus)
    rows = Rows.fixed(inst, prob)
    groups = Groups(
        rows,
        rows.rsu,
        inst.rsu["f_max_hz"].astype(float),
        inst.rsu["bandwidth_hz"].astype(float),
        free_sigma=budgets == "equality",
    )
    rng = np.random.default_rng(3)
    served = np.bincount(inst.association, minlength=inst.n_rsus) > 0
    for _ in range(6):
        lo = -3e-9 if budgets == "equality" else 0.0
        sig = rng.uniform(lo, 3e-9, inst.n_rsus)
        lam = rng.uniform(0.0, 2e-6, inst.n_rsus)
        vals = row_oracle(inst, s, prob, rows, sig[rows.rsu], lam[rows.rsu])
        d = group_bound(groups, vals.lower, sig, lam)
        assert np.all(d[served] <= rsu_cost[served] * (1 + 1e-9))
