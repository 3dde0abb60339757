"""A strengthened formulation of P1 (10) for spatial branch and bound (``--formulation strong``).

Same decision variables as ``llmv2x.models.p1.build_p1`` (so
``llmv2x.models.p1.allocation_from_model`` reads it), same optimal value, and a much
tighter relaxation. Two layers, each proven in docs/minlp.md:

1. *Valid for every feasible point* (a pure strengthening):
   tightened bounds on the shares (the other vehicles' floors), epigraph variables with
   bounds computed from the data for each vehicle's per-layer costs (``layer_cost_vehicle``,
   ``layer_cost_rsu``), its reciprocal frequencies (``inv_f_vehicle``, ``inv_f_rsu``), its
   rate (``rate_rel``, relative to its upper bound) and its transmit cost (``comm_t``),
   and tangent planes of the jointly concave rate (Lemma 1).
2. *Valid for at least one optimal point* (``reductions``, on by default): the vehicle
   frequency fixed at its closed-form optimum; p = p_min under the ``paper`` objective;
   alpha_n in {1, Upsilon} (the compute part is concave in alpha) through a binary
   ``all_local``, with the RSU term (Upsilon - 1)(1 - all_local) * layer cost linearised
   exactly (``rsu_cost_t``); and tangent cuts of the (then convex) transmit cost in b.

Both layers keep the optimal value of P1, so a solver's dual bound on this model is a valid
lower bound for P1 and its incumbent is feasible for P1.

The steps live in sibling modules, re-exported here: ``p1_strong_bounds`` (the bounds from
the data), ``p1_strong_cuts`` (envelopes and tangent cuts), ``p1_strong_variants``
(deadline/energy rows, alpha expansion); this module holds the reductions, the builder and
``lift``.
"""

from __future__ import annotations

import numpy as np
import pyomo.environ as pyo

from llmv2x.instances.schema import Instance
from llmv2x.models import components as c
from llmv2x.models import physics
from llmv2x.models.allocation import Allocation
from llmv2x.models.constants import HZ_PER_GHZ, HZ_PER_MHZ
from llmv2x.models.p1 import set_model_values
from llmv2x.models.p1_strong_bounds import (
    P_GRID,
    StrongBounds,
    _comm,
    _comm_grid_bound,
    _per_ghz,
    _rate,
    _rsu_layer,
    _snr_per_mhz,
    _vehicle_layer,
    strong_bounds,
)
from llmv2x.models.p1_strong_cuts import (
    COMM_B_GEOM,
    COMM_B_LIN,
    LN2,
    RATE_B_GEOM,
    RATE_B_LIN,
    RATE_P_POINTS,
    _b_points,
    _comm_tangents,
    _declare_layer_epigraph,
    _rate_tangents,
)
from llmv2x.models.p1_strong_variants import (
    PRODUCTS,
    alpha_times,
    declare_variant_rows,
    expand_alpha,
)
from llmv2x.problem import Problem
from llmv2x.settings import SolveSettings

__all__ = [
    "COMM_B_GEOM",
    "COMM_B_LIN",
    "LN2",
    "P_GRID",
    "RATE_B_GEOM",
    "RATE_B_LIN",
    "RATE_P_POINTS",
    "StrongBounds",
    "build_p1_strong",
    "lift",
    "strong_bounds",
    "valid_reductions",
]
# private step functions kept importable from this path
_STEPS = (
    _b_points,
    _comm,
    _comm_grid_bound,
    _comm_tangents,
    _declare_layer_epigraph,
    _per_ghz,
    _rate,
    _rate_tangents,
    _rsu_layer,
    _snr_per_mhz,
    _vehicle_layer,
)


def valid_reductions(problem: Problem, settings: SolveSettings) -> dict[str, bool]:
    """Which optimality-based reductions keep an optimal point of ``problem`` (docs/minlp.md).

    ``alpha`` (alpha_n in {1, Upsilon}) and ``f_vehicle`` (the vehicle frequency at its best
    value) hold without deadlines and energy budgets: either makes alpha's feasible range an
    interval with interior ends and prices the vehicle frequency. ``p_min`` (p = p_min under
    ``paper``) holds without deadlines: transmission energy p S / r(p, b) grows with p, so an
    energy budget only pushes p down. Budgets as inequalities and the association as a
    decision keep all three (each argument is made at a fixed association and fixed shares).
    """
    coupled = problem.deadlines or problem.energy_budgets
    return {
        "alpha": not coupled,
        "f_vehicle": not coupled,
        "p_min": not settings.latency and not problem.deadlines,
    }


def build_p1_strong(
    instance: Instance,
    settings: SolveSettings,
    reductions: bool | None = None,
    problem: Problem | None = None,
) -> pyo.ConcreteModel:
    """Build the strengthened P1: P1's variables and optimal value, a tighter relaxation.

    Parameters
    ----------
    instance : problem data.
    settings : omega_t, objective variant; ``settings.options["reductions"]`` (default True)
        switches the optimality-based reductions (layer 2 of the module docstring).
    reductions : overrides ``settings.options["reductions"]`` when given.
    problem : the variant (default ``Problem.of(instance, settings)``); only the reductions
        ``valid_reductions`` keeps are applied, and ``association=decision`` builds
        ``llmv2x.models.p1_association``'s model with them.

    Returns
    -------
    ConcreteModel with ``alpha``, ``p_w``, ``b_mhz``, ``f_vehicle_ghz``, ``f_rsu_ghz`` as in
    P1, the epigraph variables, and ``objective`` equal to eq. (10) (or the latency variant)
    when the epigraph variables sit on their envelopes (``lift``). Every coefficient is
    pre-scaled to lie roughly in [1e-4, 1e6].
    """
    if reductions is None:
        reductions = bool(settings.options.get("reductions", True))
    problem = problem or Problem.of(instance, settings)
    if problem.association_decision:
        from llmv2x.models.p1_association import build_p1_association

        return build_p1_association(instance, settings, problem, strong=reductions)
    red = (
        valid_reductions(problem, settings)
        if reductions
        else dict.fromkeys(("alpha", "f_vehicle", "p_min"), False)
    )
    inst, w = instance, settings.omega_t
    bd = strong_bounds(inst, settings)
    v = inst.vehicle
    m = pyo.ConcreteModel(name=f"P1-strong[{inst.name}]")
    c.declare_sets(m, inst)
    c.declare_alpha(m, inst, integer=True)
    c.declare_radio_vars(m, inst)
    c.declare_frequencies(m, inst, settings)
    assoc = [int(a) for a in inst.association]
    ups = inst.layers

    # ----- layer 1: share bounds from the other vehicles' floors -----
    for n in m.N:
        m.b_mhz[n].setub(float(bd.b_hi_hz[n]) / HZ_PER_MHZ)
        m.b_mhz[n].set_value(min(m.b_mhz[n].value, m.b_mhz[n].ub))
        fr = m.f_rsu_ghz[n, assoc[n]]
        fr.setub(float(bd.f_rsu_hi_hz[n]) / HZ_PER_GHZ)
        fr.set_value(min(fr.value, fr.ub))

    # ----- layer 2: optimality-based reductions -----
    fixed_p = red["p_min"]
    for n in m.N:
        if red["f_vehicle"]:
            m.f_vehicle_ghz[n].fix(float(bd.f_vehicle_best_hz[n]) / HZ_PER_GHZ)
        if fixed_p:
            m.p_w[n].fix(float(v["p_min_w"][n]))
    if red["alpha"]:
        m.all_local = pyo.Var(m.N, within=pyo.Binary, initialize=0, doc="1 iff alpha_n = Upsilon")
        m.alpha_split = pyo.Constraint(
            m.N,
            rule=lambda _m, n: _m.alpha[n] == 1 + (ups - 1) * _m.all_local[n],
            doc="(10a) reduced: alpha_n in {1, Upsilon} (compute part concave in alpha)",
        )

    # ----- compute part: reciprocal and per-layer-cost epigraphs -----
    _declare_layer_epigraph(m, inst, w, bd, "rsu", assoc)
    if not red["f_vehicle"]:
        _declare_layer_epigraph(m, inst, w, bd, "vehicle", assoc)
    if red["alpha"]:
        lv = [float(x) for x in bd.layer_vehicle_lo]  # the cost at the fixed best frequency

        def vehicle_expr(_m, n):
            if red["f_vehicle"]:
                return _m.alpha[n] * lv[n]
            return _m.alpha[n] * _m.layer_cost_vehicle[n]

        # (Upsilon - 1)(1 - z) layer, linearised exactly: z is binary and layer <= its bound
        lr_lo, lr_hi = bd.layer_rsu_lo, bd.layer_rsu_hi
        m.rsu_cost_t = pyo.Var(
            m.N,
            bounds=lambda _m, n: (0.0, (ups - 1) * float(lr_hi[n])),
            doc="(9) epigraph of (Upsilon - 1)(1 - all_local) layer_cost_rsu",
        )
        m.rsu_cost_on = pyo.Constraint(
            m.N,
            rule=lambda _m, n: (
                _m.rsu_cost_t[n]
                >= (ups - 1) * (_m.layer_cost_rsu[n] - float(lr_hi[n]) * _m.all_local[n])
            ),
            doc="(9) offloading vehicle: at least (Upsilon - 1) layer_cost_rsu",
        )
        m.rsu_cost_floor = pyo.Constraint(
            m.N,
            rule=lambda _m, n: (
                _m.rsu_cost_t[n] >= (ups - 1) * float(lr_lo[n]) * (1 - _m.all_local[n])
            ),
            doc="(9) offloading vehicle: at least (Upsilon - 1) times the layer-cost bound",
        )

        def rsu_expr(_m, n):
            return _m.rsu_cost_t[n]
    elif reductions and not red["f_vehicle"]:  # deadlines or energy budgets: alpha expanded
        expand_alpha(m, inst)
        uv = alpha_times(m, "layer_cost_vehicle")
        ur = alpha_times(m, "layer_cost_rsu")

        def vehicle_expr(_m, n):
            return sum(k * uv[n, k] for k in _m.K)

        def rsu_expr(_m, n):
            return sum((ups - k) * ur[n, k] for k in _m.K)
    else:

        def vehicle_expr(_m, n):
            if red["f_vehicle"]:
                return _m.alpha[n] * float(bd.layer_vehicle_lo[n])
            return _m.alpha[n] * _m.layer_cost_vehicle[n]

        def rsu_expr(_m, n):
            return (ups - _m.alpha[n]) * _m.layer_cost_rsu[n]

    m.vehicle_cost = pyo.Expression(m.N, rule=vehicle_expr, doc="(5) alpha_n * layer cost")
    m.rsu_cost = pyo.Expression(m.N, rule=rsu_expr, doc="(9) (Upsilon - alpha_n) * layer cost")

    # ----- communication part: rate hypograph and transmit-cost epigraph -----
    r_hi = _rate(inst, np.asarray(v["p_min_w"], float), bd.b_hi_hz) if fixed_p else bd.rate_hi_bps
    # rates are modelled relative to their upper bound: at the default noise a rate is only a
    # few kbit/s, which an absolute unit would drown in the solvers' feasibility tolerance
    scale = [float(x) for x in r_hi]
    m.rate_scale = pyo.Param(m.N, initialize=lambda _m, n: scale[n], doc="r_n^max, bit/s")
    m.rate_rel = pyo.Var(
        m.N,
        bounds=lambda _m, n: (float(bd.rate_lo_bps[n]) / scale[n], 1.0),
        initialize=1.0,
        doc="(3) hypograph variable of the uplink rate, r_n / r_n^max",
    )

    def rate_rule(_m, n):
        # r_n = b log2(1 + g p / (sigma^2 b)) written in MHz with a pre-scaled SNR coefficient
        r_mhz = physics.uplink_rate(_m.b_mhz[n], _m.p_w[n], _snr_per_mhz(inst, n), 1.0, pyo.log)
        return _m.rate_rel[n] <= (HZ_PER_MHZ / scale[n]) * r_mhz

    m.rate_def = pyo.Constraint(
        m.N, rule=rate_rule, doc="(3) rate_rel <= r_n(p, b) / r_n^max (r concave: convex)"
    )
    m.comm_t = pyo.Var(
        m.N,
        bounds=lambda _m, n: (float(bd.comm_lo[n]), float(bd.comm_hi[n])),
        doc="(4)-(5) epigraph variable of the transmit cost",
    )
    lat = 1.0 if settings.latency else 0.0
    m.comm_def = pyo.Constraint(
        m.N,
        rule=lambda _m, n: (
            _m.comm_t[n] * _m.rate_rel[n]
            >= float(inst.bits[n]) / scale[n] * (settings.omega_e * _m.p_w[n] + w * lat)
        ),
        doc="(4)-(5) comm_t * rate >= S_n (omega_e p_n + omega_t [latency])",
    )
    _rate_tangents(m, inst, bd, fixed_p, scale)
    if fixed_p:
        _comm_tangents(m, inst, settings, bd)
    m.objective = pyo.Objective(
        expr=sum(m.vehicle_cost[n] + m.rsu_cost[n] + m.comm_t[n] for n in m.N),
        sense=pyo.minimize,
        doc="(10) with epigraph variables: equal to P1's objective on the envelopes",
    )
    c.declare_bandwidth_budget(m, inst, problem.inequality)
    c.declare_frequency_budget(m, inst, problem.inequality)
    if problem.deadlines or problem.energy_budgets:
        declare_variant_rows(m, inst, problem, bd, scale)
    return m


def lift(
    instance: Instance, settings: SolveSettings, m: pyo.ConcreteModel, alloc: Allocation
) -> None:
    """Write a P1 point into a strong model, with the epigraph variables at their envelopes.

    At such a point the strong model's objective equals eq. (10) at ``alloc`` (a test
    checks it). With reductions on, ``alloc`` should satisfy them (alpha in {1, Upsilon},
    the vehicle frequency at its best value, p = p_min under ``paper``); fixed variables
    keep their fixed values.
    """
    inst, w = instance, settings.omega_t
    set_model_values(inst, m, alloc)
    if hasattr(m, "x"):  # association model: set_model_values put every variable on its envelope
        return
    p, b = np.asarray(alloc.p_w, float), np.asarray(alloc.b_hz, float)
    f_v, f_r = np.asarray(alloc.f_vehicle_hz, float), np.asarray(alloc.f_rsu_hz, float)
    layer_v, layer_r = _vehicle_layer(inst, w, f_v), _rsu_layer(inst, w, f_r)
    rate, comm = _rate(inst, p, b), _comm(inst, settings, p, b)
    for n in range(inst.n_vehicles):
        values = [
            (m.inv_f_rsu[n], HZ_PER_GHZ / f_r[n]),
            (m.layer_cost_rsu[n], layer_r[n]),
            (m.rate_rel[n], rate[n] / pyo.value(m.rate_scale[n])),
            (m.comm_t[n], comm[n]),
        ]
        if hasattr(m, "t_com"):
            values.append((m.t_com[n], float(inst.bits[n]) / rate[n]))
        if hasattr(m, "all_local"):
            local = float(alloc.alpha[n] >= inst.layers)
            values.append((m.all_local[n], local))
            values.append((m.rsu_cost_t[n], (inst.layers - 1) * (1 - local) * layer_r[n]))
        if hasattr(m, "inv_f_vehicle"):
            values += [
                (m.inv_f_vehicle[n], HZ_PER_GHZ / f_v[n]),
                (m.layer_cost_vehicle[n], layer_v[n]),
            ]
        for var, value in values:
            if not var.fixed:
                var.set_value(float(value), skip_validation=True)
    if hasattr(m, "K"):  # alpha expanded: the binaries and the products at alloc
        for n in range(inst.n_vehicles):
            for k in m.K:
                on = float(round(float(alloc.alpha[n])) == k)
                m.alpha_bin[n, k].set_value(on, skip_validation=True)
                for name in PRODUCTS:
                    u = getattr(m, f"{name}_by_alpha", None)
                    if u is not None:
                        q = pyo.value(getattr(m, name)[n])
                        u[n, k].set_value(on * float(q), skip_validation=True)
