"""Association model, strong layer: perspective cuts of the per-link costs (docs/minlp.md).

Declared by ``llmv2x.models.p1_association.build_p1_association`` when the strong
formulation's reductions are on.
"""

from __future__ import annotations

import numpy as np
import pyomo.environ as pyo

from llmv2x.instances.schema import Instance
from llmv2x.models.constants import (
    F_RSU_FLOOR_HZ,
    HZ_PER_GHZ,
    HZ_PER_MHZ,
)
from llmv2x.models.p1_strong_cuts import COMM_B_GEOM, COMM_B_LIN, _b_points
from llmv2x.settings import SolveSettings

#: Tangent points per link in f^R of the perspective cuts (``_perspective_cuts``).
CUT_POINTS = 48


def _perspective_cuts(
    m: pyo.ConcreteModel,
    inst: Instance,
    settings: SolveSettings,
    links: list[tuple[int, int]],
    cand: dict,
    tr: dict,
    fmax: np.ndarray,
    f_hi: dict,
) -> None:
    """Linear cuts from the perspectives of the per-link costs (strong, reductions on).

    With p = p_min the transmit cost h_m(b) = S omega_e p / r_nm(b) is convex in b, and the
    RSU layer cost g_m(f) convex in f; for x in {0, 1}, x h(b / x) >= h(b0) x + h'(b0)(b - b0 x)
    holds with b the per-link copy bb_nm (0 when x = 0), so summing over the links bounds the
    vehicle's cost from below, linearly in (x, bb). The RSU term (Upsilon - 1)(1 - z) g uses
    w_nm = x_nm (1 - z_n) and its own copy of f^R (both exact McCormick, all binary-bounded).
    """
    w, we, ups = settings.omega_t, settings.omega_e, inst.layers
    v = inst.vehicle
    m.w_off = pyo.Var(m.L, bounds=(0, 1), doc="x_nm (1 - all_local_n)")
    m.w_off_a = pyo.Constraint(m.L, rule=lambda _m, n, r: _m.w_off[n, r] <= _m.x[n, r])
    m.w_off_b = pyo.Constraint(m.L, rule=lambda _m, n, r: _m.w_off[n, r] <= 1 - _m.all_local[n])
    m.w_off_c = pyo.Constraint(
        m.L, rule=lambda _m, n, r: _m.w_off[n, r] >= _m.x[n, r] - _m.all_local[n]
    )
    fl = F_RSU_FLOOR_HZ / HZ_PER_GHZ
    m.ffw = pyo.Var(m.L, bounds=lambda _m, n, r: (0.0, float(fmax[r]) / HZ_PER_GHZ))
    m.ffw_a = pyo.Constraint(
        m.L, rule=lambda _m, n, r: _m.ffw[n, r] <= float(fmax[r]) / HZ_PER_GHZ * _m.w_off[n, r]
    )
    m.ffw_b = pyo.Constraint(m.L, rule=lambda _m, n, r: _m.ffw[n, r] >= fl * _m.w_off[n, r])
    m.ffw_c = pyo.Constraint(m.L, rule=lambda _m, n, r: _m.ffw[n, r] <= _m.f_rsu_ghz[n])
    m.ffw_d = pyo.Constraint(
        m.L,
        rule=lambda _m, n, r: (
            _m.ffw[n, r] >= _m.f_rsu_ghz[n] - f_hi[n] / HZ_PER_GHZ * (1 - _m.w_off[n, r])
        ),
    )
    comm, rsu = [], []
    for n, r in links:
        p0 = float(v["p_min_w"][n])
        a = inst.link_gain(n, r) / (inst.noise_psd_w_per_hz * HZ_PER_MHZ)
        k = float(inst.bits[n]) * we * p0 / HZ_PER_MHZ
        b_hi = float(inst.rsu["bandwidth_hz"][r]) / HZ_PER_MHZ
        for b0 in _b_points(b_hi * HZ_PER_MHZ, COMM_B_GEOM, COMM_B_LIN) / HZ_PER_MHZ:
            snr = a * p0 / b0
            r0 = b0 * np.log1p(snr) / np.log(2.0)
            dr = (np.log1p(snr) - snr / (1 + snr)) / np.log(2.0)
            comm.append((n, r, k / r0, -k * dr / r0**2, b0))
        t, e = tr[n, r]
        for f0 in np.geomspace(fl, float(fmax[r]) / HZ_PER_GHZ, CUT_POINTS):
            rsu.append((n, r, w * t / f0 + we * e * f0**2, -w * t / f0**2 + 2 * we * e * f0, f0))
    m.comm_link = pyo.Var(m.L, bounds=(0, None), doc="per-link transmit cost lower bound")
    m.comm_cut = pyo.Constraint(
        range(len(comm)),
        rule=lambda _m, j: (
            _m.comm_link[comm[j][:2]]
            >= comm[j][2] * _m.x[comm[j][:2]]
            + comm[j][3] * (_m.bb_mhz[comm[j][:2]] - comm[j][4] * _m.x[comm[j][:2]])
        ),
    )
    m.comm_sum = pyo.Constraint(
        m.N,
        rule=lambda _m, n: we * _m.p_w[n] * _m.t_com[n] >= sum(_m.comm_link[n, r] for r in cand[n]),
    )
    m.rsu_link = pyo.Var(m.L, bounds=(0, None), doc="per-link RSU layer cost lower bound")
    m.rsu_cut = pyo.Constraint(
        range(len(rsu)),
        rule=lambda _m, j: (
            _m.rsu_link[rsu[j][:2]]
            >= rsu[j][2] * _m.w_off[rsu[j][:2]]
            + rsu[j][3] * (_m.ffw[rsu[j][:2]] - rsu[j][4] * _m.w_off[rsu[j][:2]])
        ),
    )
    m.rsu_sum = pyo.Constraint(
        m.N,
        rule=lambda _m, n: _m.rsu_cost[n] >= (ups - 1) * sum(_m.rsu_link[n, r] for r in cand[n]),
    )
