"""A time limit limits the whole solve (docs/algorithms.md, "Time limit"): every method stops
with status ``time_limit`` and a verified point (or none), never ``error`` or an infeasible
point. Limits are tiny so the outcome does not depend on the machine's speed; how far each
method overshoots its limit is measured in benchmarks/time_limit.py, not here.
"""

from __future__ import annotations

import signal
import time
from pathlib import Path

import numpy as np
import pytest

import llmv2x
from llmv2x.instances import load_instance
from llmv2x.models.evaluator import evaluate
from llmv2x.models.p1 import build_p1
from llmv2x.settings import SolveSettings
from llmv2x.solvers.ao import ao_start
from llmv2x.solvers.deadline import MIN_BACKEND_S, Deadline
from llmv2x.solvers.fractional import FractionalSolver
from llmv2x.solvers.registry import get_backend
from llmv2x.solvers.rounding import compute_cost_per_rsu, round_alpha
from llmv2x.solvers.sqp import SubproblemIData, solve_sqp

INSTANCES_DIR = Path(__file__).resolve().parents[2] / "instances"
EXPIRED = 1e-9  # seconds: past before the method's first check


def _inst(name: str):
    return load_instance(INSTANCES_DIR / f"{name}.json")


def _check_time_limit_result(inst, res, settings) -> None:
    """Status time_limit; the point, if any, is feasible and its objective the evaluator's."""
    assert res.status == "time_limit", res.message
    if res.allocation is not None:
        ev = evaluate(inst, res.allocation, settings)
        assert ev.feasible
        assert res.objective == pytest.approx(ev.objective, rel=1e-12)


# ----- the deadline object -------------------------------------------------------------------


def test_deadline_without_limit_never_expires():
    d = Deadline(None)
    assert not d.limited and not d.expired() and d.affords(1e9)
    assert d.remaining() == np.inf
    assert d.budget() is None and d.budget(cap=3.0) == 3.0


def test_deadline_past_its_limit():
    d = Deadline(EXPIRED, start=time.perf_counter() - 1.0)
    assert d.limited and d.remaining() < 0
    assert not d.hit
    assert d.expired() and d.hit
    # a backend call still gets a small positive limit, never zero or negative
    assert d.budget() == MIN_BACKEND_S and d.budget(cap=5.0) == MIN_BACKEND_S


def test_deadline_refuses_a_step_that_does_not_fit():
    d = Deadline(1e6)
    assert d.affords(1.0) and not d.hit
    assert d.budget(cap=2.0) == 2.0 and 1e6 - 1 < d.budget() <= 1e6
    assert not d.affords(2e6)
    assert d.hit  # the caller stops as if time had run out


# ----- AO --------------------------------------------------------------------------------------


@pytest.mark.parametrize("limit", [EXPIRED, 0.3])
def test_ao_out_of_time_returns_a_verified_point(limit):
    """Before the fix AO gave each QP/NLP call the whole limit and ran to its end (status
    converged); now it stops with status time_limit and its best verified point. `large`:
    since issue 12 AO solves `medium` in about 0.45 s, close to the 0.3 s limit."""
    inst = _inst("large")
    settings = SolveSettings(omega_t=0.5, time_limit=limit)
    res = llmv2x.solve(inst, method="ao", omega_t=0.5, time_limit=limit)
    _check_time_limit_result(inst, res, settings)
    assert res.allocation is not None  # the rounded start is verified before any work
    assert "time limit" in res.message
    if limit == EXPIRED:
        start = ao_start(inst, settings)
        assert np.array_equal(res.allocation.alpha, np.round(start.alpha))


def test_ao_without_limit_is_unchanged():
    inst = _inst("small-seed0")
    res = llmv2x.solve(inst, method="ao", omega_t=0.5, time_limit=600)
    assert res.status in ("converged", "feasible")
    assert "time limit" not in res.message


# ----- the blocks AO is made of ----------------------------------------------------------------


def test_sqp_stops_at_a_feasible_iterate():
    inst = _inst("small-seed0")
    settings = SolveSettings()
    data = SubproblemIData.build(inst, settings)
    x0 = data.restore(np.full(3 * inst.n_vehicles, 1.0) * data.ub)
    qp = get_backend("highs", "qp")
    d = Deadline(EXPIRED, start=time.perf_counter() - 1.0)
    sq = solve_sqp(data, x0, qp, deadline=d)
    assert sq.status == "time_limit" and sq.iterations == 0
    assert np.all(sq.x >= data.lb) and np.all(sq.x <= data.ub)
    assert np.allclose(data.A @ sq.x, data.b, rtol=1e-12)


def test_vertex_rounding_stops_with_integral_alpha():
    inst = _inst("small-seed0")
    settings = SolveSettings()
    relaxed = np.linspace(1.2, inst.layers - 0.3, inst.n_vehicles)
    d = Deadline(EXPIRED, start=time.perf_counter() - 1.0)
    cut = round_alpha(inst, settings, relaxed, "vertex", d)
    assert np.array_equal(cut, np.clip(np.round(relaxed), 1, inst.layers))
    full = round_alpha(inst, settings, relaxed, "vertex")
    assert np.sum(compute_cost_per_rsu(inst, settings, full)) <= np.sum(
        compute_cost_per_rsu(inst, settings, cut)
    ) * (1 + 1e-12)


def test_fractional_out_of_time_keeps_the_start():
    inst = _inst("small-seed0")
    settings = SolveSettings(omega_t=0.5)
    start = ao_start(inst, settings)
    d = Deadline(EXPIRED, start=time.perf_counter() - 1.0)
    fr = FractionalSolver(inst, settings, get_backend("cyipopt", "nlp"), d).solve(start)
    assert fr.status == "time_limit" and fr.inner_solves == 0
    assert np.allclose(fr.p_w, start.p_w, rtol=1e-12)
    alloc = start.replace(alpha=np.round(start.alpha), p_w=fr.p_w, b_hz=fr.b_hz)
    assert evaluate(inst, alloc, settings).feasible


# ----- backends: the limit counts from the call's start ----------------------------------------


def test_cyipopt_is_stopped_by_wall_clock():
    """Ipopt 3.11 has only max_cpu_time; the iteration callback now enforces the wall clock."""
    from llmv2x.models.subproblem2 import build_subproblem2

    inst = _inst("medium")
    model = build_subproblem2(inst, SolveSettings())
    out = get_backend("cyipopt", "nlp").solve(model, time_limit=MIN_BACKEND_S)
    assert out.status == "time_limit"


def test_scip_not_started_without_time_for_it():
    inst = _inst("medium")
    model = build_p1(inst, SolveSettings())
    out = get_backend("scip", "minlp").solve(model, MIN_BACKEND_S, 1e-6, {}, False)
    assert out.status == "time_limit" and not out.has_point and out.bound is None


def test_mindtpy_alarm_interrupts_python_and_restores_the_handler():
    from llmv2x.solvers.backends.mindtpy import _Alarm, _alarm_at

    before = signal.getsignal(signal.SIGALRM)
    with pytest.raises(_Alarm), _alarm_at(time.perf_counter() + 0.05):
        for _ in range(10**10):  # pure Python, interrupted by the alarm
            pass
    assert signal.getsignal(signal.SIGALRM) == before
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)


# ----- every other method ----------------------------------------------------------------------


@pytest.mark.parametrize("backend", ["scip", "mindtpy"])
def test_minlp_out_of_time_is_time_limit_not_error(backend):
    inst = _inst("medium")
    settings = SolveSettings(time_limit=EXPIRED, minlp_backend=backend)
    res = llmv2x.solve(inst, method="minlp", minlp_backend=backend, time_limit=EXPIRED)
    _check_time_limit_result(inst, res, settings)


@pytest.mark.parametrize("method", ["rlor", "local", "offload"])
def test_baselines_out_of_time_return_their_feasible_point(method):
    """Their radio step (fractional programming) stops; the point is still feasible."""
    inst = _inst("medium")
    settings = SolveSettings(time_limit=EXPIRED, seed=3)
    res = llmv2x.solve(inst, method=method, time_limit=EXPIRED, seed=3)
    _check_time_limit_result(inst, res, settings)
    assert res.allocation is not None


def test_exact_out_of_time_keeps_a_proven_bound():
    inst = _inst("medium")
    res = llmv2x.solve(inst, method="exact", time_limit=EXPIRED)
    # exact closes medium without branching (enumeration), so it may still be optimal
    assert res.status in ("optimal", "time_limit")
    assert evaluate(inst, res.allocation, SolveSettings()).feasible
    assert res.lower_bound is not None and res.lower_bound <= res.objective * (1 + 1e-12)
