"""AO on the problem family (docs/algorithms.md#ao-for-the-problem-family): feasible points,
real alternation under deadlines, inequality budgets never worse than equality, status
``error`` (no point) when no feasible start exists, association as a decision accepted, and
the two speed fixes (one OpenBLAS thread, no re-solve of a block that changed nothing)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from llmv2x.errors import SettingsError
from llmv2x.instances.generate import generate_instance, reference_allocation, reference_limits
from llmv2x.models.evaluator import evaluate
from llmv2x.settings import SolveSettings
from llmv2x.solvers.ao import solve_ao
from llmv2x.solvers.methods import check_instance


def _instance(seed: int, tau: float, energy: float | None = 1.05):
    return generate_instance(
        seed=seed, vehicles=20, rsus=5, deadline_tightness=tau, energy_tightness=energy
    )


@pytest.fixture(scope="module")
def binding():
    """An instance whose deadlines bind at the reference allocation's neighbourhood."""
    inst = _instance(6, 1.25)
    return inst, solve_ao(inst, SolveSettings())


def test_deadlines_and_energy_budgets_give_a_feasible_point_below_the_reference(binding):
    inst, res = binding
    assert res.status == "converged", res.message
    ev = evaluate(inst, res.allocation, SolveSettings())
    assert ev.feasible, ev.worst
    ref = evaluate(inst, reference_allocation(inst), SolveSettings()).objective
    assert res.objective <= ref * (1 + 1e-12)
    assert res.objective < 0.99 * ref  # AO really improves on its start
    assert res.problem.deadlines and res.problem.energy_budgets


def test_ao_alternates_for_real_when_deadlines_bind(binding):
    inst, res = binding
    trace = res.trace["ao"]
    assert set(trace["start"]) >= {"reference", "ao_p1"}
    rounds = trace[(trace["round"] > 0) & (trace["start"] == "reference")]
    assert len(rounds) >= 2
    obj = rounds["objective"].to_numpy()
    assert np.all(np.diff(obj) <= 1e-9 * obj[:-1])  # monotone
    assert obj[1] < obj[0] * (1 - 1e-6)  # round 2 improves on round 1: the blocks couple


def test_joint_step_lowers_the_objective_below_the_block_rounds(binding):
    """The joint per-RSU step (alpha relaxed, f, p, b in one SLSQP) trades compute time
    against transmission time across the blocks: measured 5970.95 without it (blocks only,
    best of the three starts) and 5934.54 with it on this instance."""
    inst, res = binding
    trace = res.trace["ao"]
    joint = trace[trace["block"] == "joint"]
    assert len(joint) >= 1
    ref = trace[(trace["start"] == "reference") & (trace["round"] > 0)]["objective"].to_numpy()
    assert np.all(np.diff(ref) <= 1e-9 * ref[:-1])  # still monotone with the joint rows
    assert res.objective <= 5950.0


def test_association_decision_is_accepted_for_ao(binding):
    """AO takes the association as a decision (``ao_family/association.py``); it used to be
    refused here."""
    inst, _ = binding
    check_instance(inst, SolveSettings(association="decision"), "ao")  # no error


def test_inequality_budgets_are_never_worse_than_equality():
    inst = generate_instance(seed=5, vehicles=20, rsus=5)
    eq = solve_ao(inst, SolveSettings())
    ineq = solve_ao(inst, SolveSettings(budgets="inequality"))
    assert ineq.status in ("converged", "feasible"), ineq.message
    assert evaluate(inst, ineq.allocation, SolveSettings(budgets="inequality")).feasible
    assert ineq.objective <= eq.objective * (1 + 1e-12)


def test_impossible_deadlines_give_error_and_no_point():
    inst = _instance(0, 1.0, None)
    time_r, _ = reference_limits(inst)
    # far below any reachable completion time (R is the fastest point, up to the shares)
    hopeless = dataclasses.replace(inst, deadline_s=0.01 * time_r)
    res = solve_ao(hopeless, SolveSettings())
    assert res.status == "error"
    assert res.allocation is None and res.objective is None
    assert "no feasible point" in res.message


def test_check_instance_lets_ao_take_every_fixed_association_variant():
    inst = _instance(0, 1.5)
    for settings in (SolveSettings(), SolveSettings(budgets="inequality")):
        check_instance(inst, settings, "ao")  # no error
    with pytest.raises(SettingsError, match="deadlines"):
        check_instance(inst, SolveSettings(), "rlor")


def test_time_limit_returns_the_feasible_reference_not_an_error(binding):
    inst, _ = binding
    res = solve_ao(inst, SolveSettings(time_limit=1e-6))
    assert res.status == "time_limit"
    assert evaluate(inst, res.allocation, SolveSettings()).feasible


def test_family_blocks_run_on_one_openblas_thread_and_restore_the_count(monkeypatch):
    """SLSQP's subproblems (tens of variables) ran with OpenBLAS's worker threads: on two
    loaded cores that made a 20-vehicle AO 2-45 s instead of 3-8 s. ``run_family`` now runs
    them on one thread and restores the thread count afterwards."""
    from llmv2x.problem import Problem
    from llmv2x.solvers.ao_family import Family, run_family
    from llmv2x.solvers.ao_family import point as ao_point
    from llmv2x.solvers.deadline import Deadline

    controls = ao_point._openblas_controls()
    if not controls:
        pytest.skip("no OpenBLAS loaded in this process")
    before = [get() for _, get in controls]
    for setter, _ in controls:
        setter(2)  # as on a two-core machine, whatever the environment asked
    seen: list[list[int]] = []
    block2 = Family.block2

    def watched(self, *args, **kw):
        seen.append([get() for _, get in controls])
        return block2(self, *args, **kw)

    monkeypatch.setattr(Family, "block2", watched)
    inst = _instance(3, 1.5)
    settings = SolveSettings()
    try:
        pt, rows, _ = run_family(
            inst,
            settings,
            Problem.of(inst, settings),
            reference_allocation(inst),
            2,
            Deadline(None),
        )
        after = [get() for _, get in controls]
    finally:
        for (setter, _), n in zip(controls, before, strict=True):
            setter(n)
    assert seen and all(counts == [1] * len(controls) for counts in seen)
    assert after == [2] * len(controls)
    assert evaluate(inst, pt.allocation(), settings).feasible
    assert rows[-1]["objective"] <= rows[0]["objective"] * (1 + 1e-12)


def test_a_round_on_a_point_no_block_changes_calls_no_solver(monkeypatch):
    """Blocks are deterministic: a block that left an RSU unchanged leaves it unchanged again
    from the same point. Every round re-solved every RSU anyway (half the time of a run from
    a start whose broken RSUs no block repairs); now ``round_`` skips them."""
    from llmv2x.problem import Problem
    from llmv2x.solvers.ao_family import Family, Point
    from llmv2x.solvers.ao_family import blocks as ao_blocks

    inst = _instance(0, 1.0, None)
    time_r, _ = reference_limits(inst)
    hopeless = dataclasses.replace(inst, deadline_s=0.01 * time_r)  # no block can repair
    settings = SolveSettings()
    fam = Family(hopeless, settings, Problem.of(hopeless, settings))
    pt = Point.of(reference_allocation(inst), hopeless)
    calls = []
    slsqp = ao_blocks.slsqp

    def counted(*args, **kw):
        calls.append(1)
        return slsqp(*args, **kw)

    monkeypatch.setattr(ao_blocks, "slsqp", counted)
    before = pt.copy()
    fam.round_(pt)
    first = len(calls)
    assert first >= 2 * len(fam.members(pt))  # round 1 tries every RSU's blocks
    assert all(np.array_equal(getattr(pt, f), getattr(before, f)) for f in ("alpha", "p", "b"))
    fam.round_(pt)
    assert len(calls) == first  # round 2: the same point, nothing solved again
    moved = pt.copy()
    moved.p[0] *= 1.01  # a different point is solved again
    fam.round_(moved)
    assert len(calls) > first
