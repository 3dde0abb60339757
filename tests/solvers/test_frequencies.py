"""Optimal frequencies for fixed alpha: vehicle closed form, RSU split (KKT, SLSQP), exact sums."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import minimize, minimize_scalar

from llmv2x.instances import generate_instance
from llmv2x.models import physics
from llmv2x.models.constants import F_RSU_FLOOR_HZ
from llmv2x.settings import SolveSettings
from llmv2x.solvers.frequencies import (
    best_vehicle_frequency,
    optimal_frequencies,
    rsu_cost_derivatives,
    rsu_frequency_split,
    rsu_weights,
    solve_separable,
    split_rsu_frequencies,
)

EPS = np.finfo(float).eps
OMEGAS = (0.0, 0.1, 0.5, 0.9, 1.0)


@pytest.fixture(scope="module")
def crowded():
    """N = 40 vehicles on M = 3 RSUs: shares well below the unconstrained optimum."""
    return generate_instance(seed=4, vehicles=40, rsus=3)


def _rsu_objective(inst, settings, alpha, f_rsu):
    w = rsu_weights(inst, alpha)
    return float(
        np.sum(
            physics.layer_cost(
                settings.omega_t,
                w,
                f_rsu,
                inst.rsu_of("kappa"),
                inst.rsu_of("gpu_cores"),
                inst.rsu_of("flops_per_cycle"),
            )
        )
    )


def _assert_sums_exact(inst, f):
    for m in inst.served_rsus:
        idx = inst.members[m]
        fm = inst.rsu["f_max_hz"][m]
        assert abs(np.sum(f[idx]) - fm) <= 4 * EPS * fm
        assert np.all(f[idx] >= F_RSU_FLOOR_HZ)


@pytest.mark.parametrize("omega_t", OMEGAS)
def test_vehicle_frequency_minimises_layer_cost_for_every_alpha(small_instance, omega_t):
    inst, s = small_instance, SolveSettings(omega_t=omega_t)
    f = best_vehicle_frequency(inst, s)
    v = inst.vehicle
    for n in range(inst.n_vehicles):
        for alpha in (1.0, 7.5, 32.0):

            def cost(fg, n=n, alpha=alpha):
                return alpha * physics.layer_cost(
                    omega_t,
                    inst.psi[n],
                    fg * 1e9,
                    v["kappa"][n],
                    v["gpu_cores"][n],
                    v["flops_per_cycle"][n],
                )

            lo, hi = v["f_min_hz"][n] / 1e9, v["f_max_hz"][n] / 1e9
            ref = minimize_scalar(cost, bounds=(lo, hi), method="bounded", options={"xatol": 1e-12})
            assert cost(f[n] / 1e9) <= min(ref.fun, cost(lo), cost(hi)) * (1 + 1e-12)


def test_vehicle_frequency_extremes(small_instance):
    v = small_instance.vehicle
    assert np.array_equal(
        best_vehicle_frequency(small_instance, SolveSettings(omega_t=1.0)), v["f_max_hz"]
    )
    assert np.array_equal(
        best_vehicle_frequency(small_instance, SolveSettings(omega_t=0.0)), v["f_min_hz"]
    )


def _check_kkt(inst, settings, alpha, split):
    """Stationarity w h'(f) + sigma = 0 above the floor, >= 0 at the floor; sigma >= 0 with idle
    vehicles, and idle vehicles at the floor when sigma > 0."""
    f = split.f_rsu_hz
    w = rsu_weights(inst, alpha)
    all_n = np.arange(inst.n_vehicles)
    d1, _ = rsu_cost_derivatives(inst, settings, w, all_n)
    g = d1(f)
    # size of the two terms of h' (time and energy), the scale of its rounding error
    w_t = settings.omega_t
    t_part = rsu_cost_derivatives(inst, SolveSettings(omega_t=1.0), w, all_n)[0](f)
    e_part = rsu_cost_derivatives(inst, SolveSettings(omega_t=0.0), w, all_n)[0](f)
    size = w_t * np.abs(t_part) + (1 - w_t) * np.abs(e_part)
    for m in inst.served_rsus:
        idx = inst.members[m]
        sig = split.sigma[m]
        act = idx[w[idx] > 0]
        idle = idx[w[idx] == 0]
        if act.size == 0:
            continue
        scale = max(np.max(size[act]), abs(sig), 1e-300)
        free = act[f[act] > F_RSU_FLOOR_HZ * (1 + 1e-9)]
        floor = act[f[act] <= F_RSU_FLOOR_HZ * (1 + 1e-9)]
        assert np.all(np.abs(g[free] + sig) <= 1e-9 * scale)
        assert np.all(g[floor] + sig >= -1e-9 * scale)
        if idle.size:
            assert sig >= 0.0
            if sig > 1e-12 * scale:
                assert np.allclose(f[idle], F_RSU_FLOOR_HZ, rtol=1e-9)


@pytest.mark.parametrize("omega_t", OMEGAS)
@pytest.mark.parametrize("kind", ["offload", "integer", "fractional", "some_local"])
def test_rsu_split_is_a_kkt_point_with_exact_sums(crowded, omega_t, kind):
    inst, s = crowded, SolveSettings(omega_t=omega_t)
    rng = np.random.default_rng(7)
    n = inst.n_vehicles
    alpha = {
        "offload": np.ones(n),
        "integer": rng.integers(1, inst.layers + 1, n).astype(float),
        "fractional": rng.uniform(1, inst.layers, n),
        "some_local": np.where(rng.random(n) < 0.3, float(inst.layers), 1.0),
    }[kind]
    split = split_rsu_frequencies(inst, s, alpha)
    _assert_sums_exact(inst, split.f_rsu_hz)
    _check_kkt(inst, s, alpha, split)


def _slsqp_split(inst, settings, alpha, m, x0):
    idx = inst.members[m]
    w = rsu_weights(inst, alpha)[idx]
    r = inst.rsu
    fm = r["f_max_hz"][m] / 1e9

    def obj(x):
        return float(
            np.sum(
                physics.layer_cost(
                    settings.omega_t,
                    w,
                    x * 1e9,
                    r["kappa"][m],
                    r["gpu_cores"][m],
                    r["flops_per_cycle"][m],
                )
            )
        )

    res = minimize(
        obj,
        x0,
        method="SLSQP",
        bounds=[(F_RSU_FLOOR_HZ / 1e9, fm)] * len(idx),
        constraints=[{"type": "eq", "fun": lambda x: np.sum(x) - fm}],
        options={"ftol": 1e-14, "maxiter": 500},
    )
    x = np.maximum(res.x, F_RSU_FLOOR_HZ / 1e9)
    x *= fm / np.sum(x)
    return obj(x), obj


@pytest.mark.parametrize("omega_t", (0.1, 0.5, 0.9))
def test_rsu_split_never_worse_than_slsqp_from_random_starts(small_instance, omega_t):
    inst, s = small_instance, SolveSettings(omega_t=omega_t)
    rng = np.random.default_rng(3)
    for trial in range(4):
        alpha = rng.uniform(1, inst.layers, inst.n_vehicles)
        if trial == 3:
            alpha[0] = inst.layers  # one idle vehicle absorbs the leftover
        f = rsu_frequency_split(inst, s, alpha)
        for m in inst.served_rsus:
            idx = inst.members[m]
            x0 = rng.dirichlet(np.ones(len(idx))) * inst.rsu["f_max_hz"][m] / 1e9
            ref, obj = _slsqp_split(inst, s, alpha, m, x0)
            ours = obj(f[idx] / 1e9)
            assert ours <= ref * (1 + 1e-9)


def test_idle_vehicles_absorb_the_leftover_equally(crowded):
    inst, s = crowded, SolveSettings(omega_t=0.5)
    # one RSU: few offloaders, two idle vehicles, so the budget does not bind (sigma = 0)
    m = int(np.argmax([len(v) for v in inst.members]))
    idx = inst.members[m]
    alpha = np.full(inst.n_vehicles, float(inst.layers))
    alpha[idx[:2]] = 1.0
    split = split_rsu_frequencies(inst, s, alpha)
    f = split.f_rsu_hz
    assert split.sigma[m] == 0.0
    idle = idx[2:]
    assert np.allclose(f[idle], f[idle][0], rtol=1e-12)
    # the offloaders sit at the unconstrained optimum (omega_t / (2 omega_e kappa))^(1/3)
    best = physics.best_frequency(0.5, inst.rsu["kappa"][m])
    assert np.allclose(f[idx[:2]], best, rtol=1e-12)
    _assert_sums_exact(inst, f)


def test_time_only_sends_idle_vehicles_to_the_floor(crowded):
    inst, s = crowded, SolveSettings(omega_t=1.0)
    alpha = np.ones(inst.n_vehicles)
    alpha[[inst.members[m][0] for m in inst.served_rsus]] = inst.layers
    split = split_rsu_frequencies(inst, s, alpha)
    for m in inst.served_rsus:
        if len(inst.members[m]) < 3:
            continue  # one offloader alone takes the whole budget at its upper bound
        assert split.sigma[m] > 0
        assert split.f_rsu_hz[inst.members[m][0]] == pytest.approx(F_RSU_FLOOR_HZ, rel=1e-9)


def test_all_local_splits_equally(small_instance):
    inst = small_instance
    f = rsu_frequency_split(inst, SolveSettings(), np.full(inst.n_vehicles, float(inst.layers)))
    for m in inst.served_rsus:
        idx = inst.members[m]
        assert np.allclose(f[idx], inst.rsu["f_max_hz"][m] / len(idx), rtol=1e-14)


def test_unserved_rsu_is_ignored(unserved_instance):
    inst = unserved_instance
    split = split_rsu_frequencies(inst, SolveSettings(), np.ones(inst.n_vehicles))
    _assert_sums_exact(inst, split.f_rsu_hz)
    unserved = [m for m in range(inst.n_rsus) if len(inst.members[m]) == 0]
    assert np.all(np.isnan(split.sigma[unserved]))


def test_split_is_optimal_against_perturbations(crowded):
    inst, s = crowded, SolveSettings(omega_t=0.3)
    rng = np.random.default_rng(11)
    alpha = rng.uniform(1, inst.layers, inst.n_vehicles)
    f = rsu_frequency_split(inst, s, alpha)
    base = _rsu_objective(inst, s, alpha, f)
    for _ in range(50):
        m = rng.choice(inst.served_rsus)
        i, j = rng.choice(inst.members[m], 2, replace=False)
        g = f.copy()
        step = rng.uniform(-1, 1) * 1e-3 * min(g[i], g[j])
        g[i] += step
        g[j] -= step
        assert _rsu_objective(inst, s, alpha, g) >= base * (1 - 1e-14)


def test_solve_separable_matches_quadratic_closed_form():
    # phi_i(x) = q_i (x - c_i)^2 / 2 with one equality group and one inequality group
    rng = np.random.default_rng(0)
    q = rng.uniform(0.5, 2, 8)
    c = rng.uniform(1, 3, 8)
    group = np.array([0] * 4 + [1] * 4)
    total = np.array([6.0, 100.0])  # group 1 does not bind
    sol = solve_separable(
        lambda x: q * (x - c),
        lambda x: q + 0 * x,
        np.full(8, 1e-3),
        np.full(8, 50.0),
        group,
        total,
        inequality=np.array([False, True]),
    )
    lam0 = (np.sum(c[:4]) - 6.0) / np.sum(1 / q[:4])
    assert sol.lam[0] == pytest.approx(lam0, rel=1e-13)
    assert np.allclose(sol.x[:4], c[:4] - lam0 / q[:4], rtol=1e-13)
    assert sol.lam[1] == 0.0
    assert np.allclose(sol.x[4:], c[4:], rtol=1e-15)


def test_optimal_frequencies_returns_both_parts(small_instance):
    s = SolveSettings()
    fv, fr = optimal_frequencies(small_instance, s, np.ones(small_instance.n_vehicles))
    assert np.array_equal(fv, best_vehicle_frequency(small_instance, s))
    _assert_sums_exact(small_instance, fr)


def test_split_is_fast_for_many_rsus():
    import time

    inst = generate_instance(seed=0, vehicles=2000, rsus=500)
    t0 = time.perf_counter()
    f = rsu_frequency_split(inst, SolveSettings(), np.ones(inst.n_vehicles))
    assert time.perf_counter() - t0 < 1.0
    _assert_sums_exact(inst, f)
