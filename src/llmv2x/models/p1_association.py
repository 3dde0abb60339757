"""P1 with the RSU association as a decision: binaries x_nm over each vehicle's links.

Used by ``build_p1`` and ``build_p1_strong`` when ``problem.association == "decision"``
(docs/formulation.md#association-as-a-decision). Each vehicle keeps one copy of its
variables (alpha, p, b, f^V, f^R); only the terms that depend on the RSU it picks are
written per link and switched by x_nm:

* the budgets (10c), (10e) sum per-link copies bb_nm = x_nm b_n and ff_nm = x_nm f^R_n,
  linearised exactly (x binary, b and f^R bounded: the four McCormick inequalities are the
  convex hull of the product);
* the rate is a hypograph ``rate_rel`` (relative to its largest value over the links):
  rate_rel_n <= sum_m rl_nm with rl_nm <= x_nm r_nm^max and rl_nm <= r_nm(p_n, b_n), so
  only the chosen link's rate counts and no big-M constant is needed;
* the RSU layer cost and (for deadlines) the RSU compute time are epigraphs with big-M
  bounds computed from the data (the cost at the 1 MHz floor or at F_m, whichever is larger).

The ``strong`` flag adds the optimality-based reductions still valid for the problem
(``llmv2x.models.p1_strong.valid_reductions``).

The steps live in sibling modules, re-exported here: ``p1_association_values`` (per-link
helpers, reading and writing a point) and ``p1_association_cuts`` (perspective cuts).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyomo.environ as pyo

from llmv2x.instances.schema import Instance
from llmv2x.models import components as c
from llmv2x.models import physics
from llmv2x.models.allocation import Allocation
from llmv2x.models.constants import (
    B_FLOOR_HZ,
    F_RSU_FLOOR_HZ,
    HZ_PER_GHZ,
    HZ_PER_MHZ,
)
from llmv2x.models.p1_association_cuts import CUT_POINTS, _perspective_cuts
from llmv2x.models.p1_association_values import (
    _links,
    _rate_bps,
    allocation_from_association_model,
    association_model_values,
)
from llmv2x.problem import Problem
from llmv2x.settings import SolveSettings

__all__ = [
    "CUT_POINTS",
    "allocation_from_association_model",
    "association_model_values",
    "build_p1_association",
]


def build_p1_association(
    instance: Instance,
    settings: SolveSettings,
    problem: Problem,
    strong: bool = False,
    start: Allocation | None = None,
) -> pyo.ConcreteModel:
    """Build P1 of ``problem`` (association a decision) in the plain or strong formulation.

    Variables: ``alpha``, ``p_w``, ``b_mhz``, ``f_vehicle_ghz``, ``f_rsu_ghz`` (one per
    vehicle), ``x`` (binary, per link), the per-link copies ``bb_mhz``, ``ff_ghz`` and the
    epigraph variables ``rate_rel``, ``t_com`` (s), ``rsu_cost`` and ``t_rsu`` (deadlines).
    The objective equals eq. (10) (or its latency variant) when the epigraph variables sit
    on their envelopes (``association_model_values`` puts them there).
    """
    from llmv2x.models.p1_strong import valid_reductions

    inst, w = instance, settings.omega_t
    we, lat = settings.omega_e, 1.0 if settings.latency else 0.0
    v, ups = inst.vehicle, inst.layers
    links = _links(inst)
    cand = {n: [int(r) for r in inst.candidates(n)] for n in range(inst.n_vehicles)}
    bw, fmax = inst.rsu["bandwidth_hz"], inst.rsu["f_max_hz"]
    b_hi = {n: max(float(bw[r]) for r in cand[n]) for n in cand}
    f_hi = {n: max(float(fmax[r]) for r in cand[n]) for n in cand}
    m = pyo.ConcreteModel(name=f"P1-association[{inst.name}]")
    m.N = pyo.Set(initialize=range(inst.n_vehicles), ordered=True, doc="vehicles n")
    rsus = sorted({r for _, r in links})
    m.M = pyo.Set(initialize=rsus, ordered=True, doc="RSUs some vehicle has a link to")
    m.L = pyo.Set(dimen=2, initialize=links, ordered=True, doc="links (n, m)")
    s = start
    assoc0 = inst.association if s is None or s.association is None else s.association
    c.declare_alpha(m, inst, integer=True, init=None if s is None else s.alpha)
    counts = np.bincount(assoc0, minlength=inst.n_rsus)
    fv0 = c.initial_frequency_hz(inst, settings) if s is None else s.f_vehicle_hz
    b0 = bw[assoc0] / counts[assoc0] if s is None else s.b_hz
    fr0 = fmax[assoc0] / counts[assoc0] if s is None else s.f_rsu_hz
    p0 = v["p_min_w"] if s is None else s.p_w
    m.p_w = pyo.Var(
        m.N,
        bounds=lambda _m, n: (v["p_min_w"][n], v["p_max_w"][n]),
        initialize=lambda _m, n: float(p0[n]),
        doc="(10b) transmit power, W",
    )
    m.b_mhz = pyo.Var(
        m.N,
        bounds=lambda _m, n: (B_FLOOR_HZ / HZ_PER_MHZ, b_hi[n] / HZ_PER_MHZ),
        initialize=lambda _m, n: float(b0[n]) / HZ_PER_MHZ,
        doc="(10c) bandwidth share at the chosen RSU, MHz",
    )
    m.f_vehicle_ghz = pyo.Var(
        m.N,
        bounds=lambda _m, n: (v["f_min_hz"][n] / HZ_PER_GHZ, v["f_max_hz"][n] / HZ_PER_GHZ),
        initialize=lambda _m, n: float(fv0[n]) / HZ_PER_GHZ,
        doc="(10d) vehicle GPU frequency, GHz",
    )
    m.f_rsu_ghz = pyo.Var(
        m.N,
        bounds=lambda _m, n: (F_RSU_FLOOR_HZ / HZ_PER_GHZ, f_hi[n] / HZ_PER_GHZ),
        initialize=lambda _m, n: float(fr0[n]) / HZ_PER_GHZ,
        doc="(10e) GPU frequency share at the chosen RSU, GHz",
    )
    m.x = pyo.Var(
        m.L,
        within=pyo.Binary,
        initialize=lambda _m, n, r: float(r == int(assoc0[n])),
        doc="x_nm = 1 iff vehicle n uses RSU m",
    )
    m.assign = pyo.Constraint(
        m.N, rule=lambda _m, n: sum(_m.x[n, r] for r in cand[n]) == 1, doc="one RSU each"
    )

    # ----- budgets over per-link copies (exact linearisation of x * b and x * f^R) -----
    def copies(name: str, var: Any, floor: float, cap: Any, hi: dict, unit: float) -> None:
        cp = pyo.Var(m.L, bounds=lambda _m, n, r: (0.0, float(cap[r]) / unit))
        m.add_component(name, cp)
        rules = {
            "on": lambda _m, n, r: cp[n, r] <= float(cap[r]) / unit * _m.x[n, r],
            "floor": lambda _m, n, r: cp[n, r] >= floor / unit * _m.x[n, r],
            "le": lambda _m, n, r: cp[n, r] <= var[n],
            "ge": lambda _m, n, r: cp[n, r] >= var[n] - hi[n] / unit * (1 - _m.x[n, r]),
        }
        for k, rule in rules.items():
            m.add_component(f"{name}_{k}", pyo.Constraint(m.L, rule=rule))

    copies("bb_mhz", m.b_mhz, B_FLOOR_HZ, bw, b_hi, HZ_PER_MHZ)
    copies("ff_ghz", m.f_rsu_ghz, F_RSU_FLOOR_HZ, fmax, f_hi, HZ_PER_GHZ)
    users = {r: [n for n, q in links if q == r] for r in rsus}
    if problem.inequality:
        m.bandwidth_budget = pyo.Constraint(
            m.M, rule=lambda _m, r: sum(_m.bb_mhz[n, r] for n in users[r]) <= bw[r] / HZ_PER_MHZ
        )
        m.frequency_budget = pyo.Constraint(
            m.M,
            rule=lambda _m, r: sum(_m.ff_ghz[n, r] for n in users[r]) <= fmax[r] / HZ_PER_GHZ,
        )
    else:  # (10c), (10e) hold at the RSUs serving someone: served_m = max_n x_nm
        m.served = pyo.Var(m.M, bounds=(0, 1), doc="1 iff RSU m serves a vehicle (implied 0/1)")
        m.served_ge = pyo.Constraint(m.L, rule=lambda _m, n, r: _m.served[r] >= _m.x[n, r])
        m.served_le = pyo.Constraint(
            m.M, rule=lambda _m, r: _m.served[r] <= sum(_m.x[n, r] for n in users[r])
        )
        m.bandwidth_budget = pyo.Constraint(
            m.M,
            rule=lambda _m, r: (
                sum(_m.bb_mhz[n, r] for n in users[r]) == bw[r] / HZ_PER_MHZ * _m.served[r]
            ),
        )
        m.frequency_budget = pyo.Constraint(
            m.M,
            rule=lambda _m, r: (
                sum(_m.ff_ghz[n, r] for n in users[r]) == fmax[r] / HZ_PER_GHZ * _m.served[r]
            ),
        )

    # ----- communication: per-link rate hypograph (M = 1), transmission-time epigraph -----
    red = valid_reductions(problem, settings) if strong else {}
    # rates relative to their largest possible value (at p_min when p is fixed there): a rate
    # is a few kbit/s, and a solver's absolute feasibility tolerance must stay relative to it
    p_top = v["p_min_w"] if red.get("p_min") else v["p_max_w"]
    scale = {n: max(_rate_bps(inst, n, r, float(p_top[n]), b_hi[n]) for r in cand[n]) for n in cand}
    r_lo = {
        n: min(_rate_bps(inst, n, r, float(v["p_min_w"][n]), B_FLOOR_HZ) for r in cand[n])
        for n in cand
    }
    m.rate_scale = pyo.Param(m.N, initialize=lambda _m, n: scale[n], doc="r_n^max, bit/s")
    m.omega_t = pyo.Param(initialize=w, doc="omega_t of the objective")
    m.rate_rel = pyo.Var(
        m.N, bounds=lambda _m, n: (r_lo[n] / scale[n], 1.0), initialize=1.0, doc="r_n / r_n^max"
    )

    # per-link rate copies: rl_nm <= x_nm r_nm^max and rl_nm <= r_nm(p_n, b_n), no big-M (a
    # big-M of 1 let SCIP's integrality tolerance on x leak ~1e-5 relative into the rate)
    r_max = {(n, r): _rate_bps(inst, n, r, float(p_top[n]), b_hi[n]) for n, r in links}
    m.rate_link = pyo.Var(
        m.L, bounds=lambda _m, n, r: (0.0, r_max[n, r] / scale[n]), doc="r_nm / r_n^max if x_nm"
    )
    m.rate_on = pyo.Constraint(
        m.L, rule=lambda _m, n, r: _m.rate_link[n, r] <= r_max[n, r] / scale[n] * _m.x[n, r]
    )

    def rate_rule(_m, n, r):
        snr = inst.link_gain(n, r) / (inst.noise_psd_w_per_hz * HZ_PER_MHZ)
        r_mhz = physics.uplink_rate(_m.b_mhz[n], _m.p_w[n], snr, 1.0, pyo.log)
        return _m.rate_link[n, r] <= HZ_PER_MHZ / scale[n] * r_mhz

    m.rate_def = pyo.Constraint(m.L, rule=rate_rule, doc="(3) with link m's gain")
    m.rate_sum = pyo.Constraint(
        m.N, rule=lambda _m, n: _m.rate_rel[n] <= sum(_m.rate_link[n, r] for r in cand[n])
    )
    bits = inst.bits
    m.t_com = pyo.Var(
        m.N,
        bounds=lambda _m, n: (float(bits[n]) / scale[n], float(bits[n]) / r_lo[n]),
        doc="(4) transmission time S_n / r_n, s",
    )
    m.t_com_def = pyo.Constraint(
        m.N, rule=lambda _m, n: _m.t_com[n] * _m.rate_rel[n] >= float(bits[n]) / scale[n]
    )

    # ----- compute: vehicle cost, RSU cost (and time) per link with derived big-M -----
    tv = {n: c.layer_time_energy(inst, n, None) for n in cand}
    tr = {(n, r): c.layer_time_energy(inst, n, r) for n, r in links}
    fl = F_RSU_FLOOR_HZ / HZ_PER_GHZ

    def layer_r(n: int, r: int, f: Any) -> Any:
        t, e = tr[n, r]
        return w * t / f + we * e * f**2

    big_c = {
        n: (ups - 1)
        * max(max(layer_r(n, r, fl), layer_r(n, r, f_hi[n] / HZ_PER_GHZ)) for r in cand[n])
        for n in cand
    }
    m.rsu_cost = pyo.Var(m.N, bounds=lambda _m, n: (0.0, big_c[n]), doc="(9) RSU cost epigraph")
    m.rsu_cost_def = pyo.Constraint(
        m.L,
        rule=lambda _m, n, r: (
            _m.rsu_cost[n]
            >= (ups - _m.alpha[n]) * layer_r(n, r, _m.f_rsu_ghz[n]) - big_c[n] * (1 - _m.x[n, r])
        ),
    )
    bd_fv = c.initial_frequency_hz(inst, settings)
    for n in m.N:
        if red.get("f_vehicle"):
            m.f_vehicle_ghz[n].fix(float(bd_fv[n]) / HZ_PER_GHZ)
        if red.get("p_min"):
            m.p_w[n].fix(float(v["p_min_w"][n]))
    if red.get("alpha"):
        m.all_local = pyo.Var(m.N, within=pyo.Binary, initialize=0, doc="1 iff alpha_n = Upsilon")
        m.alpha_split = pyo.Constraint(
            m.N, rule=lambda _m, n: _m.alpha[n] == 1 + (ups - 1) * _m.all_local[n]
        )

    if red.get("alpha") and red.get("p_min"):
        _perspective_cuts(m, inst, settings, links, cand, tr, fmax, f_hi)

    def veh(_m, n):
        t, e = tv[n]
        f = _m.f_vehicle_ghz[n]
        return _m.alpha[n] * (w * t / f + we * e * f**2)

    m.vehicle_cost = pyo.Expression(m.N, rule=veh, doc="(5) alpha_n (w_t T_n + w_e E_n)")
    m.comm_cost = pyo.Expression(
        m.N, rule=lambda _m, n: (we * _m.p_w[n] + w * lat) * _m.t_com[n], doc="(4)-(5)"
    )
    m.objective = pyo.Objective(
        expr=sum(m.vehicle_cost[n] + m.rsu_cost[n] + m.comm_cost[n] for n in m.N),
        sense=pyo.minimize,
    )
    if problem.deadlines:
        big_t = {n: (ups - 1) * max(tr[n, r][0] / fl for r in cand[n]) for n in cand}
        m.t_rsu = pyo.Var(m.N, bounds=lambda _m, n: (0.0, big_t[n]), doc="RSU compute time, s")
        m.t_rsu_def = pyo.Constraint(
            m.L,
            rule=lambda _m, n, r: (
                _m.t_rsu[n]
                >= (ups - _m.alpha[n]) * tr[n, r][0] / _m.f_rsu_ghz[n] - big_t[n] * (1 - _m.x[n, r])
            ),
        )
        c.declare_deadlines(
            m,
            inst,
            lambda _m, n: _m.alpha[n] * tv[n][0] / _m.f_vehicle_ghz[n] + _m.t_rsu[n] + _m.t_com[n],
        )
    if problem.energy_budgets:
        c.declare_energy_budgets(
            m,
            inst,
            lambda _m, n: (
                _m.alpha[n] * tv[n][1] * _m.f_vehicle_ghz[n] ** 2 + _m.p_w[n] * _m.t_com[n]
            ),
        )
    return m
