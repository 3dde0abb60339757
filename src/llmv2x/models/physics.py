"""The system model of the paper, eqs. (1)-(10), each formula written once.

Every function is plain arithmetic, so the same code accepts floats, NumPy arrays
and Pyomo expressions. Functions that need a logarithm take it as ``log``
(``numpy.log`` by default, ``pyomo.environ.log`` in a builder). All quantities are in
SI units: Hz, W, s, J, bit, FLOP.

The hand-written first and second derivatives used by the SQP of sub-problem I,
eqs. (14)-(34), sit next to the formulas they differentiate.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

LN2 = math.log(2.0)

Num = Any  # float, numpy.ndarray or a Pyomo expression


def flops_per_layer(tokens: Num, hidden_size: Num, batch_size: Num) -> Num:
    """Forward FLOPs of one transformer layer, psi(d_n) = 24 B d h^2 + 4 B d^2 h (section II-A).

    Parameters
    ----------
    tokens : d_n, tokens of the request.
    hidden_size : h, hidden size of the model.
    batch_size : B.
    """
    return 24.0 * batch_size * tokens * hidden_size**2 + 4.0 * batch_size * tokens**2 * hidden_size


def activation_bits(tokens: Num, hidden_size: Num, batch_size: Num, bits_per_value: Num) -> Num:
    """Size S_n in bit of the activations a vehicle sends, B d_n h bits (docs/formulation.md)."""
    return batch_size * tokens * hidden_size * bits_per_value


def compute_time(psi: Num, f_hz: Num, cores: Num, flops_per_cycle: Num) -> Num:
    """Time in s of one layer on a GPU, eq. (1) for a vehicle and eq. (7) for an RSU share.

    T = psi / (f C D), with f in Hz, C cores and D FLOP per cycle per core.
    """
    return psi / (f_hz * cores * flops_per_cycle)


def compute_energy(psi: Num, f_hz: Num, kappa: Num, cores: Num, flops_per_cycle: Num) -> Num:
    """Energy in J of one layer on a GPU, eq. (2) for a vehicle and eq. (8) for an RSU share.

    E = kappa f^2 psi / (C D), kappa in W/(cycle/s)^3.
    """
    return kappa * f_hz**2 * psi / (cores * flops_per_cycle)


def layer_cost(
    omega_t: Num, psi: Num, f_hz: Num, kappa: Num, cores: Num, flops_per_cycle: Num
) -> Num:
    """Weighted cost of one layer, omega_t T + omega_e E, the bracket of eqs. (5) and (9)."""
    omega_e = 1.0 - omega_t
    return omega_t * compute_time(psi, f_hz, cores, flops_per_cycle) + omega_e * compute_energy(
        psi, f_hz, kappa, cores, flops_per_cycle
    )


def layer_cost_df(
    omega_t: Num, psi: Num, f_hz: Num, kappa: Num, cores: Num, flops_per_cycle: Num
) -> Num:
    """d/df of ``layer_cost``: -omega_t psi/(C D f^2) + 2 omega_e kappa f psi/(C D).

    This is the bracket of eqs. (15), (16), (22) and (23).
    """
    cd = cores * flops_per_cycle
    return -omega_t * psi / (cd * f_hz**2) + 2.0 * (1.0 - omega_t) * kappa * f_hz * psi / cd


def layer_cost_d2f(
    omega_t: Num, psi: Num, f_hz: Num, kappa: Num, cores: Num, flops_per_cycle: Num
) -> Num:
    """d2/df2 of ``layer_cost``: 2 omega_t psi/(C D f^3) + 2 omega_e kappa psi/(C D).

    This is the bracket of eqs. (25) and (28).
    """
    cd = cores * flops_per_cycle
    return 2.0 * omega_t * psi / (cd * f_hz**3) + 2.0 * (1.0 - omega_t) * kappa * psi / cd


def best_frequency(omega_t: Num, kappa: Num) -> Num:
    """Unconstrained minimiser of ``layer_cost`` in f: (omega_t / (2 omega_e kappa))^(1/3).

    Setting eq. (15) to zero (without its multiplier) gives this; it does not depend on
    psi, C, D or alpha. Callers clip it to the frequency bounds; omega_e = 0 gives +inf.
    """
    omega_e = 1.0 - np.asarray(omega_t, dtype=float)
    with np.errstate(divide="ignore"):
        return np.cbrt(np.asarray(omega_t, dtype=float) / (2.0 * omega_e * kappa))


def uplink_rate(
    b_hz: Num, p_w: Num, gain: Num, noise_psd: Num, log: Callable[[Num], Num] = np.log
) -> Num:
    """Uplink rate in bit/s, eq. (3): r = b log2(1 + g p / (sigma^2 b)).

    Parameters
    ----------
    b_hz : bandwidth share b_n (Hz).
    p_w : transmit power p_n (W).
    gain : linear channel gain g_n to the serving RSU.
    noise_psd : sigma^2, noise power spectral density (W/Hz).
    log : natural logarithm to use (numpy.log or pyomo.environ.log).
    """
    return b_hz * log(1.0 + gain * p_w / (noise_psd * b_hz)) / LN2


def transmit_time(bits: Num, rate: Num) -> Num:
    """Transmission time T_n^com = S_n / r_n in s, eq. (4)."""
    return bits / rate


def transmit_energy(p_w: Num, bits: Num, rate: Num) -> Num:
    """Transmission energy E_n^com = p_n S_n / r_n in J, eq. (4)."""
    return p_w * bits / rate


def transmit_cost(omega_t: Num, p_w: Num, bits: Num, rate: Num, latency: bool) -> Num:
    """Communication cost of one vehicle: omega_e E^com (eq. (5)), plus omega_t T^com if latency.

    Both variants are one ratio S_n (omega_t [latency] + omega_e p_n) / r_n, the form that
    sub-problem II (40)-(46) minimises.
    """
    omega_e = 1.0 - omega_t
    numerator = omega_e * p_w + (omega_t if latency else 0.0)
    return numerator * bits / rate


def vehicle_cost(
    alpha: Num,
    omega_t: Num,
    psi: Num,
    f_hz: Num,
    kappa: Num,
    cores: Num,
    flops_per_cycle: Num,
    comm_cost: Num,
) -> Num:
    """Cost_n^V of eq. (5): alpha_n (omega_t T^cmp + omega_e E^cmp) + communication cost."""
    return alpha * layer_cost(omega_t, psi, f_hz, kappa, cores, flops_per_cycle) + comm_cost


def rsu_share_cost(
    alpha: Num,
    layers: Num,
    omega_t: Num,
    psi: Num,
    f_hz: Num,
    kappa: Num,
    cores: Num,
    flops_per_cycle: Num,
) -> Num:
    """One vehicle's term of Cost_m^R, eq. (9): (Upsilon - alpha_n)(omega_t T_nm + omega_e E_nm)."""
    return (layers - alpha) * layer_cost(omega_t, psi, f_hz, kappa, cores, flops_per_cycle)
