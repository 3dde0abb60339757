"""Exercise 4, reference answer: a baseline ``greedy``, registered as a method.

Rule: every vehicle offloads (alpha_n = 1); then, at each RSU, the vehicle with the lightest
request (smallest psi_n) becomes a frequency sink (alpha_n = Upsilon) if that lowers the RSU's
compute cost. Frequencies are optimal for that alpha, and (p, b) is the certified optimum of
the communication part. A method is any callable ``(instance, settings) -> Result``; building
the Result with ``make_result`` recomputes the objective and checks feasibility.
"""

from __future__ import annotations

import time

import numpy as np

from llmv2x import Allocation, Instance, Result, SolveSettings
from llmv2x.results import make_result
from llmv2x.solvers.comm import optimal_comm
from llmv2x.solvers.frequencies import optimal_frequencies
from llmv2x.solvers.rounding import compute_cost_per_rsu

#: method name and "module:function", the entry that registers the method.
METHOD_ENTRY = ("greedy", "greedy_sink:solve_greedy")


def greedy_alpha(instance: Instance, settings: SolveSettings) -> np.ndarray:
    """All offload, then one sink per RSU (the smallest request) where it pays."""
    alpha = np.ones(instance.n_vehicles)
    cost = compute_cost_per_rsu(instance, settings, alpha)
    trial = alpha.copy()
    for members in instance.members:
        if len(members):
            trial[members[np.argmin(instance.psi[members])]] = float(instance.layers)
    better = compute_cost_per_rsu(instance, settings, trial) < cost
    return np.where(better[instance.association], trial, alpha)


def solve_greedy(instance: Instance, settings: SolveSettings) -> Result:
    """Baseline ``greedy``: the rule of :func:`greedy_alpha`, the rest optimised exactly."""
    t0 = time.perf_counter()
    alpha = greedy_alpha(instance, settings)
    fv, fr = optimal_frequencies(instance, settings, alpha)
    comm = optimal_comm(instance, settings)
    alloc = Allocation(alpha, comm.p_w, comm.b_hz, fv, fr)
    return make_result(
        instance, settings, "greedy", alloc, "feasible", time.perf_counter() - t0, solvers={}
    )


def register() -> None:
    """Add the method to the table (``llmv2x.solve(inst, method="greedy")`` then works)."""
    from llmv2x.solvers import methods

    name, target = METHOD_ENTRY
    methods.METHODS[name] = target
