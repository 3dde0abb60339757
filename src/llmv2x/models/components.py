"""Small Pyomo component helpers shared by the builders of P1 and the sub-problems.

Variables are declared in scaled units so that IPOPT sees numbers near 1: frequencies in
GHz (``*_ghz``), bandwidth in MHz (``b_mhz``), power in W, alpha in layers. Every cost
expression converts back to SI and calls the formula in ``llmv2x.models.physics``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyomo.environ as pyo

from llmv2x.instances.schema import Instance
from llmv2x.models import physics
from llmv2x.models.constants import (
    B_FLOOR_HZ,
    BIT_PER_MBIT,
    F_RSU_FLOOR_HZ,
    FLOP_PER_GFLOP,
    HZ_PER_GHZ,
    HZ_PER_MHZ,
)
from llmv2x.settings import SolveSettings


def declare_sets(m: pyo.ConcreteModel, inst: Instance) -> None:
    """Sets N (vehicles), M (served RSUs) and the served (vehicle, RSU) pairs."""
    m.N = pyo.Set(initialize=range(inst.n_vehicles), ordered=True, doc="vehicles n")
    m.M = pyo.Set(initialize=[int(x) for x in inst.served_rsus], ordered=True, doc="served RSUs")
    m.served = pyo.Set(
        dimen=2,
        initialize=[(n, int(inst.association[n])) for n in range(inst.n_vehicles)],
        ordered=True,
        doc="(n, m) with chi_{n,m} = 1",
    )


def initial_frequency_hz(inst: Instance, settings: SolveSettings) -> np.ndarray:
    """Vehicle frequency minimising the per-layer cost (closed form), clipped to bounds."""
    v = inst.vehicle
    return np.clip(
        physics.best_frequency(settings.omega_t, v["kappa"]), v["f_min_hz"], v["f_max_hz"]
    )


def declare_alpha(m: pyo.ConcreteModel, inst: Instance, integer: bool, init: Any = None) -> None:
    """alpha_n, layers run on the vehicle: integer (10a) in P1, in [1, Upsilon] (11a) relaxed."""
    m.alpha = pyo.Var(
        m.N,
        within=pyo.Integers if integer else pyo.Reals,
        bounds=(1, inst.layers),
        initialize=(lambda _m, n: float(init[n])) if init is not None else 1.0,
        doc="(10a)/(11a) layers run on the vehicle",
    )


def declare_frequencies(
    m: pyo.ConcreteModel, inst: Instance, settings: SolveSettings, f_vehicle_hz=None, f_rsu_hz=None
) -> None:
    """f_vehicle_ghz (10d) and f_rsu_ghz on served pairs with the 1 MHz floor (10e)."""
    v = inst.vehicle
    fv0 = initial_frequency_hz(inst, settings) if f_vehicle_hz is None else f_vehicle_hz
    m.f_vehicle_ghz = pyo.Var(
        m.N,
        bounds=lambda _m, n: (v["f_min_hz"][n] / HZ_PER_GHZ, v["f_max_hz"][n] / HZ_PER_GHZ),
        initialize=lambda _m, n: float(fv0[n]) / HZ_PER_GHZ,
        doc="(10d) vehicle GPU frequency, GHz",
    )
    counts = np.bincount(inst.association, minlength=inst.n_rsus)
    fr = inst.rsu["f_max_hz"]

    def fr0(_m, n, r):
        if f_rsu_hz is not None:
            return float(f_rsu_hz[n]) / HZ_PER_GHZ
        return fr[r] / counts[r] / HZ_PER_GHZ

    m.f_rsu_ghz = pyo.Var(
        m.served,
        bounds=lambda _m, n, r: (F_RSU_FLOOR_HZ / HZ_PER_GHZ, fr[r] / HZ_PER_GHZ),
        initialize=fr0,
        doc="(10e) RSU m's GPU frequency share for vehicle n, GHz",
    )


def declare_radio_vars(m: pyo.ConcreteModel, inst: Instance, p_w=None, b_hz=None) -> None:
    """p_w (10b) and b_mhz (10c, with the 1 kHz floor) as variables."""
    v = inst.vehicle
    counts = np.bincount(inst.association, minlength=inst.n_rsus)
    bw = inst.rsu["bandwidth_hz"]
    m.p_w = pyo.Var(
        m.N,
        bounds=lambda _m, n: (v["p_min_w"][n], v["p_max_w"][n]),
        initialize=lambda _m, n: float(v["p_min_w"][n] if p_w is None else p_w[n]),
        doc="(10b) transmit power, W",
    )
    m.b_mhz = pyo.Var(
        m.N,
        bounds=lambda _m, n: (B_FLOOR_HZ / HZ_PER_MHZ, bw[inst.association[n]] / HZ_PER_MHZ),
        initialize=lambda _m, n: float(
            (bw[inst.association[n]] / counts[inst.association[n]] if b_hz is None else b_hz[n])
            / HZ_PER_MHZ
        ),
        doc="(10c) bandwidth share, MHz",
    )


def declare_radio_params(m: pyo.ConcreteModel, inst: Instance, p_w, b_hz) -> None:
    """p_w and b_mhz as mutable Params (fixed in sub-problem I)."""
    m.p_w = pyo.Param(m.N, mutable=True, initialize=lambda _m, n: float(p_w[n]), doc="W")
    m.b_mhz = pyo.Param(
        m.N, mutable=True, initialize=lambda _m, n: float(b_hz[n]) / HZ_PER_MHZ, doc="MHz"
    )


def declare_compute_costs(m: pyo.ConcreteModel, inst: Instance, settings: SolveSettings) -> None:
    """Expressions vehicle_cost[n] (eq. (5) without transmission) and rsu_cost[n] (eq. (9))."""
    v, r, w = inst.vehicle, inst.rsu, settings.omega_t
    # The formulas are unit-agnostic: with psi in GFLOP, f in GHz and kappa in W/GHz^3 they
    # give the same seconds and joules as in SI, and every constant the solver sees is O(1)
    # (kappa in SI is ~1e-26, below SCIP's zero tolerance; see docs/choices.md).
    psi = inst.psi / FLOP_PER_GFLOP
    kappa_v = v["kappa"] * HZ_PER_GHZ**3
    kappa_r = r["kappa"] * HZ_PER_GHZ**3

    def veh(_m, n):
        return _m.alpha[n] * physics.layer_cost(
            w,
            float(psi[n]),
            _m.f_vehicle_ghz[n],
            float(kappa_v[n]),
            float(v["gpu_cores"][n]),
            float(v["flops_per_cycle"][n]),
        )

    def rsu(_m, n):
        a = int(inst.association[n])
        return physics.rsu_share_cost(
            _m.alpha[n],
            inst.layers,
            w,
            float(psi[n]),
            _m.f_rsu_ghz[n, a],
            float(kappa_r[a]),
            float(r["gpu_cores"][a]),
            float(r["flops_per_cycle"][a]),
        )

    m.vehicle_cost = pyo.Expression(m.N, rule=veh, doc="(5) alpha_n (w_t T_n + w_e E_n)")
    m.rsu_cost = pyo.Expression(m.N, rule=rsu, doc="(9) (Y - alpha_n)(w_t T_nm + w_e E_nm)")


def rate_expr(m: pyo.ConcreteModel, inst: Instance, n: int) -> Any:
    """Uplink rate r_n (3) in Mbit/s as a Pyomo expression of p_w[n] and b_mhz[n].

    Eq. (3) with b in MHz and the SNR coefficient g_n / (sigma^2 * 1 MHz) folded into one
    O(1) constant: r/1e6 = b_mhz log2(1 + (g_n / (sigma^2 1e6)) p / b_mhz). In SI the two
    constants (g ~ 1e-11, sigma^2 1e6 ~ 4e-11) sit below SCIP's zero tolerance.
    """
    snr_coeff = float(inst.gain[n]) / (inst.noise_psd_w_per_hz * HZ_PER_MHZ)
    return physics.uplink_rate(m.b_mhz[n], m.p_w[n], snr_coeff, 1.0, log=pyo.log)


def declare_comm_costs(m: pyo.ConcreteModel, inst: Instance, settings: SolveSettings) -> None:
    """Expressions rate_mbps[n] (3) and comm_cost[n] (omega_e E^com, + omega_t T^com if latency).

    The cost ratio is taken in Mbit over Mbit/s, which is the same number as bit over bit/s.
    """
    m.rate_mbps = pyo.Expression(
        m.N, rule=lambda _m, n: rate_expr(_m, inst, n), doc="(3) uplink rate, Mbit/s"
    )
    m.comm_cost = pyo.Expression(
        m.N,
        rule=lambda _m, n: physics.transmit_cost(
            settings.omega_t,
            _m.p_w[n],
            float(inst.bits[n]) / BIT_PER_MBIT,
            _m.rate_mbps[n],
            settings.latency,
        ),
        doc="(4)-(5) w_e E^com (+ w_t T^com for latency)",
    )


def _budget(total: Any, cap: float, inequality: bool) -> Any:
    """``total == cap`` (P1) or ``total <= cap`` (``budgets=inequality``)."""
    return total <= cap if inequality else total == cap


def declare_bandwidth_budget(
    m: pyo.ConcreteModel, inst: Instance, inequality: bool = False
) -> None:
    """(10c): the bandwidth shares of RSU m's vehicles sum to (at most, ``inequality``) b_m^max."""
    m.bandwidth_budget = pyo.Constraint(
        m.M,
        rule=lambda _m, r: _budget(
            sum(_m.b_mhz[int(n)] for n in inst.members[r]),
            float(inst.rsu["bandwidth_hz"][r]) / HZ_PER_MHZ,
            inequality,
        ),
        doc="(10c) per-RSU bandwidth sums to b_max",
    )


def declare_frequency_budget(
    m: pyo.ConcreteModel, inst: Instance, inequality: bool = False
) -> None:
    """(10e): the frequency shares of RSU m sum to (at most, ``inequality``) f_m^max."""
    m.frequency_budget = pyo.Constraint(
        m.M,
        rule=lambda _m, r: _budget(
            sum(_m.f_rsu_ghz[int(n), r] for n in inst.members[r]),
            float(inst.rsu["f_max_hz"][r]) / HZ_PER_GHZ,
            inequality,
        ),
        doc="(10e) per-RSU GPU frequency shares sum to f_max",
    )


def layer_time_energy(inst: Instance, n: int, rsu: int | None) -> tuple[float, float]:
    """(T, E) of one layer of vehicle n at 1 GHz, on RSU ``rsu`` or on the vehicle (None).

    T scales as 1/f and E as f^2 (eqs. (1)-(2), (7)-(8)): at f GHz a layer takes T / f s and
    E f^2 J. The numbers are O(1e-3..1), which solvers' zero tolerances leave intact.
    """
    if rsu is None:
        src, i = inst.vehicle, n
    else:
        src, i = inst.rsu, rsu
    kappa, cores, fpc = (float(src[k][i]) for k in ("kappa", "gpu_cores", "flops_per_cycle"))
    psi = float(inst.psi[n])
    return (
        physics.compute_time(psi, HZ_PER_GHZ, cores, fpc),
        physics.compute_energy(psi, HZ_PER_GHZ, kappa, cores, fpc),
    )


def declare_deadlines(m: pyo.ConcreteModel, inst: Instance, time_expr: Any) -> None:
    """Deadlines: ``time_expr(m, n)`` (completion time, s) <= D_n for each vehicle with one.

    The completion time is alpha_n T_n^cmp + (Upsilon - alpha_n) T_nm^cmp + T_n^com
    (docs/formulation.md#problem-variants); each builder writes it in its own variables.
    The row is divided by D_n, so a solver's absolute feasibility tolerance (1e-6) is a
    relative one, as the evaluator's: a deadline of 0.05 s written in seconds let Gurobi's
    points miss it by 2e-5 relative.
    """
    has = [int(n) for n in np.flatnonzero(~np.isnan(inst.deadline_s))]
    m.deadline = pyo.Constraint(
        has,
        rule=lambda _m, n: time_expr(_m, n) / float(inst.deadline_s[n]) <= 1.0,
        doc="alpha T^cmp + (Upsilon - alpha) T^cmp_RSU + T^com <= D_n",
    )


def declare_energy_budgets(m: pyo.ConcreteModel, inst: Instance, energy_expr: Any) -> None:
    """Energy budgets: ``energy_expr(m, n)`` (the vehicle's energy, J) <= E_n for each vehicle
    with one: alpha_n E_n^cmp + E_n^com (docs/formulation.md#problem-variants). The row is
    divided by E_n, as the deadline's."""
    has = [int(n) for n in np.flatnonzero(~np.isnan(inst.energy_budget_j))]
    m.energy_budget = pyo.Constraint(
        has,
        rule=lambda _m, n: energy_expr(_m, n) / float(inst.energy_budget_j[n]) <= 1.0,
        doc="alpha E^cmp + E^com <= E_n",
    )
