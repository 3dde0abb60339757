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
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyomo.environ as pyo

from llmv2x.instances.schema import Instance
from llmv2x.models import components as c
from llmv2x.models import physics
from llmv2x.models.allocation import Allocation
from llmv2x.models.constants import B_FLOOR_HZ, F_RSU_FLOOR_HZ, HZ_PER_GHZ, HZ_PER_MHZ
from llmv2x.models.p1 import set_model_values
from llmv2x.models.p1_strong_variants import (
    PRODUCTS,
    alpha_times,
    declare_variant_rows,
    expand_alpha,
)
from llmv2x.problem import Problem
from llmv2x.settings import SolveSettings

#: Points of the p-grid of the rigorous transmit-cost lower bound (latency variant).
P_GRID = 257
#: Tangent points per vehicle: geometric from 10 kHz and linear over [b_hi/40, b_hi].
COMM_B_GEOM, COMM_B_LIN = 16, 48
RATE_B_GEOM, RATE_B_LIN = 6, 6
RATE_P_POINTS = 4
LN2 = float(np.log(2.0))


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
