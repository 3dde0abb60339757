"""SQP for sub-problem I (11): derivatives, convexification, and the relaxed optimum vs IPOPT."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyomo.environ as pyo
import pytest

from llmv2x.errors import SolveError
from llmv2x.instances import load_instance
from llmv2x.models.constants import HZ_PER_GHZ
from llmv2x.models.subproblem1 import build_subproblem1
from llmv2x.settings import SolveSettings
from llmv2x.solvers.ao import ao_start
from llmv2x.solvers.registry import get_backend
from llmv2x.solvers.sqp import (
    SubproblemIData,
    check_positive_definite,
    convexify,
    kkt_residual,
    solve_sqp,
)

INSTANCES_DIR = Path(__file__).resolve().parents[2] / "instances"

SMALL = [f"small-seed{i}" for i in range(5)]


def _load(name: str):
    return load_instance(INSTANCES_DIR / f"{name}.json")


def _x_of(alloc) -> np.ndarray:
    """An allocation's (alpha, f^V, f^R) in the SQP's variable order (frequencies in GHz)."""
    return np.concatenate(
        [alloc.alpha, alloc.f_vehicle_hz / HZ_PER_GHZ, alloc.f_rsu_hz / HZ_PER_GHZ]
    )


def _random_interior_point(data: SubproblemIData, rng: np.random.Generator) -> np.ndarray:
    """A point strictly inside the box; RSU shares kept above 50 MHz so 1/f stays moderate."""
    n = data.n
    lo, hi = data.lb.copy(), data.ub.copy()
    lo[2 * n :] = np.maximum(lo[2 * n :], 0.05)
    return lo + rng.uniform(0.1, 0.9, size=3 * n) * (hi - lo)


def _start(inst, settings, alpha0: float) -> np.ndarray:
    """AO's starting point with alpha = alpha0, projected onto (10e)."""
    data = SubproblemIData.build(inst, settings)
    alloc = ao_start(inst, settings.with_(options={"start_alpha": alpha0}))
    return data.restore(_x_of(alloc))


@pytest.fixture(scope="module")
def qp():
    return get_backend("highs", "qp")


@pytest.mark.parametrize("omega_t", [0.1, 0.5, 0.9])
def test_gradient_matches_central_differences_of_the_objective(omega_t):
    inst = _load("small-seed0")
    data = SubproblemIData.build(inst, SolveSettings(omega_t=omega_t))
    rng = np.random.default_rng(7)
    for _ in range(5):
        x = _random_interior_point(data, rng)
        g = data.gradient(x)
        fd = np.empty_like(x)
        for i in range(x.size):
            h = 1e-6 * max(1.0, abs(x[i]))
            e = np.zeros_like(x)
            e[i] = h
            fd[i] = (data.objective(x + e) - data.objective(x - e)) / (2 * h)
        scale = np.maximum(np.abs(g), 1e-3 * np.max(np.abs(g)))
        assert np.max(np.abs(fd - g) / scale) < 1e-6


@pytest.mark.parametrize("omega_t", [0.1, 0.5, 0.9])
def test_hessian_blocks_match_second_differences_of_the_objective(omega_t):
    inst = _load("small-seed1")
    data = SubproblemIData.build(inst, SolveSettings(omega_t=omega_t))
    n = data.n
    rng = np.random.default_rng(11)
    for _ in range(3):
        x = _random_interior_point(data, rng)
        blocks = data.hessian_blocks(x)
        for k in range(n):
            idx = [k, n + k, 2 * n + k]
            fd = np.empty((3, 3))
            for a, i in enumerate(idx):
                for b, j in enumerate(idx):
                    hi = 1e-4 * max(1.0, abs(x[i]))
                    hj = 1e-4 * max(1.0, abs(x[j]))
                    ei, ej = np.zeros_like(x), np.zeros_like(x)
                    ei[i], ej[j] = hi, hj
                    f = data.objective
                    fd[a, b] = (
                        f(x + ei + ej) - f(x + ei - ej) - f(x - ei + ej) + f(x - ei - ej)
                    ) / (4 * hi * hj)
            scale = max(np.max(np.abs(blocks[k])), 1e-12)
            assert np.max(np.abs(fd - blocks[k])) / scale < 1e-5, (k, fd, blocks[k])


def test_assembled_hessian_is_the_jacobian_of_the_gradient():
    """Central differences of the gradient over all 3N variables: the per-vehicle blocks are
    the whole Hessian (no coupling between vehicles is missing) and are exact to ~1e-8."""
    inst = _load("small-seed2")
    data = SubproblemIData.build(inst, SolveSettings(omega_t=0.4))
    x = _random_interior_point(data, np.random.default_rng(3))
    H = data.assemble(data.hessian_blocks(x)).toarray()
    fd = np.empty_like(H)
    for i in range(x.size):
        h = 1e-6 * max(1.0, abs(x[i]))
        e = np.zeros_like(x)
        e[i] = h
        fd[:, i] = (data.gradient(x + e) - data.gradient(x - e)) / (2 * h)
    assert np.max(np.abs(fd - H)) <= 1e-6 * np.max(np.abs(H))


def test_exact_hessian_is_indefinite_and_convexify_makes_every_block_positive_definite():
    inst = _load("paper-seed0")
    data = SubproblemIData.build(inst, SolveSettings())
    x = _random_interior_point(data, np.random.default_rng(5))
    blocks = data.hessian_blocks(x)
    assert np.min(np.linalg.eigvalsh(blocks)) < 0  # the alpha-f products
    with pytest.raises(SolveError, match="not positive definite"):
        check_positive_definite(blocks)
    fixed, changed = convexify(blocks)
    assert changed >= 1
    check_positive_definite(fixed)
    assert np.all(np.linalg.eigvalsh(fixed) > 0)
    np.testing.assert_allclose(fixed, np.transpose(fixed, (0, 2, 1)), rtol=0, atol=1e-12)
    # a positive definite block is left as it is
    spd = np.array([[[2.0, 0.5, 0.0], [0.5, 1.0, 0.1], [0.0, 0.1, 3.0]]])
    same, changed = convexify(spd)
    assert changed == 0
    np.testing.assert_allclose(same, spd, rtol=1e-12, atol=1e-14)


def test_check_positive_definite_refuses_an_indefinite_block_with_a_positive_diagonal():
    # the case HiGHS would accept: diagonal >= 0, yet an eigenvalue of -1
    block = np.array([[[1.0, 2.0, 0.0], [2.0, 1.0, 0.0], [0.0, 0.0, 1.0]]])
    with pytest.raises(SolveError):
        check_positive_definite(block)


@pytest.mark.parametrize("variant", ["paper", "latency"])
def test_objective_equals_the_pyomo_subproblem1_objective(variant):
    inst = _load("small-seed3")
    settings = SolveSettings(omega_t=0.3, objective=variant)
    data = SubproblemIData.build(inst, settings)
    base = ao_start(inst, settings)
    rng = np.random.default_rng(2)
    n = inst.n_vehicles
    for _ in range(5):
        x = _random_interior_point(data, rng)
        alloc = base.replace(
            alpha=x[:n], f_vehicle_hz=x[n : 2 * n] * HZ_PER_GHZ, f_rsu_hz=x[2 * n :] * HZ_PER_GHZ
        )
        model = build_subproblem1(inst, settings, alloc)
        assert data.objective(x) == pytest.approx(pyo.value(model.objective), rel=1e-12)


# omega_t = 0.5 and 0.9: on every small instance and start below, SQP and IPOPT reach the same
# local optimum. (At omega_t = 0.1 they reach different local optima from some starts - both
# are KKT points of the nonconvex relaxation - so that weight is not used for this check.)
@pytest.mark.parametrize("omega_t", [0.5, 0.9])
@pytest.mark.parametrize("name", SMALL)
def test_relaxed_optimum_equals_ipopt_on_the_same_subproblem(qp, name, omega_t):
    inst = _load(name)
    settings = SolveSettings(omega_t=omega_t)
    data = SubproblemIData.build(inst, settings)
    nlp = get_backend("cyipopt", "nlp")
    n = inst.n_vehicles
    base = ao_start(inst, settings)
    for alpha0 in (2.0, 16.5, 30.0):
        x0 = _start(inst, settings, alpha0)
        sq = solve_sqp(data, x0, qp)
        assert sq.status == "converged"
        alloc = base.replace(
            alpha=x0[:n], f_vehicle_hz=x0[n : 2 * n] * HZ_PER_GHZ, f_rsu_hz=x0[2 * n :] * HZ_PER_GHZ
        )
        model = build_subproblem1(inst, settings, alloc)
        out = nlp.solve(model, options={"tol": 1e-10})
        assert out.has_point
        ipopt_obj = pyo.value(model.objective)
        assert sq.objective == pytest.approx(ipopt_obj, rel=1e-6), (alpha0, sq.x[:n])


@pytest.mark.parametrize("omega_t", [0.1, 0.5, 0.9])
@pytest.mark.parametrize("name", ["small-seed0", "small-seed4", "paper-seed1"])
def test_returned_point_is_a_feasible_kkt_point_with_a_monotone_history(qp, name, omega_t):
    inst = _load(name)
    settings = SolveSettings(omega_t=omega_t)
    data = SubproblemIData.build(inst, settings)
    sq = solve_sqp(data, _start(inst, settings, (1 + inst.layers) / 2), qp)
    x = sq.x
    n = inst.n_vehicles

    assert sq.status == "converged"
    assert sq.kkt < 1e-6
    # recomputed independently of the value the solver stored
    assert kkt_residual(data, x, data.gradient(x), sq.multipliers) < 1e-6
    assert sq.objective == pytest.approx(data.objective(x), rel=1e-14)

    hist = sq.history
    assert {"objective", "step_norm", "kkt_residual", "radius"} <= set(hist.columns)
    assert len(hist) == sq.iterations
    obj = hist["objective"].to_numpy()
    # row t holds the objective at the start of iteration t: it only changes on acceptance
    tol = 1e-12 * abs(obj[0])
    assert np.all(np.diff(obj) <= tol)
    assert sq.objective <= obj[-1] + tol
    assert np.all(hist["radius"] > 0)

    assert np.all(x >= data.lb) and np.all(x <= data.ub)
    fr = x[2 * n :]
    for m in inst.served_rsus:
        idx = inst.members[m]
        total = inst.rsu["f_max_hz"][m] / HZ_PER_GHZ
        assert abs(np.sum(fr[idx]) - total) <= 1e-12 * total


def test_history_records_refused_steps_and_radius_changes(qp):
    """A start far from the optimum with a small radius: the radius grows on good steps."""
    inst = _load("paper-seed0")
    settings = SolveSettings()
    data = SubproblemIData.build(inst, settings)
    sq = solve_sqp(data, _start(inst, settings, 16.5), qp, radius0=0.01)
    assert sq.status == "converged"
    radius = sq.history["radius"].to_numpy()
    assert radius[0] == pytest.approx(0.01)
    assert np.max(radius) > 0.01


def test_sqp_at_omega_t_zero_does_not_stall_in_highs(qp):
    inst = _load("small-seed3")
    settings = SolveSettings(omega_t=0.0)
    data = SubproblemIData.build(inst, settings)
    # the time limit only keeps this test finite (the SQP retries a failed QP four times);
    # a healthy QP of this size takes milliseconds
    sq = solve_sqp(data, _start(inst, settings, 16.5), qp, options={"time_limit": 0.5})
    assert sq.status == "converged"


def test_sqp_on_large_converges_with_highs(qp):
    """On `large` HiGHS failed on some per-RSU step QPs (iteration limit, "Solve error", and
    "optimal" at a point that was not), so the SQP stopped with ``qp_iteration_limit`` after
    7 iterations. The session now checks each answer and retries a failed QP scaled, then
    with a looser primal tolerance."""
    inst = _load("large")
    settings = SolveSettings()
    data = SubproblemIData.build(inst, settings)
    sq = solve_sqp(data, _x_of(ao_start(inst, settings)), qp)
    assert sq.status == "converged"
    assert sq.kkt <= 1e-9
    assert np.all(sq.x >= data.lb) and np.all(sq.x <= data.ub)
    assert np.allclose(data.A @ sq.x, data.b, rtol=1e-12, atol=0)
