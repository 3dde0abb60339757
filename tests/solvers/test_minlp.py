"""Method ``minlp`` on small instances, both formulations, every available MINLP backend.

Checked: every incumbent passes the evaluator; a status ``optimal`` or a lower bound only
from a global solver, and never contradicted by ``exact`` (when that method exists);
MindtPy never reports ``optimal`` or a bound; the projection is recorded; the strong
formulation's bounds, envelopes and cuts are valid at random feasible points, and it closes
gaps the plain formulation leaves open.
"""

from __future__ import annotations

import importlib.util
import time
from functools import cache

import numpy as np
import pyomo.environ as pyo
import pytest

from llmv2x.cli import main
from llmv2x.instances import generate_instance
from llmv2x.models.allocation import Allocation
from llmv2x.models.constants import B_FLOOR_HZ, F_RSU_FLOOR_HZ
from llmv2x.models.evaluator import cost_terms, evaluate, rates
from llmv2x.models.p1_strong import build_p1_strong, lift, strong_bounds
from llmv2x.settings import SolveSettings
from llmv2x.solvers import registry
from llmv2x.solvers.base import State
from llmv2x.solvers.minlp import solve_minlp

#: (seed, vehicles, rsus). (1, 6, 2) is one on which SCIP's presolve fails on the plain P1.
CASES = [(4, 3, 1), (1, 6, 2), (3, 6, 2)]
TIME_LIMIT = {"plain": 4.0, "strong": 20.0}
BACKENDS = [b for b in registry.backend_names("minlp") if registry.availability(b, "minlp")]
GLOBAL = {"scip", "gurobi", "couenne", "baron"}


@cache
def instance(case):
    seed, n, m = case
    return generate_instance(seed=seed, vehicles=n, rsus=m, name=f"t{seed}-{n}-{m}")


@cache
def run(backend, formulation, case, objective="paper"):
    settings = SolveSettings(
        minlp_backend=backend,
        objective=objective,
        time_limit=TIME_LIMIT[formulation],
        options={"formulation": formulation},
    )
    return solve_minlp(instance(case), settings)


@cache
def exact_optimum(case, objective="paper"):
    """exact's certified optimum, or None (with the reason) when the method is missing."""
    if importlib.util.find_spec("llmv2x.solvers.exact") is None:
        return None
    from llmv2x.solvers.exact import solve_exact

    res = solve_exact(instance(case), SolveSettings(objective=objective))
    assert res.status == "optimal", res.message
    return res.objective


def need_exact(case, objective="paper"):
    opt = exact_optimum(case, objective)
    if opt is None:
        pytest.skip("llmv2x.solvers.exact is not there yet: exact cross-checks skipped")
    return opt


# ----- the strong formulation without a solver ------------------------------------------


def random_allocation(inst, rng, *, alpha_vertices=False, best_f=None, p_min=False):
    """A random feasible allocation (shares above the floors, summing to each budget)."""
    n, v = inst.n_vehicles, inst.vehicle
    if alpha_vertices:
        alpha = rng.choice([1.0, float(inst.layers)], size=n)
    else:
        alpha = rng.integers(1, inst.layers, endpoint=True, size=n).astype(float)
    p = v["p_min_w"] if p_min else rng.uniform(v["p_min_w"], v["p_max_w"])
    if best_f is not None:  # the settings whose best vehicle frequency to use
        f = strong_bounds(inst, best_f).f_vehicle_best_hz
    else:
        f = rng.uniform(v["f_min_hz"], v["f_max_hz"])
    b, fr = np.zeros(n), np.zeros(n)
    for m in inst.served_rsus:
        idx = inst.members[m]
        for arr, total, floor in (
            (b, inst.rsu["bandwidth_hz"][m], B_FLOOR_HZ),
            (fr, inst.rsu["f_max_hz"][m], F_RSU_FLOOR_HZ),
        ):
            w = rng.dirichlet(np.full(len(idx), 0.5))
            arr[idx] = floor + w * (total - floor * len(idx))
    return Allocation(alpha, np.array(p, float), b, np.array(f, float), fr)


@pytest.mark.parametrize("objective", ["paper", "latency"])
@pytest.mark.parametrize("case", CASES + [(0, 20, 5)])
def test_strong_bounds_hold_at_random_feasible_points(case, objective):
    inst = instance(case)
    settings = SolveSettings(objective=objective, omega_t=0.3)
    bd = strong_bounds(inst, settings)
    rng = np.random.default_rng(0)
    w = settings.omega_t
    from llmv2x.models.evaluator import rsu_layer_cost, vehicle_layer_cost

    for _ in range(200):
        a = random_allocation(inst, rng)
        assert evaluate(inst, a, settings).feasible
        terms = cost_terms(inst, a, settings)
        r = rates(inst, a.p_w, a.b_hz)
        lv, lr = vehicle_layer_cost(inst, w, a.f_vehicle_hz), rsu_layer_cost(inst, w, a.f_rsu_hz)
        tol = 1e-12
        for value, lo, hi in (
            (lv, bd.layer_vehicle_lo, bd.layer_vehicle_hi),
            (lr, bd.layer_rsu_lo, bd.layer_rsu_hi),
            (r, bd.rate_lo_bps, bd.rate_hi_bps),
            (terms.comm, bd.comm_lo, bd.comm_hi),
            (a.b_hz, B_FLOOR_HZ, bd.b_hi_hz),
            (a.f_rsu_hz, F_RSU_FLOOR_HZ, bd.f_rsu_hi_hz),
        ):
            assert np.all(value >= lo * (1 - tol)) and np.all(value <= hi * (1 + tol))


def _violation(m: pyo.ConcreteModel) -> float:
    """Largest relative violation of any active constraint or variable bound of ``m``."""
    worst = 0.0
    for con in m.component_data_objects(pyo.Constraint, active=True):
        body = pyo.value(con.body)
        for bound, sign in ((con.lower, -1.0), (con.upper, 1.0)):
            if bound is not None:
                b = pyo.value(bound)
                worst = max(worst, sign * (body - b) / max(1.0, abs(b)))
    for var in m.component_data_objects(pyo.Var):
        for bound, sign in ((var.lb, -1.0), (var.ub, 1.0)):
            if bound is not None:
                worst = max(worst, sign * (var.value - bound) / max(1.0, abs(bound)))
    return worst


@pytest.mark.parametrize(
    "objective,reductions",
    [("paper", False), ("paper", True), ("latency", False), ("latency", True)],
)
def test_strong_model_equals_p1_on_its_envelope(objective, reductions):
    """At any P1 point (meeting the reductions when on), lifted epigraph variables satisfy
    every constraint and cut of the strong model, and its objective equals eq. (10)."""
    inst = instance((3, 6, 2))
    settings = SolveSettings(objective=objective, omega_t=0.4)
    model = build_p1_strong(inst, settings, reductions=reductions)
    rng = np.random.default_rng(1)
    for _ in range(30):
        a = random_allocation(
            inst,
            rng,
            alpha_vertices=reductions,
            best_f=settings if reductions else None,
            p_min=reductions and objective == "paper",
        )
        lift(inst, settings, model, a)
        assert _violation(model) < 1e-9
        expected = evaluate(inst, a, settings).objective
        assert pyo.value(model.objective) == pytest.approx(expected, rel=1e-10)


# ----- runs through every available backend ---------------------------------------------


@pytest.mark.parametrize("formulation", ["plain", "strong"])
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("case", CASES)
def test_minlp_results_are_verified_and_honest(backend, formulation, case):
    res = run(backend, formulation, case)
    assert res.method == "minlp"
    assert res.solvers["formulation"] == formulation
    assert res.solvers["minlp"].startswith(backend)
    assert res.status in ("optimal", "converged", "feasible", "time_limit", "error"), res.message
    if res.allocation is not None:
        ev = evaluate(instance(case), res.allocation, SolveSettings())
        assert ev.feasible and ev.objective == pytest.approx(res.objective, rel=1e-12)
        assert "projection" in res.solvers
    if backend not in GLOBAL:
        assert res.status != "optimal" and res.lower_bound is None
    if res.lower_bound is not None:
        assert res.lower_bound <= res.objective * (1 + 1e-9)


@pytest.mark.parametrize("formulation", ["plain", "strong"])
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("case", CASES)
def test_minlp_agrees_with_exact(backend, formulation, case):
    opt = need_exact(case)
    res = run(backend, formulation, case)
    if res.objective is not None:
        assert res.objective >= opt * (1 - 1e-9)
    if res.lower_bound is not None:
        assert res.lower_bound <= opt * (1 + 1e-9)
    if res.status == "optimal":
        assert res.objective == pytest.approx(opt, rel=1e-6)


@pytest.mark.parametrize("case", CASES)
def test_strong_closes_what_plain_leaves_open_with_scip(case):
    plain, strong = run("scip", "plain", case), run("scip", "strong", case)
    assert strong.status == "optimal", strong.message
    assert strong.lower_bound is not None
    if plain.lower_bound is not None:
        assert strong.lower_bound >= plain.lower_bound
    if plain.objective is not None:
        assert strong.objective <= plain.objective * (1 + 1e-6)
    assert strong.solve_time_s < TIME_LIMIT["strong"]


def test_strong_latency_variant_matches_exact_with_scip():
    case = (4, 3, 1)
    settings = SolveSettings(
        minlp_backend="scip", objective="latency", time_limit=20, options={"formulation": "strong"}
    )
    res = solve_minlp(instance(case), settings)
    assert res.allocation is not None
    if res.lower_bound is not None:
        assert res.lower_bound <= res.objective * (1 + 1e-9)
    opt = exact_optimum(case, "latency")
    if opt is not None:
        assert res.objective >= opt * (1 - 1e-9)
        if res.lower_bound is not None:
            assert res.lower_bound <= opt * (1 + 1e-9)


def test_mindtpy_never_reports_optimal_or_a_bound():
    if "mindtpy" not in BACKENDS:
        pytest.skip(registry.availability("mindtpy", "minlp").describe("mindtpy"))
    for case in CASES:
        for formulation in ("plain", "strong"):
            res = run("mindtpy", formulation, case)
            assert res.status in ("converged", "feasible", "time_limit", "error")
            assert res.lower_bound is None


def test_gurobi_refuses_a_model_over_the_pip_licence_without_trying():
    avail = registry.availability("gurobi", "minlp")
    if avail.state is not State.LIMITED:
        pytest.skip(f"needs the size-limited licence: {avail.describe('gurobi')}")
    inst = generate_instance(seed=0, vehicles=50, rsus=5, name="n50")
    t0 = time.perf_counter()
    res = solve_minlp(inst, SolveSettings(minlp_backend="gurobi", time_limit=30))
    assert time.perf_counter() - t0 < 10
    assert res.status == "error" and res.message.startswith("gurobi: licence-limited")
    assert "\n" not in res.message


def test_cli_minlp_result_passes_evaluate(tmp_path, capsys):
    inst = instance((4, 3, 1))
    path, out = tmp_path / "inst.json", tmp_path / "res.json"
    inst.save(path)
    args = ["solve", str(path), "--method", "minlp", "--minlp-backend", "scip"]
    assert main([*args, "--formulation", "strong", "--time-limit", "20", "-o", str(out)]) == 0
    assert "formulation=strong" in capsys.readouterr().out
    assert main(["evaluate", str(path), str(out)]) == 0
