"""The Pyomo P1 builders agree with the evaluator on every problem variant.

At the generator's reference allocation R (feasible under every variant by construction)
and at the initial allocation (which satisfies the strong formulation's reductions), the
plain and strong models' objectives equal the evaluator's and every constraint holds; a
point the evaluator refuses for a deadline or an energy budget breaks the model's row.
"""

from __future__ import annotations

import itertools

import numpy as np
import pyomo.environ as pyo
import pytest

from llmv2x.instances import generate_instance
from llmv2x.instances.generate import reference_allocation
from llmv2x.models.evaluator import evaluate
from llmv2x.models.p1 import allocation_from_model, build_p1, set_model_values
from llmv2x.models.p1_strong import build_p1_strong, lift, valid_reductions
from llmv2x.models.projection import project
from llmv2x.problem import Problem
from llmv2x.settings import SolveSettings
from llmv2x.solvers.initial import initial_allocation

REL = 1e-9

INSTANCES = {
    s: generate_instance(
        seed=s, vehicles=5, rsus=3, layers=6, deadline_tightness=1.3, energy_tightness=1.05
    )
    for s in (0, 1)
}

VARIANTS = list(
    itertools.product(("paper", "latency"), ("equality", "inequality"), ("fixed", "decision"))
)


def _violations(m: pyo.ConcreteModel) -> list[str]:
    bad = []
    for con in m.component_data_objects(pyo.Constraint, active=True):
        body = pyo.value(con.body)
        viol = max(
            0.0 if con.lb is None else con.lb - body, 0.0 if con.ub is None else body - con.ub
        )
        if viol > 1e-8 * max(1.0, abs(body)):
            bad.append(f"{con.name}: {viol:.2e}")
    return bad


def _build(inst, settings, formulation, reductions, point):
    if formulation == "plain":
        m = build_p1(inst, settings)
        set_model_values(inst, m, point)
    else:
        m = build_p1_strong(inst, settings, reductions=reductions)
        lift(inst, settings, m, point)
    return m


@pytest.mark.parametrize("seed", sorted(INSTANCES))
@pytest.mark.parametrize(("objective", "budgets", "association"), VARIANTS)
@pytest.mark.parametrize("formulation", ["plain", "strong"])
def test_objective_and_rows_equal_the_evaluator_at_the_reference(
    seed, objective, budgets, association, formulation
):
    inst = INSTANCES[seed]
    s = SolveSettings(objective=objective, budgets=budgets, association=association)
    problem = Problem.of(inst, s)
    assert problem.deadlines and problem.energy_budgets
    point = reference_allocation(inst)
    ev = evaluate(inst, point, s)
    assert ev.feasible
    m = _build(inst, s, formulation, False, point)
    assert _violations(m) == []
    assert pyo.value(m.objective) == pytest.approx(ev.objective, rel=REL)
    assert hasattr(m, "deadline") and hasattr(m, "energy_budget")
    assert hasattr(m, "x") == (association == "decision")
    back = allocation_from_model(inst, m)
    for k in ("alpha", "p_w", "b_hz", "f_vehicle_hz", "f_rsu_hz"):
        np.testing.assert_allclose(getattr(back, k), getattr(point, k), rtol=1e-12)
    if association == "decision":
        np.testing.assert_array_equal(back.association, inst.association)


@pytest.mark.parametrize("objective", ["paper", "latency"])
def test_strong_alpha_expansion_equals_the_evaluator(objective):
    """With deadlines and energy budgets the strong model writes alpha as binaries; lifted
    to the reference allocation its objective and rows are the evaluator's."""
    inst = INSTANCES[0]
    s = SolveSettings(objective=objective)
    point = reference_allocation(inst)
    m = _build(inst, s, "strong", True, point)
    assert hasattr(m, "alpha_bin") and hasattr(m, "inv_f_rsu_by_alpha")
    assert _violations(m) == []
    assert pyo.value(m.objective) == pytest.approx(evaluate(inst, point, s).objective, rel=REL)


@pytest.mark.parametrize(("objective", "budgets", "association"), VARIANTS)
def test_strong_reductions_keep_the_objective_where_they_apply(objective, budgets, association):
    """Without deadlines and energy budgets every reduction is valid; the initial allocation
    satisfies them (alpha = 1, p = p_min, the best vehicle frequency)."""
    inst = generate_instance(seed=2, vehicles=5, rsus=3, layers=6)
    s = SolveSettings(objective=objective, budgets=budgets, association=association)
    point = initial_allocation(inst, s)
    ev = evaluate(inst, point, s)
    m = _build(inst, s, "strong", True, point)
    assert _violations(m) == []
    assert pyo.value(m.objective) == pytest.approx(ev.objective, rel=REL)
    assert hasattr(m, "all_local")
    assert all(m.f_vehicle_ghz[n].fixed for n in m.N)
    assert all(m.p_w[n].fixed for n in m.N) == (objective == "paper")


def test_valid_reductions_follow_the_variant():
    paper, lat = SolveSettings(), SolveSettings(objective="latency")
    assert valid_reductions(Problem(), paper) == dict(alpha=True, f_vehicle=True, p_min=True)
    assert valid_reductions(Problem(budgets="inequality", association="decision"), paper) == (
        dict(alpha=True, f_vehicle=True, p_min=True)
    )
    assert valid_reductions(Problem(deadlines=True), paper) == (
        dict(alpha=False, f_vehicle=False, p_min=False)
    )
    assert valid_reductions(Problem(energy_budgets=True), paper) == (
        dict(alpha=False, f_vehicle=False, p_min=True)
    )
    assert valid_reductions(Problem(), lat)["p_min"] is False
    inst = INSTANCES[0]
    m = build_p1_strong(inst, paper)  # deadlines and energy budgets: nothing fixed
    assert not hasattr(m, "all_local")
    assert not any(m.p_w[n].fixed or m.f_vehicle_ghz[n].fixed for n in m.N)


@pytest.mark.parametrize("formulation", ["plain", "strong"])
@pytest.mark.parametrize("association", ["fixed", "decision"])
def test_a_missed_deadline_or_energy_budget_breaks_the_models_row(formulation, association):
    inst = INSTANCES[1]
    s = SolveSettings(association=association)
    point = reference_allocation(inst)
    slow = point.replace(f_vehicle_hz=inst.vehicle["f_min_hz"], p_w=inst.vehicle["p_min_w"])
    ev = evaluate(inst, slow, s)
    assert not ev.feasible
    m = _build(inst, s, formulation, False, slow)
    bad = _violations(m)
    assert any(b.startswith("deadline[") for b in bad), bad
    # energy budgets below R's energy: R breaks them
    tight = generate_instance(seed=1, vehicles=5, rsus=3, layers=6, energy_tightness=0.5)
    m = _build(tight, s, formulation, False, reference_allocation(tight))
    assert not evaluate(tight, reference_allocation(tight), s).feasible
    assert any(b.startswith("energy_budget[") for b in _violations(m))


def test_inequality_projection_only_scales_down():
    """Under budgets=inequality a point under its budgets keeps its shares (the P1
    projection would have scaled them up to the budget)."""
    inst = generate_instance(seed=0, vehicles=5, rsus=3)
    point = reference_allocation(inst)
    half = point.replace(b_hz=point.b_hz / 2, f_rsu_hz=point.f_rsu_hz / 2)
    out, change = project(inst, half, Problem(budgets="inequality"))
    np.testing.assert_array_equal(out.b_hz, half.b_hz)
    assert change == 0.0
    over = point.replace(b_hz=point.b_hz * 1.5)
    out, _ = project(inst, over, Problem(budgets="inequality"))
    assert evaluate(inst, out, SolveSettings(budgets="inequality")).feasible
    p1, _ = project(inst, half)
    np.testing.assert_allclose(p1.b_hz, point.b_hz, rtol=1e-9)  # P1: back to the budget


def test_decision_projection_groups_by_the_points_own_association():
    inst = generate_instance(seed=0, vehicles=5, rsus=3)
    point = reference_allocation(inst)
    moved = np.array(inst.association)
    n = 0
    others = [int(r) for r in inst.candidates(n) if r != moved[n]]
    moved[n] = others[0]
    s = SolveSettings(association="decision")
    raw = point.replace(association=moved, b_hz=point.b_hz * (1 + 1e-7))
    out, _ = project(inst, raw, Problem.of(inst, s))
    assert evaluate(inst, out, s).feasible
    np.testing.assert_array_equal(out.association, moved)
