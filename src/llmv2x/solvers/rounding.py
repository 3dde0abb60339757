"""From the relaxed alpha of sub-problem I back to integers (10a), with frequencies re-optimised.

Two strategies:

* ``nearest`` - the paper's recipe: alpha_n rounded to the nearest integer, then the
  frequencies re-optimised for that fixed alpha (a convex problem, solved exactly by
  ``llmv2x.solvers.frequencies.optimal_frequencies``);
* ``vertex`` (default) - uses what the problem's structure says about which alpha can be
  optimal: once frequencies are optimised, the compute part is concave in alpha (a minimum
  of functions affine in alpha), so along every coordinate its minimum over [1, Upsilon] is at
  1 or Upsilon. Starting from the rounded point, a descent moves one vehicle to its better
  end, or swaps one local and one offloading vehicle, per RSU and step (the best such move
  of the RSU), until no move improves. RSUs are independent given the association, and
  every candidate move of every RSU is evaluated in one vectorised frequency split.
"""

from __future__ import annotations

import numpy as np

from llmv2x.instances.schema import Instance
from llmv2x.models import physics
from llmv2x.models.evaluator import rsu_layer_cost, vehicle_layer_cost
from llmv2x.settings import SolveSettings
from llmv2x.solvers.deadline import Deadline, no_deadline
from llmv2x.solvers.frequencies import (
    best_vehicle_frequency,
    rsu_frequency_split,
    split_groups,
)


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


def _moves(alpha: np.ndarray, mem: np.ndarray, Y: float) -> np.ndarray:
    """Candidate alphas of one RSU's vehicles ``mem``, one row each: the current alpha (row 0),
    every vehicle moved to 1 or to Upsilon, every swap of a local and an offloading vehicle."""
    a = alpha[mem]
    k = len(mem)
    rows = [a[None, :]]
    for end in (1.0, Y):
        move = np.flatnonzero(a != end)
        if move.size:
            c = np.repeat(a[None, :], move.size, axis=0)
            c[np.arange(move.size), move] = end
            rows.append(c)
    loc, off = np.flatnonzero(a == Y), np.flatnonzero(a == 1.0)
    if loc.size and off.size:
        li, oi = np.repeat(loc, off.size), np.tile(off, loc.size)
        c = np.repeat(a[None, :], li.size, axis=0)
        c[np.arange(li.size), li] = 1.0
        c[np.arange(li.size), oi] = Y
        rows.append(c)
    return np.concatenate(rows).reshape(-1, k)


def vertex_descent(
    instance: Instance,
    settings: SolveSettings,
    alpha: np.ndarray,
    max_steps: int | None = None,
    deadline: Deadline | None = None,
) -> tuple[np.ndarray, int]:
    """Descent over alpha_n in {1, Upsilon}: at every step each RSU takes its best move (one
    vehicle to 1 or to Upsilon, or a swap of a local and an offloading vehicle) if it lowers
    the RSU's compute cost.

    The moves of every RSU still improving are evaluated in one batch (each candidate is a
    group of ``llmv2x.solvers.frequencies.split_groups``), so a step costs one vectorised
    frequency split. An RSU with no improving move is final (RSUs are independent given the
    association). Returns the integer alpha and the number of steps; once ``deadline``
    passes, it stops before the next step.
    """
    deadline = deadline or no_deadline()
    Y = float(instance.layers)
    alpha = np.clip(np.round(np.asarray(alpha, float)), 1, Y)
    fv = best_vehicle_frequency(instance, settings)
    vcost = vehicle_layer_cost(instance, settings.omega_t, fv)
    r_kap, r_cores, r_fpc = (
        instance.rsu_of("kappa"),
        instance.rsu_of("gpu_cores"),
        instance.rsu_of("flops_per_cycle"),
    )
    fmax_rsu = np.asarray(instance.rsu["f_max_hz"], float)
    open_rsus = [m for m, mem in enumerate(instance.members) if len(mem)]
    limit = max_steps if max_steps is not None else 2 * instance.n_vehicles + 10
    steps = 0
    while open_rsus and steps < limit and not deadline.expired():
        steps += 1
        cands = [_moves(alpha, instance.members[m], Y) for m in open_rsus]
        sizes = np.array([c.shape[0] for c in cands])
        veh = np.concatenate(
            [
                np.tile(instance.members[m], c.shape[0])
                for m, c in zip(open_rsus, cands, strict=True)
            ]
        )
        a = np.concatenate([c.reshape(-1) for c in cands])
        lens = np.repeat(
            np.array([len(instance.members[m]) for m in open_rsus]), sizes
        )  # items per candidate
        n_cand = int(sizes.sum())
        group = np.repeat(np.arange(n_cand), lens)
        cand_rsu = np.repeat(np.array(open_rsus), sizes)
        f = split_groups(instance, settings, veh, group, a, fmax_rsu[cand_rsu])
        item = a * vcost[veh] + (Y - a) * physics.layer_cost(
            settings.omega_t, instance.psi[veh], f, r_kap[veh], r_cores[veh], r_fpc[veh]
        )
        cost = np.bincount(group, weights=item, minlength=n_cand)
        still = []
        start = 0
        for m, c, size in zip(open_rsus, cands, sizes, strict=True):
            block = cost[start : start + size]
            start += size
            j = int(np.argmin(block[1:])) + 1 if size > 1 else 0
            if j and block[j] < block[0] * (1 - 1e-13) - 1e-300:
                alpha[instance.members[m]] = c[j]
                still.append(m)
        open_rsus = still
    return alpha, steps


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
