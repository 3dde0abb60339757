"""Communication part: best power per bandwidth, convexity of phi_n(b), global bandwidth split."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import minimize_scalar

from llmv2x.instances import generate_instance
from llmv2x.models import physics
from llmv2x.models.constants import B_FLOOR_HZ
from llmv2x.models.evaluator import comm_cost
from llmv2x.settings import SolveSettings
from llmv2x.solvers.comm import _Radio, best_power, optimal_comm, optimal_snr

EPS = np.finfo(float).eps
OMEGAS = (0.0, 0.1, 0.5, 0.9, 1.0)
VARIANTS = ("paper", "latency")


@pytest.fixture(scope="module")
def crowded():
    """N = 30 on M = 3 RSUs: about ten vehicles per RSU, gains over many decades."""
    return generate_instance(seed=2, vehicles=30, rsus=3)


def _cost(inst, settings, n, p, b):
    """Vehicle n's communication cost through the evaluator's formula (physics.transmit_cost)."""
    p = np.broadcast_to(np.asarray(p, float), np.broadcast(p, b).shape)
    b = np.broadcast_to(np.asarray(b, float), p.shape)
    idx = np.full(p.shape, n)
    rate = physics.uplink_rate(b, p, inst.gain[idx], inst.noise_psd_w_per_hz)
    return physics.transmit_cost(settings.omega_t, p, inst.bits[idx], rate, settings.latency)


def test_optimal_snr_solves_its_equation_and_minimises_the_ratio():
    c = np.logspace(-10, 10, 81)
    x = optimal_snr(c)
    for ci, xi in zip(c, x, strict=True):

        def f(t, ci=ci):
            return (t + ci) / np.log1p(t)

        ref = minimize_scalar(lambda z, f=f: f(np.exp(z)), bounds=(-40, 40), method="bounded")
        assert f(xi) <= f(np.exp(ref.x)) * (1 + 1e-12)
        # stationarity (1 + x) ln(1 + x) - x = c, written without cancellation for small x
        lhs = np.log1p(xi) * (1 + xi) - xi if xi > 1e-3 else xi**2 / 2 - xi**3 / 6
        assert lhs == pytest.approx(ci, rel=1e-9)
    assert optimal_snr(np.array([0.0]))[0] == 0.0
    assert np.isinf(optimal_snr(np.array([np.inf]))[0])


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("omega_t", OMEGAS)
def test_best_power_beats_a_fine_grid(crowded, variant, omega_t):
    inst, s = crowded, SolveSettings(omega_t=omega_t, objective=variant)
    rng = np.random.default_rng(1)
    v = inst.vehicle
    for n in range(0, inst.n_vehicles, 3):
        b = np.exp(rng.uniform(np.log(1e3), np.log(2e7)))
        p = best_power(inst, s, np.full(inst.n_vehicles, b))[n]
        grid = np.geomspace(v["p_min_w"][n], v["p_max_w"][n], 20001)
        costs = _cost(inst, s, n, grid, b)
        assert _cost(inst, s, n, p, b) <= np.min(costs) * (1 + 1e-12) + 1e-300
        if variant == "paper":
            assert p == v["p_min_w"][n]


def test_paper_cost_increases_with_power(crowded):
    s = SolveSettings(omega_t=0.3)
    for n in range(crowded.n_vehicles):
        for b in (1e3, 1e5, 2e7):
            c = _cost(crowded, s, n, np.geomspace(0.1, 20.0, 200), b)
            assert np.all(np.diff(c) > 0)


def _phi_grid(inst, settings, b):
    radio = _Radio(inst, settings, np.arange(inst.n_vehicles))
    return radio, np.array([radio.phi(np.full(inst.n_vehicles, bi)) for bi in b])


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("omega_t", (0.05, 0.5, 0.95, 1.0))
def test_phi_is_convex_in_bandwidth(crowded, variant, omega_t):
    """Second differences of phi_n on a geometric grid from 1 kHz to 20 MHz are >= 0, also
    across the points where the best power leaves p_min or reaches p_max."""
    s = SolveSettings(omega_t=omega_t, objective=variant)
    b = np.geomspace(1e3, 2e7, 801)
    _, phi = _phi_grid(crowded, s, b)
    # convexity on a non-uniform grid: slopes of consecutive chords are non-decreasing
    slopes = np.diff(phi, axis=0) / np.diff(b)[:, None]
    rise = np.diff(slopes, axis=0)
    assert np.all(rise >= -1e-9 * np.abs(slopes[1:]))


def test_latency_power_crosses_both_bounds_on_the_grid(crowded):
    """The convexity test above covers all three pieces of phi_n (p_min, stationary, p_max)."""
    v = crowded.vehicle
    seen = set()
    for omega_t, b in [(w, b) for w in (0.05, 0.5, 0.95) for b in np.geomspace(1e3, 2e7, 60)]:
        s = SolveSettings(omega_t=omega_t, objective="latency")
        p = best_power(crowded, s, np.full(crowded.n_vehicles, b))
        seen |= {"min"} if np.any(p == v["p_min_w"]) else set()
        seen |= {"max"} if np.any(p == v["p_max_w"]) else set()
        seen |= {"free"} if np.any((p > v["p_min_w"]) & (p < v["p_max_w"])) else set()
    assert seen == {"min", "max", "free"}


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("omega_t", (0.1, 0.5, 0.9, 1.0))
def test_phi_derivatives_match_finite_differences(crowded, variant, omega_t):
    s = SolveSettings(omega_t=omega_t, objective=variant)
    radio = _Radio(crowded, s, np.arange(crowded.n_vehicles))
    for b0 in (2e3, 3e4, 5e5, 4e6):
        b = np.full(crowded.n_vehicles, b0)
        h = 1e-5 * b0
        d1, d2 = radio.derivatives(b)
        fd1 = (radio.phi(b + h) - radio.phi(b - h)) / (2 * h)
        up, dn = radio.derivatives(b + h)[0], radio.derivatives(b - h)[0]
        fd2 = (up - dn) / (2 * h)
        assert np.allclose(d1, fd1, rtol=1e-6)
        assert np.allclose(d2, fd2, rtol=1e-4)


def _assert_feasible(inst, p, b):
    v = inst.vehicle
    assert np.all(p >= v["p_min_w"]) and np.all(p <= v["p_max_w"])
    assert np.all(b >= B_FLOOR_HZ)
    for m in inst.served_rsus:
        idx = inst.members[m]
        bw = inst.rsu["bandwidth_hz"][m]
        assert abs(np.sum(b[idx]) - bw) <= 4 * EPS * bw


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("omega_t", OMEGAS)
def test_optimal_comm_is_feasible_certified_and_bounded(crowded, variant, omega_t):
    s = SolveSettings(omega_t=omega_t, objective=variant)
    p, b, certified, lb = optimal_comm(crowded, s)
    _assert_feasible(crowded, p, b)
    value = float(np.sum(comm_cost(crowded, omega_t, s.latency, p, b)))
    assert certified
    assert lb <= value * (1 + 1e-12)
    assert value - lb <= 1e-9 * value
    if variant == "paper":
        assert np.array_equal(p, crowded.vehicle["p_min_w"])


def test_one_vehicle_gets_all_bandwidth_and_the_grid_best_power(unserved_instance):
    inst = unserved_instance
    s = SolveSettings(omega_t=0.5, objective="latency")
    p, b, _, _ = optimal_comm(inst, s)
    for m in inst.served_rsus:
        idx = inst.members[m]
        if len(idx) != 1:
            continue
        n = int(idx[0])
        assert b[n] == inst.rsu["bandwidth_hz"][m]
        grid = np.geomspace(inst.vehicle["p_min_w"][n], inst.vehicle["p_max_w"][n], 40001)
        assert _cost(inst, s, n, p[n], b[n]) <= np.min(_cost(inst, s, n, grid, b[n])) * (1 + 1e-12)


@pytest.mark.parametrize("variant", VARIANTS)
def test_two_vehicle_rsu_beats_a_two_dimensional_grid(variant):
    inst = generate_instance(seed=5, vehicles=2, rsus=1)
    s = SolveSettings(omega_t=0.5, objective=variant)
    p, b, _, _ = optimal_comm(inst, s)
    ours = float(np.sum(comm_cost(inst, 0.5, s.latency, p, b)))
    bw = inst.rsu["bandwidth_hz"][0]
    b0 = np.linspace(B_FLOOR_HZ, bw - B_FLOOR_HZ, 2001)
    pg = np.geomspace(0.1, 20.0, 801)
    # inner: best p of each vehicle on the power grid, for every split on the bandwidth grid
    c0 = _cost(inst, s, 0, pg[None, :], b0[:, None]).min(axis=1)
    c1 = _cost(inst, s, 1, pg[None, :], (bw - b0)[:, None]).min(axis=1)
    assert ours <= np.min(c0 + c1) * (1 + 1e-12)


@pytest.mark.parametrize("variant", VARIANTS)
def test_ipopt_from_random_starts_is_never_better(variant):
    from cyipopt import minimize_ipopt

    inst = generate_instance(seed=8, vehicles=9, rsus=3)
    s = SolveSettings(omega_t=0.4, objective=variant)
    p, b, _, _ = optimal_comm(inst, s)
    rng = np.random.default_rng(0)
    v = inst.vehicle
    for m in inst.served_rsus:
        idx = inst.members[m]
        k = len(idx)
        bw = inst.rsu["bandwidth_hz"][m] / 1e6
        ours = float(np.sum(comm_cost(inst, 0.4, s.latency, p, b)[idx]))

        def obj(z, idx=idx, k=k):
            pp, bb = z[:k], z[k:] * 1e6
            rate = physics.uplink_rate(bb, pp, inst.gain[idx], inst.noise_psd_w_per_hz)
            return float(np.sum(physics.transmit_cost(0.4, pp, inst.bits[idx], rate, s.latency)))

        bounds = [(v["p_min_w"][n], v["p_max_w"][n]) for n in idx] + [(B_FLOOR_HZ / 1e6, bw)] * k
        for _ in range(2):
            z0 = np.concatenate(
                [rng.uniform(0.1, 20.0, k), rng.dirichlet(np.ones(k)) * bw * (1 - 1e-3)]
            )
            res = minimize_ipopt(
                obj,
                z0,
                bounds=bounds,
                constraints=[{"type": "eq", "fun": lambda z, k=k, bw=bw: np.sum(z[k:]) - bw}],
                options={"print_level": 0, "tol": 1e-10, "max_iter": 1000},
            )
            z = np.clip(res.x, [lo for lo, _ in bounds], [hi for _, hi in bounds])
            z[k:] *= bw / np.sum(z[k:])
            assert ours <= obj(z) * (1 + 1e-9)


def test_unserved_rsu_and_paper_without_energy_weight(unserved_instance):
    inst = unserved_instance
    p, b, certified, lb = optimal_comm(inst, SolveSettings(omega_t=1.0))
    _assert_feasible(inst, p, b)
    assert certified and lb == 0.0
    p, b, certified, _ = optimal_comm(inst, SolveSettings(omega_t=0.5, objective="latency"))
    _assert_feasible(inst, p, b)
    assert certified


def test_many_rsus_are_fast():
    import time

    inst = generate_instance(seed=0, vehicles=2000, rsus=500)
    for variant in VARIANTS:
        t0 = time.perf_counter()
        p, b, certified, _ = optimal_comm(inst, SolveSettings(objective=variant))
        assert time.perf_counter() - t0 < 2.0
        assert certified
        _assert_feasible(inst, p, b)


def test_best_power_does_not_decrease_with_bandwidth(crowded):
    """Step of the convexity proof: the three pieces of phi_n (p_min, stationary, p_max) are
    consecutive intervals of b because the best power is non-decreasing in b."""
    for omega_t in (0.05, 0.5, 0.95):
        s = SolveSettings(omega_t=omega_t, objective="latency")
        b = np.geomspace(1e3, 2e7, 400)
        p = np.array([best_power(crowded, s, np.full(crowded.n_vehicles, bi)) for bi in b])
        assert np.all(np.diff(p, axis=0) >= -1e-12 * p[1:])


def test_marginal_factor_c_over_log_increases():
    """Step of the convexity proof: c / ln(1 + x*(c)) is increasing in c."""
    c = np.logspace(-8, 8, 2001)
    ratio = c / np.log1p(optimal_snr(c))
    assert np.all(np.diff(ratio) > 0)
