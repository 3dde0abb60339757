"""The strong formulation's rows for deadlines and energy budgets (docs/minlp.md#problem-variants).

Split from ``llmv2x.models.p1_strong``: the transmission-time epigraph ``t_com``, the rows
themselves in the strong model's epigraph variables, and the binary expansion of alpha with
its exact products, used where the reduction alpha in {1, Upsilon} no longer holds.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pyomo.environ as pyo

from llmv2x.instances.schema import Instance
from llmv2x.models import components as c
from llmv2x.models.constants import HZ_PER_GHZ
from llmv2x.problem import Problem

if TYPE_CHECKING:
    from llmv2x.models.p1_strong import StrongBounds


def declare_variant_rows(
    m: pyo.ConcreteModel, inst: Instance, problem: Problem, bd: StrongBounds, scale: list[float]
) -> None:
    """Deadlines and energy budgets in the strong model's variables (docs/minlp.md).

    The transmission time gets its epigraph ``t_com`` (t_com rate_rel >= S / r^max); the
    reciprocal-frequency variables inv_f >= 1/f stand for 1/f. Both only overestimate time
    and energy, and equal them on their envelopes, so the feasible set is P1's.
    """
    bits = inst.bits
    m.t_com = pyo.Var(
        m.N,
        bounds=lambda _m, n: (float(bits[n]) / scale[n], float(bits[n] / bd.rate_lo_bps[n])),
        doc="(4) epigraph of the transmission time S_n / r_n, s",
    )
    m.t_com_def = pyo.Constraint(
        m.N, rule=lambda _m, n: _m.t_com[n] * _m.rate_rel[n] >= float(bits[n]) / scale[n]
    )
    coef = {n: c.layer_time_energy(inst, n, None) for n in range(inst.n_vehicles)}
    coef_r = {n: c.layer_time_energy(inst, n, int(inst.association[n])) for n in coef}

    def inv_fv(_m, n):
        if hasattr(_m, "inv_f_vehicle"):
            return _m.inv_f_vehicle[n]
        return 1.0 / pyo.value(_m.f_vehicle_ghz[n])

    ups = inst.layers
    if hasattr(m, "K"):  # alpha expanded: its products with 1/f and f^2 linearised exactly
        fv = inst.vehicle
        iv = alpha_times(m, "inv_f_vehicle")
        ir = alpha_times(m, "inv_f_rsu")
        sq = alpha_times(
            m,
            "f_vehicle_sq",
            (fv["f_min_hz"] / HZ_PER_GHZ) ** 2,
            (fv["f_max_hz"] / HZ_PER_GHZ) ** 2,
        )

        def time_expr(_m, n):
            return (
                sum(k * coef[n][0] * iv[n, k] + (ups - k) * coef_r[n][0] * ir[n, k] for k in _m.K)
                + _m.t_com[n]
            )

        def energy_expr(_m, n):
            return sum(k * coef[n][1] * sq[n, k] for k in _m.K) + _m.p_w[n] * _m.t_com[n]
    else:

        def time_expr(_m, n):
            return (
                _m.alpha[n] * coef[n][0] * inv_fv(_m, n)
                + (ups - _m.alpha[n]) * coef_r[n][0] * _m.inv_f_rsu[n]
                + _m.t_com[n]
            )

        def energy_expr(_m, n):
            return _m.alpha[n] * coef[n][1] * _m.f_vehicle_ghz[n] ** 2 + _m.p_w[n] * _m.t_com[n]

    if problem.deadlines:
        c.declare_deadlines(m, inst, time_expr)
    if problem.energy_budgets:
        c.declare_energy_budgets(m, inst, energy_expr)


#: The quantities multiplied by alpha through its binary expansion (``alpha_times``).
PRODUCTS = ("layer_cost_vehicle", "layer_cost_rsu", "inv_f_vehicle", "inv_f_rsu", "f_vehicle_sq")


def expand_alpha(m: pyo.ConcreteModel, inst: Instance) -> None:
    """alpha_n = sum_k k y_nk with one binary y_nk per value k in 1..Upsilon (sum_k y_nk = 1).

    Used when deadlines or energy budgets drop R3: the products of alpha with the per-layer
    costs, 1/f and f^2 then become sums of exact McCormick products of binaries
    (``alpha_times``), which SCIP relaxes far better than the bilinear alpha * cost.
    """
    m.K = pyo.RangeSet(1, inst.layers)
    m.alpha_bin = pyo.Var(m.N, m.K, within=pyo.Binary, doc="1 iff alpha_n = k")
    m.alpha_one = pyo.Constraint(m.N, rule=lambda _m, n: sum(_m.alpha_bin[n, k] for k in _m.K) == 1)
    m.alpha_sum = pyo.Constraint(
        m.N, rule=lambda _m, n: _m.alpha[n] == sum(k * _m.alpha_bin[n, k] for k in _m.K)
    )
    m.f_vehicle_sq = pyo.Expression(m.N, rule=lambda _m, n: _m.f_vehicle_ghz[n] ** 2)


def alpha_times(
    m: pyo.ConcreteModel, name: str, lo: np.ndarray | None = None, hi: np.ndarray | None = None
) -> pyo.Var:
    """u_nk >= y_nk * q_n for the model's component ``name`` q with lo <= q <= hi (default:
    the bounds of the variable q).

    u_nk >= q_n - hi_n (1 - y_nk) and u_nk >= lo_n y_nk: exact at binary y wherever u is
    pushed down (objective, deadline, energy budget), so sum_k k u_nk = alpha_n q_n there.
    """
    q = getattr(m, name)
    if lo is None or hi is None:
        lo = np.array([q[n].lb for n in m.N], float)
        hi = np.array([q[n].ub for n in m.N], float)
    u = pyo.Var(m.N, m.K, bounds=lambda _m, n, k: (0.0, float(hi[n])))
    m.add_component(f"{name}_by_alpha", u)
    m.add_component(
        f"{name}_by_alpha_on",
        pyo.Constraint(
            m.N,
            m.K,
            rule=lambda _m, n, k: u[n, k] >= q[n] - float(hi[n]) * (1 - _m.alpha_bin[n, k]),
        ),
    )
    m.add_component(
        f"{name}_by_alpha_lo",
        pyo.Constraint(
            m.N, m.K, rule=lambda _m, n, k: u[n, k] >= float(lo[n]) * _m.alpha_bin[n, k]
        ),
    )
    return u
