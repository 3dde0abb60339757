"""Strong formulation, step 2: envelopes and cuts (docs/minlp.md, layer 1 and reductions).

The epigraph of each vehicle's per-layer cost with its reciprocal frequency, tangent planes
of the jointly concave rate (Lemma 1) and tangent cuts of the transmit cost in b, declared
on the model that ``llmv2x.models.p1_strong.build_p1_strong`` builds.
"""

from __future__ import annotations

import numpy as np
import pyomo.environ as pyo

from llmv2x.instances.schema import Instance
from llmv2x.models.constants import B_FLOOR_HZ, F_RSU_FLOOR_HZ, HZ_PER_GHZ, HZ_PER_MHZ
from llmv2x.models.p1_strong_bounds import StrongBounds, _per_ghz, _snr_per_mhz
from llmv2x.settings import SolveSettings

#: Tangent points per vehicle: geometric from 10 kHz and linear over [b_hi/40, b_hi].
COMM_B_GEOM, COMM_B_LIN = 16, 48
RATE_B_GEOM, RATE_B_LIN = 6, 6
RATE_P_POINTS = 4
LN2 = float(np.log(2.0))


def _declare_layer_epigraph(
    m: pyo.ConcreteModel, inst: Instance, w: float, bd: StrongBounds, where: str, assoc: list
) -> None:
    """inv_f_<where> >= 1/f and layer_cost_<where> >= omega_t T/f + omega_e E f^2, bounded."""
    at_rsu = where == "rsu"
    v = inst.vehicle
    if at_rsu:
        freq = {n: m.f_rsu_ghz[n, assoc[n]] for n in m.N}
        f_lo = np.full(inst.n_vehicles, F_RSU_FLOOR_HZ)
        f_hi = bd.f_rsu_hi_hz
        lo, hi = bd.layer_rsu_lo, bd.layer_rsu_hi
    else:
        freq = {n: m.f_vehicle_ghz[n] for n in m.N}
        f_lo, f_hi = v["f_min_hz"], v["f_max_hz"]
        lo, hi = bd.layer_vehicle_lo, bd.layer_vehicle_hi
    inv = pyo.Var(
        m.N,
        bounds=lambda _m, n: (HZ_PER_GHZ / float(f_hi[n]), HZ_PER_GHZ / float(f_lo[n])),
        initialize=lambda _m, n: 1.0 / pyo.value(freq[n]),
        doc=f"1 / f ({where}) in 1/GHz, reciprocal epigraph",
    )
    m.add_component(f"inv_f_{where}", inv)
    m.add_component(
        f"inv_f_{where}_def",
        pyo.Constraint(
            m.N,
            rule=lambda _m, n: inv[n] * freq[n] >= 1,
            doc="(1)/(7) inv_f * f >= 1 (hyperbolic: convex for positive f)",
        ),
    )
    layer = pyo.Var(
        m.N,
        bounds=lambda _m, n: (float(lo[n]), float(hi[n])),
        doc=f"(1)-(2)/(7)-(8) epigraph of the per-layer cost ({where})",
    )
    m.add_component(f"layer_cost_{where}", layer)
    coef = [_per_ghz(inst, n, at_rsu) for n in range(inst.n_vehicles)]
    m.add_component(
        f"layer_cost_{where}_def",
        pyo.Constraint(
            m.N,
            rule=lambda _m, n: (
                layer[n] >= w * coef[n][0] * inv[n] + (1 - w) * coef[n][1] * freq[n] ** 2
            ),
            doc="(1)-(2)/(7)-(8) layer cost >= omega_t T(1 GHz) inv_f + omega_e E(1 GHz) f^2",
        ),
    )


def _rate_tangents(
    m: pyo.ConcreteModel, inst: Instance, bd: StrongBounds, fixed_p: bool, scale: list[float]
) -> None:
    """Tangent planes of the jointly concave rate (Lemma 1): r <= r(x_k) + grad . (x - x_k).

    Written in the model's units: b in MHz, rate relative to ``scale``.
    """
    v = inst.vehicle
    cuts = []
    for n in range(inst.n_vehicles):
        a = _snr_per_mhz(inst, n)
        p_pts = (
            [float(v["p_min_w"][n])]
            if fixed_p
            else list(np.geomspace(v["p_min_w"][n], v["p_max_w"][n], RATE_P_POINTS))
        )
        b_pts = _b_points(bd.b_hi_hz[n], RATE_B_GEOM, RATE_B_LIN) / HZ_PER_MHZ
        k = HZ_PER_MHZ / scale[n]
        for p0 in p_pts:
            for b0 in b_pts:
                snr = a * p0 / b0
                r0 = b0 * np.log1p(snr) / LN2
                dr_db = (np.log1p(snr) - snr / (1 + snr)) / LN2
                dr_dp = a / ((1 + snr) * LN2)
                cuts.append((n, k * r0, k * dr_db, k * dr_dp, b0, p0))
    m.rate_cut_index = pyo.RangeSet(0, len(cuts) - 1)

    def rule(_m, j):
        n, r0, dr_db, dr_dp, b0, p0 = cuts[j]
        rhs = r0 + dr_db * (_m.b_mhz[n] - b0)
        if not fixed_p:
            rhs = rhs + dr_dp * (_m.p_w[n] - p0)
        return _m.rate_rel[n] <= rhs

    m.rate_tangent = pyo.Constraint(m.rate_cut_index, rule=rule, doc="(3) tangent planes, Lemma 1")


def _b_points(b_hi_hz: float, n_geom: int, n_lin: int) -> np.ndarray:
    """Tangent points in b (Hz): geometric from 10 kHz, plus linear over the upper range."""
    b_hi = float(b_hi_hz)
    geom = np.geomspace(min(10 * B_FLOOR_HZ, b_hi), b_hi, n_geom)
    lin = np.linspace(b_hi / 40, b_hi, n_lin) if n_lin else np.empty(0)
    return np.unique(np.concatenate([geom, lin]))


def _comm_tangents(
    m: pyo.ConcreteModel, inst: Instance, settings: SolveSettings, bd: StrongBounds
) -> None:
    """With p fixed at p_min (paper variant), the transmit cost K / r(b) is convex in b.

    K = S_n omega_e p_min; its derivative is -K r'(b) / r(b)^2 with
    r'(b) = (ln(1 + s) - s / (1 + s)) / ln 2 and s = g p / (sigma^2 b).
    """
    v = inst.vehicle
    cuts = []
    for n in range(inst.n_vehicles):
        p0 = float(v["p_min_w"][n])
        a = _snr_per_mhz(inst, n)
        k = float(inst.bits[n]) * settings.omega_e * p0 / HZ_PER_MHZ  # rates below in Mbit/s
        for b0 in _b_points(bd.b_hi_hz[n], COMM_B_GEOM, COMM_B_LIN) / HZ_PER_MHZ:
            snr = a * p0 / b0
            r0 = b0 * np.log1p(snr) / LN2
            dr_db = (np.log1p(snr) - snr / (1 + snr)) / LN2
            cuts.append((n, k / r0, -k * dr_db / r0**2, b0))
    m.comm_cut_index = pyo.RangeSet(0, len(cuts) - 1)

    def rule(_m, j):
        n, c0, slope, b0 = cuts[j]
        return _m.comm_t[n] >= c0 + slope * (_m.b_mhz[n] - b0)

    m.comm_tangent = pyo.Constraint(
        m.comm_cut_index, rule=rule, doc="(4)-(5) tangents of the transmit cost, convex in b"
    )
