"""Exercise 2, reference answer: per-RSU budgets (10c), (10e) as inequalities.

With ``sum_n f_nm <= f_max`` an RSU no longer has to hand out all of its GPU frequency, so the
vehicles that offload can each run at the RSU's cost-optimal frequency f*_R whenever their
number k satisfies k f*_R <= f_max. No vehicle has to keep all its layers just to absorb the
leftover frequency: the "frequency sink" of docs/choices.md disappears. The bandwidth budget
stays tight, because the communication cost decreases in b_n.

The optimum is computed by the same structure as method ``exact`` (docs/exact.md): the
compute part is still concave in a relaxed alpha (a minimum of affine functions over a feasible
set that does not depend on alpha), so every alpha_n is 1 or Upsilon, and RSUs are independent;
here each RSU's 2^k choices are simply enumerated (fine for the small k of an exercise).

:func:`package_inequality` moves on to the package's own ``budgets="inequality"``, also with
deadlines: the sink stays away and frequency stays unused even when deadlines bind.
"""

from __future__ import annotations

import itertools

import numpy as np
import pyomo.environ as pyo

from llmv2x import Allocation, Instance, SolveSettings
from llmv2x.models import physics
from llmv2x.models.constants import F_RSU_FLOOR_HZ, HZ_PER_GHZ, HZ_PER_MHZ
from llmv2x.models.evaluator import cost_terms
from llmv2x.models.p1 import build_p1
from llmv2x.solvers.comm import optimal_comm
from llmv2x.solvers.frequencies import best_vehicle_frequency, rsu_frequency_split

#: Largest number of vehicles per RSU that :func:`optimal_inequality` enumerates.
MAX_K = 12


def build_p1_inequality(instance: Instance, settings: SolveSettings) -> pyo.ConcreteModel:
    """P1 with ``sum b <= b_max`` and ``sum f_nm <= f_max`` in place of (10c), (10e)."""
    m = build_p1(instance, settings)
    m.bandwidth_budget.deactivate()
    m.frequency_budget.deactivate()
    m.bandwidth_budget_le = pyo.Constraint(
        m.M,
        rule=lambda _m, r: (
            sum(_m.b_mhz[int(n)] for n in instance.members[r])
            <= float(instance.rsu["bandwidth_hz"][r]) / HZ_PER_MHZ
        ),
        doc="(10c') per-RSU bandwidth at most b_max",
    )
    m.frequency_budget_le = pyo.Constraint(
        m.M,
        rule=lambda _m, r: (
            sum(_m.f_rsu_ghz[int(n), r] for n in instance.members[r])
            <= float(instance.rsu["f_max_hz"][r]) / HZ_PER_GHZ
        ),
        doc="(10e') per-RSU GPU frequency at most f_max",
    )
    return m


def rsu_best_frequency(instance: Instance, settings: SolveSettings) -> np.ndarray:
    """f*_R per vehicle (Hz): the share minimising its RSU's per-layer cost, clipped to the RSU."""
    f = physics.best_frequency(settings.omega_t, instance.rsu_of("kappa"))
    return np.clip(f, F_RSU_FLOOR_HZ, instance.rsu_of("f_max_hz"))


def split_inequality(instance: Instance, settings: SolveSettings, alpha: np.ndarray) -> np.ndarray:
    """Optimal RSU shares under ``sum f_nm <= f_max`` for fixed alpha (Hz).

    A convex separable problem with one inequality: if the unconstrained minimisers (f*_R for
    an offloading vehicle, the floor for one with alpha = Upsilon, which costs nothing) fit in
    the budget they are optimal; otherwise the budget binds and the optimum is the equality
    split of the package.
    """
    alpha = np.asarray(alpha, float)
    f = np.where(alpha < instance.layers, rsu_best_frequency(instance, settings), F_RSU_FLOOR_HZ)
    used = np.bincount(instance.association, weights=f, minlength=instance.n_rsus)
    binds = used > instance.rsu["f_max_hz"] * (1 + 1e-12)
    if np.any(binds):
        equal = rsu_frequency_split(instance, settings, alpha)
        f = np.where(binds[instance.association], equal, f)
    return f


def compute_cost(instance: Instance, settings: SolveSettings, alpha: np.ndarray) -> np.ndarray:
    """Compute part (11) per vehicle at alpha, best vehicle frequency, inequality split."""
    fv = best_vehicle_frequency(instance, settings)
    fr = split_inequality(instance, settings, alpha)
    alloc = Allocation(
        np.asarray(alpha, float), instance.vehicle["p_min_w"], np.ones(instance.n_vehicles), fv, fr
    )
    return cost_terms(instance, alloc, settings).vehicle + cost_terms(instance, alloc, settings).rsu


def optimal_inequality(instance: Instance, settings: SolveSettings) -> Allocation:
    """Global optimum of P1 with inequality budgets (alpha by enumeration per RSU)."""
    Y = float(instance.layers)
    alpha = np.ones(instance.n_vehicles)
    for members in instance.members:
        if len(members) == 0:
            continue
        if len(members) > MAX_K:
            raise ValueError(f"an RSU serves {len(members)} vehicles; enumeration stops at {MAX_K}")
        best, best_cost = None, np.inf
        for ends in itertools.product((1.0, Y), repeat=len(members)):
            trial = alpha.copy()
            trial[members] = ends
            c = float(np.sum(compute_cost(instance, settings, trial)[members]))
            if c < best_cost:
                best, best_cost = np.array(ends), c
        alpha[members] = best
    comm = optimal_comm(instance, settings)
    return Allocation(
        alpha,
        comm.p_w,
        comm.b_hz,
        best_vehicle_frequency(instance, settings),
        split_inequality(instance, settings, alpha),
    )


def package_inequality(instance: Instance, settings: SolveSettings) -> dict[str, object]:
    """AO under ``budgets="equality"`` and ``budgets="inequality"`` (the package's own
    variant, docs/formulation.md#problem-variants) on ``instance``, which may carry
    deadlines; returns both Results (keys ``equality``, ``inequality``) and, per RSU, the
    fraction of its GPU frequency the inequality point hands out (key ``frequency_used``)."""
    import llmv2x

    out: dict[str, object] = {
        b: llmv2x.solve(instance, method="ao", settings=settings.with_(budgets=b))
        for b in ("equality", "inequality")
    }
    alloc = out["inequality"].allocation
    used = np.bincount(instance.association, weights=alloc.f_rsu_hz, minlength=instance.n_rsus)
    out["frequency_used"] = used / instance.rsu["f_max_hz"]
    return out
