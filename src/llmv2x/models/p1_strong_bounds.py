"""Strong formulation, step 1: per-vehicle bounds computed from the data (docs/minlp.md, B1-B4).

``strong_bounds`` gives every epigraph variable of ``llmv2x.models.p1_strong`` its bounds
(layer costs, shares, rates, transmit cost); the small cost helpers here are shared with the
cuts (``p1_strong_cuts``) and with ``lift``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from llmv2x.instances.schema import Instance
from llmv2x.models import physics
from llmv2x.models.constants import B_FLOOR_HZ, F_RSU_FLOOR_HZ, HZ_PER_GHZ, HZ_PER_MHZ
from llmv2x.settings import SolveSettings

#: Points of the p-grid of the rigorous transmit-cost lower bound (latency variant).
P_GRID = 257


@dataclass(frozen=True)
class StrongBounds:
    """Per-vehicle bounds derived from the data (docs/minlp.md, layer 1, B1-B4).

    All arrays have one entry per vehicle, in SI units (Hz, bit/s, cost units of eq. (10)).
    """

    b_hi_hz: np.ndarray  # b_n <= B_m - (K_m - 1) b_floor
    f_rsu_hi_hz: np.ndarray  # f_nm <= F_m - (K_m - 1) f_floor
    f_vehicle_best_hz: np.ndarray  # argmin of the vehicle's per-layer cost on [f_min, f_max]
    f_rsu_best_hz: np.ndarray  # argmin of the RSU per-layer cost on the share's range
    layer_vehicle_lo: np.ndarray
    layer_vehicle_hi: np.ndarray
    layer_rsu_lo: np.ndarray
    layer_rsu_hi: np.ndarray
    rate_lo_bps: np.ndarray
    rate_hi_bps: np.ndarray
    comm_lo: np.ndarray
    comm_hi: np.ndarray


def _vehicle_layer(inst: Instance, w: float, f_hz: np.ndarray) -> np.ndarray:
    v = inst.vehicle
    return physics.layer_cost(w, inst.psi, f_hz, v["kappa"], v["gpu_cores"], v["flops_per_cycle"])


def _rsu_layer(inst: Instance, w: float, f_hz: np.ndarray) -> np.ndarray:
    return physics.layer_cost(
        w,
        inst.psi,
        f_hz,
        inst.rsu_of("kappa"),
        inst.rsu_of("gpu_cores"),
        inst.rsu_of("flops_per_cycle"),
    )


def _rate(inst: Instance, p_w: np.ndarray, b_hz: np.ndarray) -> np.ndarray:
    return physics.uplink_rate(b_hz, p_w, inst.gain, inst.noise_psd_w_per_hz)


def _comm(inst: Instance, settings: SolveSettings, p_w: np.ndarray, b_hz: np.ndarray) -> np.ndarray:
    return physics.transmit_cost(
        settings.omega_t, p_w, inst.bits, _rate(inst, p_w, b_hz), settings.latency
    )


def strong_bounds(instance: Instance, settings: SolveSettings) -> StrongBounds:
    """Bounds on every share, per-layer cost, rate and transmit cost, from the data alone.

    Parameters
    ----------
    instance : problem data.
    settings : omega_t and the objective variant.

    Returns
    -------
    StrongBounds, each entry valid at every feasible point of P1 (proofs in docs/minlp.md):
    per-layer costs are convex in f with minimiser (omega_t / (2 omega_e kappa))^(1/3); the
    rate increases in p and b; p / r(p, b) increases in p and decreases in b.
    """
    inst, w = instance, settings.omega_t
    v = inst.vehicle
    k = np.bincount(inst.association, minlength=inst.n_rsus)[inst.association]
    b_hi = inst.rsu_of("bandwidth_hz") - (k - 1) * B_FLOOR_HZ
    fr_hi = inst.rsu_of("f_max_hz") - (k - 1) * F_RSU_FLOOR_HZ
    f_lo, f_hi = np.asarray(v["f_min_hz"], float), np.asarray(v["f_max_hz"], float)
    fv_best = np.clip(physics.best_frequency(w, v["kappa"]), f_lo, f_hi)
    fr_best = np.clip(physics.best_frequency(w, inst.rsu_of("kappa")), F_RSU_FLOOR_HZ, fr_hi)
    lv_hi = np.maximum(_vehicle_layer(inst, w, f_lo), _vehicle_layer(inst, w, f_hi))
    lr_hi = np.maximum(
        _rsu_layer(inst, w, np.full(inst.n_vehicles, F_RSU_FLOOR_HZ)), _rsu_layer(inst, w, fr_hi)
    )
    p_lo, p_hi = np.asarray(v["p_min_w"], float), np.asarray(v["p_max_w"], float)
    b_floor = np.full(inst.n_vehicles, B_FLOOR_HZ)
    rate_lo, rate_hi = _rate(inst, p_lo, b_floor), _rate(inst, p_hi, b_hi)
    lat = 1.0 if settings.latency else 0.0
    e, t = settings.omega_e, w * lat
    # p / r(p, b) is increasing in p and decreasing in b; 1 / r decreases in p and b
    comm_lo = inst.bits * (e * p_lo / _rate(inst, p_lo, b_hi) + t / rate_hi)
    if settings.latency:
        comm_lo = np.maximum(comm_lo, _comm_grid_bound(inst, settings, p_lo, p_hi, b_hi))
    comm_hi = inst.bits * (e * p_hi + t) / rate_lo
    return StrongBounds(
        b_hi_hz=b_hi,
        f_rsu_hi_hz=fr_hi,
        f_vehicle_best_hz=fv_best,
        f_rsu_best_hz=fr_best,
        layer_vehicle_lo=_vehicle_layer(inst, w, fv_best),
        layer_vehicle_hi=lv_hi,
        layer_rsu_lo=_rsu_layer(inst, w, fr_best),
        layer_rsu_hi=lr_hi,
        rate_lo_bps=rate_lo,
        rate_hi_bps=rate_hi,
        comm_lo=comm_lo,
        comm_hi=comm_hi,
    )


def _comm_grid_bound(
    inst: Instance, settings: SolveSettings, p_lo: np.ndarray, p_hi: np.ndarray, b_hi: np.ndarray
) -> np.ndarray:
    """min over p-cells [p_i, p_i+1] of S (omega_e p_i + omega_t) / r(p_i+1, b_hi): a lower bound.

    On a cell the numerator is at least its value at p_i and the rate at most r(p_i+1, b_hi)
    (the rate increases in p and b), so each cell's quotient bounds the cost from below.
    """
    s = np.linspace(0.0, 1.0, P_GRID)[:, None]
    grid = p_lo[None, :] * (p_hi / p_lo)[None, :] ** s  # geometric grid, one column per vehicle
    lo, hi = grid[:-1], grid[1:]
    rate = physics.uplink_rate(b_hi[None, :], hi, inst.gain[None, :], inst.noise_psd_w_per_hz)
    cells = inst.bits[None, :] * (settings.omega_e * lo + settings.omega_t) / rate
    return np.min(cells, axis=0)


def _per_ghz(inst: Instance, n: int, at_rsu: bool) -> tuple[float, float]:
    """(T, E) of one layer of vehicle n at 1 GHz, on its RSU or on the vehicle.

    T scales as 1/f and E as f^2 (eqs. (1)-(2), (7)-(8)), so the per-layer cost at f GHz is
    omega_t T / f + omega_e E f^2: coefficients near 1e-3, not kappa ~ 1e-25 times
    (1e9 f)^2, which a solver's zero tolerance (SCIP's 1e-9) would swallow.
    """
    if at_rsu:
        a = int(inst.association[n])
        kappa, cores, fpc = (
            float(inst.rsu[k][a]) for k in ("kappa", "gpu_cores", "flops_per_cycle")
        )
    else:
        v = inst.vehicle
        kappa, cores, fpc = (float(v[k][n]) for k in ("kappa", "gpu_cores", "flops_per_cycle"))
    psi = float(inst.psi[n])
    return (
        physics.compute_time(psi, HZ_PER_GHZ, cores, fpc),
        physics.compute_energy(psi, HZ_PER_GHZ, kappa, cores, fpc),
    )


def _snr_per_mhz(inst: Instance, n: int) -> float:
    """g_n / (sigma^2 * 1 MHz) in 1/W: the SNR is this times p / b_MHz (order 1e-3..1)."""
    return float(inst.gain[n]) / (inst.noise_psd_w_per_hz * HZ_PER_MHZ)
