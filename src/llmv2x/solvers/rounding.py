"""From the relaxed alpha of sub-problem I back to integers (10a), with frequencies re-optimised.

Two strategies:

* ``nearest`` - the paper's recipe: alpha_n rounded to the nearest integer, then the
  frequencies re-optimised for that fixed alpha (a convex problem, solved exactly by
  ``llmv2x.solvers.frequencies.optimal_frequencies``);
* ``vertex`` (default) - uses what the problem's structure says about which alpha can be
  optimal: once frequencies are optimised, the compute part is concave in alpha (a minimum
  of functions affine in alpha), so along every coordinate its minimum over [1, Upsilon] is at
  1 or Upsilon. Starting from the rounded point, a coordinate descent moves each alpha_n to
  its better end and then tries swaps of one local and one offloading vehicle per RSU, until
  no move improves. RSUs are independent given the association, so one vectorised
  evaluation tries one move at every RSU at once.
"""

from __future__ import annotations

import numpy as np

from llmv2x.instances.schema import Instance
from llmv2x.models.evaluator import rsu_layer_cost, vehicle_layer_cost
from llmv2x.settings import SolveSettings
from llmv2x.solvers.deadline import Deadline, no_deadline
from llmv2x.solvers.frequencies import best_vehicle_frequency, rsu_frequency_split


def compute_cost_per_rsu(
    instance: Instance, settings: SolveSettings, alpha: np.ndarray
) -> np.ndarray:
    """Objective (11) per RSU at ``alpha`` with optimal frequencies, eqs. (5), (9)."""
    fv = best_vehicle_frequency(instance, settings)
    fr = rsu_frequency_split(instance, settings, alpha)
    per_vehicle = alpha * vehicle_layer_cost(instance, settings.omega_t, fv) + (
        instance.layers - alpha
    ) * rsu_layer_cost(instance, settings.omega_t, fr)
    return np.bincount(instance.association, weights=per_vehicle, minlength=instance.n_rsus)


def _try(instance, settings, alpha, cost, changes):
    """Apply ``changes`` (dict n -> value, at most one group per RSU) where it lowers that RSU."""
    cand = alpha.copy()
    for n, v in changes.items():
        cand[n] = v
    new_cost = compute_cost_per_rsu(instance, settings, cand)
    better = new_cost < cost * (1 - 1e-13) - 1e-300
    moved = False
    for n in changes:
        m = int(instance.association[n])
        if better[m]:
            alpha[n] = cand[n]
            moved = True
    cost = np.where(better, new_cost, cost)
    return alpha, cost, moved


def vertex_descent(
    instance: Instance,
    settings: SolveSettings,
    alpha: np.ndarray,
    max_passes: int = 50,
    deadline: Deadline | None = None,
) -> tuple[np.ndarray, int]:
    """Coordinate descent over alpha_n in {1, Upsilon}, then one-for-one swaps per RSU.

    Returns the improved integer alpha and the number of passes. Every accepted move lowers
    an RSU's compute cost, so the loop terminates. Once ``deadline`` passes, the descent
    stops before its next move and returns the (integral) alpha it has.
    """
    deadline = deadline or no_deadline()
    Y = float(instance.layers)
    alpha = np.clip(np.round(np.asarray(alpha, float)), 1, Y)
    members = [m for m in instance.members if len(m)]
    depth = max(len(m) for m in members)
    cost = compute_cost_per_rsu(instance, settings, alpha)
    passes = 0
    while passes < max_passes and not deadline.expired():
        passes += 1
        moved_any = False
        for end in (1.0, Y):
            for k in range(depth):
                if deadline.expired():
                    return alpha, passes
                changes = {int(m[k]): end for m in members if k < len(m) and alpha[m[k]] != end}
                if changes:
                    alpha, cost, moved = _try(instance, settings, alpha, cost, changes)
                    moved_any |= moved
        # swaps: a local vehicle (alpha = Upsilon) and an offloading one (alpha = 1) trade.
        # Pairs are indexed by position in each RSU's local and offloading lists, so a pass
        # costs (most locals) x (most offloaders) evaluations, not (vehicles per RSU)^2
        local = [m[alpha[m] == Y] for m in members]
        off = [m[alpha[m] == 1.0] for m in members]
        for i in range(max((len(x) for x in local), default=0)):
            for j in range(max((len(x) for x in off), default=0)):
                if deadline.expired():
                    return alpha, passes
                changes: dict[int, float] = {}
                for loc, ofl in zip(local, off, strict=True):
                    if i < len(loc) and j < len(ofl) and alpha[loc[i]] == Y and alpha[ofl[j]] == 1:
                        changes[int(loc[i])] = 1.0
                        changes[int(ofl[j])] = Y
                if changes:
                    alpha, cost, moved = _try(instance, settings, alpha, cost, changes)
                    moved_any |= moved
        if not moved_any:
            break
    return alpha, passes


def round_alpha(
    instance: Instance,
    settings: SolveSettings,
    alpha_relaxed: np.ndarray,
    strategy: str,
    deadline: Deadline | None = None,
) -> np.ndarray:
    """Integer alpha from the relaxed one by ``nearest`` (the paper) or ``vertex`` rounding
    (which stops improving once ``deadline`` passes)."""
    alpha = np.clip(np.round(np.asarray(alpha_relaxed, float)), 1, instance.layers)
    if strategy == "nearest":
        return alpha
    if strategy == "vertex":
        return vertex_descent(instance, settings, alpha, deadline=deadline)[0]
    raise ValueError(f"rounding: {strategy!r} is not one of nearest, vertex")
