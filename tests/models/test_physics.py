"""The formulas of eqs. (1)-(9) in llmv2x.models.physics: hand values and derivatives."""

from __future__ import annotations

import math

import numpy as np
import pyomo.environ as pyo
import pytest

from llmv2x.models import physics

# A vehicle GPU of the default scenario (docs/choices.md): C = 2048 cores, D = 2 FLOP/cycle,
# kappa for 40 W at 1.3 GHz.
CORES, FPC, KAPPA = 2048.0, 2.0, 40.0 / 1.3e9**3
PSI = 24.0 * 256 * 4096**2 + 4.0 * 256**2 * 4096


def test_flops_per_layer_matches_hand_computed_value():
    assert physics.flops_per_layer(256, 4096, 1) == 24 * 256 * 4096**2 + 4 * 256**2 * 4096
    assert physics.flops_per_layer(256, 4096, 1) == 104152956928.0


def test_flops_per_layer_scales_linearly_with_batch():
    assert physics.flops_per_layer(300, 1024, 3) == 3 * physics.flops_per_layer(300, 1024, 1)


def test_flops_per_layer_works_elementwise_on_arrays():
    d = np.array([128.0, 256.0, 512.0])
    out = physics.flops_per_layer(d, 4096.0, 1)
    assert out.shape == (3,)
    assert out[1] == PSI


def test_activation_bits_is_batch_tokens_hidden_bits():
    assert physics.activation_bits(256, 4096, 1, 16) == 256 * 4096 * 16


def test_compute_time_and_energy_match_hand_values():
    f = 1.0e9
    t = physics.compute_time(PSI, f, CORES, FPC)
    e = physics.compute_energy(PSI, f, KAPPA, CORES, FPC)
    assert t == pytest.approx(PSI / (f * CORES * FPC), rel=1e-15)
    assert e == pytest.approx(KAPPA * f**2 * PSI / (CORES * FPC), rel=1e-15)
    # power = energy per layer / time per layer = kappa f^3
    assert e / t == pytest.approx(KAPPA * f**3, rel=1e-12)


def test_uplink_rate_at_snr_one_is_the_bandwidth():
    # g p / (sigma^2 b) = 1e-10 * 1 / (1e-16 * 1e6) = 1, so r = b log2(2) = b
    assert physics.uplink_rate(1.0e6, 1.0, 1.0e-10, 1.0e-16) == pytest.approx(1.0e6, rel=1e-15)


def test_uplink_rate_at_snr_three_is_twice_the_bandwidth():
    assert physics.uplink_rate(2.0e6, 3.0, 2.0e-10, 1.0e-16) == pytest.approx(4.0e6, rel=1e-15)


def test_uplink_rate_matches_shannon_formula():
    b, p, g, s2 = 4.0e6, 0.7, 3.3e-12, 3.981e-17
    expected = b * math.log2(1.0 + g * p / (s2 * b))
    assert physics.uplink_rate(b, p, g, s2) == pytest.approx(expected, rel=1e-14)


def test_uplink_rate_with_pyomo_log_equals_numpy_value():
    m = pyo.ConcreteModel()
    m.b = pyo.Var(initialize=4.0e6)
    m.p = pyo.Var(initialize=0.7)
    expr = physics.uplink_rate(m.b, m.p, 3.3e-12, 3.981e-17, log=pyo.log)
    assert pyo.value(expr) == pytest.approx(
        physics.uplink_rate(4.0e6, 0.7, 3.3e-12, 3.981e-17), rel=1e-14
    )


def test_transmit_time_and_energy_are_bits_over_rate():
    assert physics.transmit_time(8.0e6, 2.0e6) == 4.0
    assert physics.transmit_energy(0.5, 8.0e6, 2.0e6) == 2.0


def test_transmit_cost_paper_charges_only_energy():
    w = 0.3
    cost = physics.transmit_cost(w, 0.5, 8.0e6, 2.0e6, latency=False)
    assert cost == pytest.approx((1.0 - w) * 0.5 * 4.0, rel=1e-15)


def test_transmit_cost_latency_adds_weighted_time():
    w = 0.3
    cost = physics.transmit_cost(w, 0.5, 8.0e6, 2.0e6, latency=True)
    assert cost == pytest.approx((1.0 - w) * 0.5 * 4.0 + w * 4.0, rel=1e-15)


def test_vehicle_cost_and_rsu_share_cost_multiply_the_layer_cost():
    lc = physics.layer_cost(0.4, PSI, 1.0e9, KAPPA, CORES, FPC)
    assert physics.vehicle_cost(5, 0.4, PSI, 1.0e9, KAPPA, CORES, FPC, 2.5) == pytest.approx(
        5 * lc + 2.5, rel=1e-15
    )
    assert physics.rsu_share_cost(5, 32, 0.4, PSI, 1.0e9, KAPPA, CORES, FPC) == pytest.approx(
        27 * lc, rel=1e-15
    )


@pytest.mark.parametrize("omega_t", [0.1, 0.5, 0.9])
@pytest.mark.parametrize("f_hz", [5.0e7, 3.0e8, 1.3e9])
def test_layer_cost_df_matches_central_difference(omega_t, f_hz):
    h = 1e-4 * f_hz

    def cost(f):
        return physics.layer_cost(omega_t, PSI, f, KAPPA, CORES, FPC)

    fd = (cost(f_hz + h) - cost(f_hz - h)) / (2 * h)
    exact = physics.layer_cost_df(omega_t, PSI, f_hz, KAPPA, CORES, FPC)
    assert exact == pytest.approx(fd, rel=1e-6)


@pytest.mark.parametrize("omega_t", [0.1, 0.5, 0.9])
@pytest.mark.parametrize("f_hz", [5.0e7, 3.0e8, 1.3e9])
def test_layer_cost_d2f_matches_central_difference_of_df(omega_t, f_hz):
    h = 1e-4 * f_hz

    def df(f):
        return physics.layer_cost_df(omega_t, PSI, f, KAPPA, CORES, FPC)

    fd = (df(f_hz + h) - df(f_hz - h)) / (2 * h)
    exact = physics.layer_cost_d2f(omega_t, PSI, f_hz, KAPPA, CORES, FPC)
    assert exact == pytest.approx(fd, rel=1e-6)
    assert exact > 0  # the layer cost is strictly convex in f


@pytest.mark.parametrize("omega_t", [0.05, 0.5, 0.95])
def test_best_frequency_minimises_layer_cost_on_a_fine_grid(omega_t):
    f_star = float(physics.best_frequency(omega_t, KAPPA))
    grid = np.linspace(0.2 * f_star, 5.0 * f_star, 200001)
    costs = physics.layer_cost(omega_t, PSI, grid, KAPPA, CORES, FPC)
    spacing = grid[1] - grid[0]
    assert abs(grid[np.argmin(costs)] - f_star) <= spacing
    assert physics.layer_cost_df(omega_t, PSI, f_star, KAPPA, CORES, FPC) == pytest.approx(
        0.0, abs=1e-9 * physics.layer_cost(omega_t, PSI, f_star, KAPPA, CORES, FPC) / f_star
    )


def test_best_frequency_extremes():
    assert physics.best_frequency(0.0, KAPPA) == 0.0
    assert np.isinf(physics.best_frequency(1.0, KAPPA))


def test_best_frequency_does_not_depend_on_workload():
    w = 0.5
    f_star = float(physics.best_frequency(w, KAPPA))
    for psi in (1.0e9, PSI, 1.0e13):
        assert physics.layer_cost_df(w, psi, f_star, KAPPA, CORES, FPC) == pytest.approx(
            0.0, abs=1e-12 * psi
        )
