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
