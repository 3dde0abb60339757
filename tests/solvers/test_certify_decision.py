"""Method ``exact`` under association=decision (docs/exact.md#association-as-a-decision-a-
certified-gap): the Lagrangian bound is below every feasible point, the incumbent matches
SCIP's proven optimum on tiny instances, and the result is never worse than the
fixed-association optimum."""

from __future__ import annotations

import numpy as np
import pytest

import llmv2x
from llmv2x.instances.generate import generate_instance, reference_allocation
from llmv2x.models.evaluator import evaluate
from llmv2x.problem import Problem
from llmv2x.settings import SolveSettings
from llmv2x.solvers import registry
from llmv2x.solvers.certify import master
from llmv2x.solvers.certify.association import Dual, solve_decision, used_for_sure
from llmv2x.solvers.methods import check_instance

needs_scip = pytest.mark.skipif(not registry.availability("scip", "minlp"), reason="needs SCIP")


def dual_bound(inst, settings, iterations: int = 25) -> float:
    """The dual maximised from zero prices (no recovery, ``iterations`` master steps): a valid
    lower bound wherever the master stops."""
    problem = Problem.of(inst, settings)
    dual = Dual(inst, settings, problem)
    lo, hi = dual.box()
    scale = abs(dual(np.zeros(2 * inst.n_rsus))[0])
    res = master.maximise(dual, np.zeros(2 * inst.n_rsus), lo, hi, 0.2 * scale, max_iter=iterations)
    assert res.estimate >= res.best - 1e-9 * abs(res.best)  # the cut model over-estimates
    return res.best


def test_master_finds_the_maximum_of_a_concave_piecewise_function():
    rng = np.random.default_rng(0)
    a, c = rng.normal(size=(40, 4)), rng.normal(size=40)

    def f(y):
        vals = c + a @ y - 0.5 * y @ y
        i = int(np.argmin(vals))
        return vals[i], vals[i], a[i] - y

    res = master.maximise(f, np.zeros(4), np.full(4, -np.inf), np.full(4, np.inf), 1.0, tol=1e-9)
    assert res.converged
    # no random point beats the certified maximum
    pts = rng.normal(size=(2000, 4)) * 2
    assert max(f(p)[0] for p in pts) <= res.estimate + 1e-9
    assert res.estimate - res.best <= 1e-8 * max(1, abs(res.best))


def _case(i: int):
    """Instance i of the property test: 5 vehicles, 3 RSUs, both budgets, with and without
    deadlines and energy budgets."""
    limits = dict(deadline_tightness=1.4, energy_tightness=1.2) if i % 3 == 2 else {}
    inst = generate_instance(seed=40 + i, vehicles=5, rsus=3, **limits)
    budgets = ("equality", "inequality")[i % 2]
    return inst, SolveSettings(association="decision", budgets=budgets)


@pytest.mark.parametrize("i", range(15))
def test_bound_is_below_every_feasible_point_found(i):
    """Feasible points: the reference allocation under 30 random associations (equal shares)
    and the instance's own, AO's on every third instance. The bound is below all of them."""
    inst, s = _case(i)
    bound = dual_bound(inst, s, 10 if inst.has_deadlines else 25)
    rng = np.random.default_rng(i)
    objs = []
    for k in range(31):
        assoc = inst.association if k == 0 else [rng.choice(inst.candidates(n)) for n in range(5)]
        moved = inst.__class__.from_arrays(**{**_arrays(inst), "association": np.array(assoc)})
        alloc = reference_allocation(moved).replace(association=np.array(assoc))
        ev = evaluate(inst, alloc, s)
        if ev.feasible:
            objs.append(ev.objective)
    if i % 3 == 0:
        res = llmv2x.solve(inst, "ao", s)
        assert res.allocation is not None and evaluate(inst, res.allocation, s).feasible
        objs.append(res.objective)
    assert objs, "no feasible point to compare with"
    assert bound <= min(objs) * (1 + 1e-9)
    assert np.isfinite(bound) and bound > 0


def _arrays(inst):
    """The from_arrays keywords of ``inst``."""
    from llmv2x.instances.schema import RSU_FIELDS, VEHICLE_FIELDS

    vehicle = {k: np.array(inst.vehicle[k]) for k in VEHICLE_FIELDS}
    vehicle["deadline_s"] = np.array(inst.deadline_s)
    vehicle["energy_budget_j"] = np.array(inst.energy_budget_j)
    return dict(
        name=inst.name,
        seed=None,
        area_m=inst.area_m,
        llm={
            "layers": inst.layers,
            "hidden_size": inst.hidden_size,
            "batch_size": inst.batch_size,
            "activation_bits": inst.activation_bits_per_value,
        },
        noise_psd_w_per_hz=inst.noise_psd_w_per_hz,
        vehicle=vehicle,
        rsu={k: np.array(inst.rsu[k]) for k in RSU_FIELDS},
        links=tuple(np.array(a) for a in inst.links),
    )


@needs_scip
@pytest.mark.parametrize(
    ("seed", "budgets"), [(2, "equality"), (2, "inequality"), (3, "inequality")]
)
def test_tiny_incumbent_equals_scips_proven_optimum(seed, budgets):
    inst = generate_instance(seed=seed, vehicles=4, rsus=2)
    s = SolveSettings(association="decision", budgets=budgets)
    res = solve_decision(inst, s)
    scip = llmv2x.solve(inst, "minlp", s.with_(time_limit=60), formulation="strong")
    assert scip.status == "optimal", scip.message
    assert res.objective == pytest.approx(scip.objective, rel=1e-5)
    assert res.lower_bound <= scip.objective * (1 + 1e-9)
    assert res.lower_bound <= res.objective
    bound = res.trace["bound"]
    assert list(bound.columns) == ["time_s", "lower_bound", "objective"]
    assert np.all(np.diff(bound["lower_bound"].to_numpy()) >= 0)  # best so far
    assert np.all(np.diff(bound["objective"].to_numpy()) <= 0)


@needs_scip
def test_scips_point_under_deadlines_is_above_the_bound():
    inst, s = _case(2)
    bound = dual_bound(inst, s, 10)
    scip = llmv2x.solve(inst, "minlp", s.with_(time_limit=10), formulation="strong")
    assert scip.allocation is not None, scip.message
    assert bound <= scip.objective * (1 + 1e-9)


def test_exact_decision_is_never_worse_than_exact_fixed():
    inst = generate_instance(seed=7, vehicles=8, rsus=3)
    fixed = llmv2x.solve(inst, "exact")
    check_instance(inst, SolveSettings(association="decision"), "exact")  # not refused
    dec = llmv2x.solve(inst, "exact", association="decision", time_limit=8)
    assert fixed.status == "optimal"
    assert dec.status in ("optimal", "feasible", "time_limit"), dec.message
    assert dec.objective <= fixed.objective * (1 + 1e-9)
    assert dec.lower_bound <= dec.objective
    assert evaluate(inst, dec.allocation, SolveSettings(association="decision")).feasible


def test_a_loose_gap_option_gives_status_optimal():
    inst = generate_instance(seed=2, vehicles=4, rsus=2)
    res = solve_decision(inst, SolveSettings(association="decision", options={"gap": 0.05}))
    assert res.status == "optimal"
    assert (res.objective - res.lower_bound) / res.objective <= 0.05


def test_a_vehicle_infeasible_on_every_link_is_proven_infeasible():
    inst = generate_instance(seed=3, vehicles=4, rsus=2, deadline_tightness=0.05)
    res = solve_decision(inst, SolveSettings(association="decision"))
    assert res.status == "infeasible", res.message
    assert res.allocation is None


def test_used_for_sure_marks_the_only_rsu_left_to_a_vehicle():
    inst = generate_instance(seed=0, vehicles=3, rsus=4)
    s = SolveSettings(association="decision")
    rows = Dual(inst, s, Problem.of(inst, s)).rows
    keep = (rows.vehicle != 1) | (rows.rsu == 2)  # vehicle 1 can only go to RSU 2
    assert used_for_sure(rows.take(keep), 4, 3).tolist() == [False, False, True, False]
    assert not used_for_sure(rows, 4, 3).any()


@needs_scip
def test_one_vehicle_among_five_rsus_is_closed_under_equality_budgets():
    """Equality budgets bind only at an RSU that serves someone: the root dual relaxes that
    (its bound was 4 % low here); opening/closing RSUs and solving the leaf association
    close the gap to SCIP's proven optimum."""
    inst = generate_instance(seed=0, vehicles=1, rsus=5)
    s = SolveSettings(association="decision", time_limit=30)
    res = solve_decision(inst, s)
    scip = llmv2x.solve(inst, "minlp", s, formulation="strong")
    assert scip.status == "optimal", scip.message
    assert res.status == "optimal", res.message
    assert res.objective == pytest.approx(scip.objective, rel=1e-5)
    assert res.lower_bound <= scip.objective * (1 + 1e-9)


def test_four_vehicles_five_rsus_are_certified_by_leaf_solves():
    inst = generate_instance(seed=0, vehicles=4, rsus=5)
    res = solve_decision(inst, SolveSettings(association="decision", time_limit=60))
    assert res.status == "optimal", res.message
    assert "leaf" in res.message or "closed" in res.message
    assert (res.objective - res.lower_bound) / res.objective <= 1e-6
