"""Exercise 1: deadlines on the completion time couple the two AO blocks."""

from __future__ import annotations

import numpy as np
import pyomo.environ as pyo
import pytest

import llmv2x
from llmv2x.models.p1 import build_p1, set_model_values

DEADLINE_S = 300.0


@pytest.fixture(scope="module")
def deadline():
    import deadline as d

    return d


def test_unconstrained_optimum_misses_the_deadline(deadline, tutorial_instance, tutorial_optimum):
    inst, alloc = tutorial_instance, tutorial_optimum.allocation
    assert np.max(deadline.completion_time_s(inst, alloc)) > DEADLINE_S
    m = build_p1(inst, llmv2x.SolveSettings())
    deadline.add_deadlines(m, inst, np.full(inst.n_vehicles, DEADLINE_S))
    set_model_values(inst, m, alloc)
    assert m.deadline.doc.startswith("(D)")
    assert any(pyo.value(m.deadline[n].body) < m.deadline[n].lower for n in m.N)


def test_required_power_depends_on_the_other_block(deadline, tutorial_instance, tutorial_optimum):
    inst, alloc = tutorial_instance, tutorial_optimum.allocation
    d = np.full(inst.n_vehicles, DEADLINE_S)
    p = deadline.required_power(inst, alloc, d)
    assert np.all(alloc.p_w == inst.vehicle["p_min_w"])  # paper objective: p_min without deadline
    assert np.any(p > inst.vehicle["p_min_w"])  # ... but the deadline needs more
    # changing alpha (sub-problem I) changes what sub-problem II must deliver
    flipped = alloc.replace(alpha=np.where(alloc.alpha == 1, float(inst.layers), 1.0))
    assert not np.allclose(deadline.required_power(inst, flipped, d), p, rtol=1e-6)
    # the closed form meets the deadline exactly
    exact_time = deadline.completion_time_s(inst, alloc.replace(p_w=p))
    assert np.allclose(exact_time, d, rtol=1e-9)


def test_mindtpy_meets_every_deadline_at_a_higher_cost(
    deadline, tutorial_instance, tutorial_optimum
):
    inst, best = tutorial_instance, tutorial_optimum
    settings = llmv2x.SolveSettings()
    d = np.full(inst.n_vehicles, DEADLINE_S)
    p0 = np.clip(1.01 * deadline.required_power(inst, best.allocation, d), 0.1, 20.0)
    alloc, status = deadline.solve_with_deadlines(
        inst, settings, d, backend="mindtpy", time_limit=30, start=best.allocation.replace(p_w=p0)
    )
    assert status in ("converged", "feasible")
    ev = llmv2x.evaluate(inst, alloc, settings)
    assert ev.feasible
    assert np.all(deadline.completion_time_s(inst, alloc) <= d * (1 + 1e-6))
    assert ev.objective >= best.objective * (1 - 1e-9)  # a constraint can only add cost
    assert np.any(alloc.p_w > 1.5 * inst.vehicle["p_min_w"])  # power is no longer p_min


@pytest.fixture(scope="module")
def package_runs(deadline):
    inst = deadline.deadline_instance(1.1)
    return inst, deadline.package_comparison(inst, time_limit=10)


def test_the_package_deadlines_are_the_exercise_constraint(
    deadline, package_runs, tutorial_optimum
):
    """Part 5: the hand-written constraint and the package's deadline agree on AO's point."""
    inst, runs = package_runs
    ao = runs["ao"]
    assert ao.status == "converged", ao.message
    assert ao.problem.deadlines
    assert np.all(deadline.completion_time_s(inst, ao.allocation) <= inst.deadline_s * (1 + 1e-6))
    m = build_p1(inst, llmv2x.SolveSettings())
    deadline.add_deadlines(m, inst, inst.deadline_s)
    set_model_values(inst, m, ao.allocation)
    assert all(pyo.value(m.deadline[n].body) >= m.deadline[n].lower * (1 - 1e-6) for n in m.N)
    # the P1 optimum of the same draw without deadlines breaks them
    free = tutorial_optimum.allocation
    assert np.any(deadline.completion_time_s(inst, free) > inst.deadline_s * (1 + 1e-6))


def test_ao_meets_deadlines_with_power_and_scip_bounds_it(deadline, package_runs):
    """Part 6: power leaves p_min where deadlines bind; AO alternates (round 1, then the joint
    step improve); SCIP's proven bound lies below AO and AO is not above SCIP's point."""
    inst, runs = package_runs
    ao, scip = runs["ao"], runs["scip"]
    assert np.max(ao.allocation.p_w) > 10 * inst.vehicle["p_min_w"].max()
    trace = ao.trace["ao"]
    ref = trace[trace["start"] == "reference"]["objective"].to_numpy()
    assert np.sum(np.diff(ref) < -1e-6 * ref[0]) >= 2
    assert scip.lower_bound is not None
    assert scip.lower_bound <= ao.objective * (1 + 1e-9)
    if scip.objective is not None:
        assert ao.objective <= scip.objective * (1 + 1e-6)
