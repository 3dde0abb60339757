"""Method ``exact``: a certified global optimum of P1 (10) computed from the problem's structure.

The argument (proved in docs/exact.md, each step tested in tests/solvers/test_exact.py):

1. Objective (10) is a compute part in (alpha, f^V, f^R) plus a communication part in (p, b),
   and no constraint links the two groups, so they are minimised separately. The
   communication part is solved globally by ``llmv2x.solvers.comm.optimal_comm``.
2. The best vehicle frequency does not depend on alpha (closed form); for fixed alpha each
   RSU's frequency split is a convex separable problem
   (``llmv2x.solvers.frequencies``).
3. For fixed frequencies the compute part is affine in alpha, so after minimising over the
   frequencies it is concave in relaxed alpha in [1, Upsilon]^N: some optimum has every
   alpha_n in {1, Upsilon}. RSUs are independent given the association.
4. Per RSU, the set S of vehicles that keep all layers (alpha_n = Upsilon; the others
   offload, alpha_n = 1) is found by branch and bound. S empty means the offloaders share
   F_m exactly; S non-empty means the offloaders face sum f_n <= F_m - |S| * floor. A node's
   lower bound is the Lagrangian dual of that budget, maximised over a grid of prices
   sigma >= 0 (weak duality makes every sigma valid); leaves are evaluated exactly.

The bound returned is sum over RSUs of each RSU's proven bound plus the communication
part's dual bound; status ``optimal`` (with lower_bound = objective) only when every RSU's
search closed and the communication certificate holds.

The steps live in sibling modules, re-exported here: ``exact_problem`` (per-vehicle data,
dominance), ``exact_search`` (Lagrangian bounds, branch and bound), ``exact_enumerate``
(candidate up-sets); this module decides which RSUs are enumerated and builds the result.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from llmv2x.instances.schema import Instance
from llmv2x.models.allocation import Allocation
from llmv2x.models.evaluator import evaluate, vehicle_layer_cost
from llmv2x.results import Result, make_result
from llmv2x.settings import SolveSettings
from llmv2x.solvers.comm import optimal_comm
from llmv2x.solvers.deadline import Deadline, no_deadline
from llmv2x.solvers.exact_enumerate import _BATCH_PAIRS, _enumerate, _upsets
from llmv2x.solvers.exact_problem import _dominance, _Problem, _starts
from llmv2x.solvers.exact_search import (
    GAP_TOL,
    GRID_DECADES,
    GRID_POINTS,
    SEARCH_GRID_POINTS,
    _bound,
    _branch_and_bound,
    _fix,
    _RsuSearch,
    _search,
    _sigma_grid,
    _tables,
)
from llmv2x.solvers.frequencies import best_vehicle_frequency, rsu_frequency_split

__all__ = [
    "ENUMERATE_MAX_K_PARTIAL",
    "ENUMERATE_MAX_PAIRS",
    "GAP_TOL",
    "GRID_DECADES",
    "GRID_POINTS",
    "METHOD",
    "SEARCH_GRID_POINTS",
    "ComputeSolution",
    "optimal_split",
    "solve_exact",
]
# private step functions kept importable from this path (tests import some of them)
_STEPS = (
    _BATCH_PAIRS,
    _bound,
    _branch_and_bound,
    _dominance,
    _enumerate,
    _fix,
    _Problem,
    _RsuSearch,
    _search,
    _sigma_grid,
    _starts,
    _tables,
    _upsets,
)

METHOD = "exact"
#: An RSU is enumerated when its up-sets times its vehicles stay below this (a chain of k
#: vehicles has k + 1 up-sets, so chains up to k = 64); larger ones are searched.
ENUMERATE_MAX_PAIRS = 4160
#: Up-sets of a partial order are found by filtering all 2^k subsets, up to this k.
ENUMERATE_MAX_K_PARTIAL = 14


@dataclass(frozen=True)
class ComputeSolution:
    """Optimal layer split of the compute part and its certificate.

    Attributes
    ----------
    alpha : N layer counts, each 1 or Upsilon.
    value : the compute part (11) at alpha with optimal frequencies.
    lower_bound : proven lower bound on the compute part over all integral alpha.
    certified : every RSU's search closed within GAP_TOL.
    nodes : branch-and-bound nodes explored (one root per served RSU included).
    """

    alpha: np.ndarray
    value: float
    lower_bound: float
    certified: bool
    nodes: int


def optimal_split(
    instance: Instance, settings: SolveSettings, deadline: Deadline | None = None
) -> ComputeSolution:
    """Globally optimal alpha for the compute part of (10) (sub-problem I (11), alpha integral).

    By concavity in relaxed alpha (docs/exact.md) alpha_n is 1 or Upsilon, and RSUs are
    independent. Within an RSU, vehicle i dominates j when psi_i >= psi_j and u_i >= u_j
    (u the vehicle's cost per FLOP): some optimum never offloads j while i keeps all layers.

    * RSUs whose vehicles are totally ordered by dominance (identical vehicle hardware, as in
      the default scenario) have k + 1 candidate sets, "the t most dominant offload": for
      k(k + 1) <= ENUMERATE_MAX_PAIRS all are evaluated exactly, every RSU and every t in one
      vectorised multiplier search (longer chains go to the search below).
    * Other RSUs: the all-offload leaf and the Lagrangian bound of the S non-empty branch on a
      grid of prices, all RSUs at once; those not closed by it get a depth-first branch and
      bound with dominance propagation (``_search``).

    Parameters
    ----------
    instance : the instance.
    settings : omega_t.
    deadline : the solve's deadline (default: none); once it passes, open nodes are left
        unexplored (the bound then covers them and ``certified`` is False).
    """
    deadline = deadline or no_deadline()
    n = instance.n_vehicles
    ups = instance.layers
    if ups == 1:  # alpha = 1 = Upsilon for everyone: no choice, no RSU cost
        f = best_vehicle_frequency(instance, settings)
        total = float(np.sum(vehicle_layer_cost(instance, settings.omega_t, f)))
        return ComputeSolution(np.ones(n), total, total, True, 0)
    p = _Problem.build(instance, settings)
    served = instance.served_rsus
    pos_of_rsu = np.full(instance.n_rsus, -1)
    pos_of_rsu[served] = np.arange(len(served))
    n_srv = len(served)
    # vehicles grouped by RSU, most dominant first: psi, then u descending, then index
    vid = np.arange(n)
    order = np.lexsort((vid, -p.unit, -instance.psi, pos_of_rsu[instance.association]))
    grp = pos_of_rsu[instance.association[order]]
    starts = _starts(grp)
    sizes = np.diff(np.r_[starts, n])
    same = grp[1:] == grp[:-1]
    chain = np.ones(n_srv, bool)
    chain[grp[1:][same & (p.unit[order][1:] > p.unit[order][:-1])]] = False
    best = np.zeros(n_srv)
    lower = np.zeros(n_srv)
    offload = np.ones(n, bool)  # in ``order``
    nodes = 0
    certified = True
    # candidates (up-sets of the dominance order) of every RSU small enough to enumerate
    cands: dict[int, np.ndarray] = {}
    for g in range(n_srv):
        k = int(sizes[g])
        if chain[g] and k * (k + 1) <= ENUMERATE_MAX_PAIRS:
            cands[g] = np.arange(k)[None, :] < np.arange(k + 1)[:, None]  # top t offload
        elif not chain[g] and k <= ENUMERATE_MAX_K_PARTIAL:
            ups_sets = _upsets(_dominance(p, order[starts[g] : starts[g] + k]))
            if ups_sets.size <= ENUMERATE_MAX_PAIRS:
                cands[g] = ups_sets
    enum = np.zeros(n_srv, bool)
    enum[list(cands)] = True
    if cands:
        _enumerate(p, order, starts, cands, best, offload)
        lower[enum] = best[enum]
        nodes += sum(len(c) for c in cands.values())  # every candidate is a leaf evaluated
    others = np.flatnonzero(~enum)
    if others.size:
        extra, closed = _branch_and_bound(
            p, order, grp, starts, sizes, others, best, lower, offload, deadline
        )
        nodes += extra + others.size  # one root per RSU, then the search's nodes
        certified = closed
    alpha = np.empty(n)
    alpha[order] = np.where(offload, 1.0, float(ups))
    return ComputeSolution(alpha, float(np.sum(best)), float(np.sum(lower)), certified, nodes)


def solve_exact(instance: Instance, settings: SolveSettings) -> Result:
    """Certified global optimum of P1, objective (10) or its latency variant (method ``exact``).

    Combines ``optimal_split`` (alpha in {1, Upsilon}, branch and bound per RSU, exact
    frequency splits) with ``llmv2x.solvers.comm.optimal_comm`` (convex bandwidth
    allocation, best power). Status ``optimal`` and lower_bound = objective when every
    certificate holds; otherwise ``feasible`` (or ``time_limit``) with the proven bound.

    Parameters
    ----------
    instance : the instance.
    settings : omega_t, objective variant, time_limit (seconds, for the subset search).

    Returns
    -------
    Result verified by the evaluator; iterations = branch-and-bound nodes explored.
    """
    if settings.association == "decision":  # Lagrangian bound + recovery (docs/exact.md)
        from llmv2x.solvers.certify.association import solve_decision

        return solve_decision(instance, settings)
    from llmv2x.problem import Problem

    problem = Problem.of(instance, settings)
    if not problem.is_default:  # the family under fixed association (docs/exact.md)
        from llmv2x.solvers.certify.fixed import solve_fixed

        return solve_fixed(instance, settings, problem)
    t0 = time.perf_counter()
    deadline = Deadline(settings.time_limit, start=t0)
    comp = optimal_split(instance, settings, deadline)
    comm = optimal_comm(instance, settings)
    alloc = Allocation(
        alpha=comp.alpha,
        p_w=comm.p_w,
        b_hz=comm.b_hz,
        f_vehicle_hz=best_vehicle_frequency(instance, settings),
        f_rsu_hz=rsu_frequency_split(instance, settings, comp.alpha),
    )
    certified = comp.certified and comm.certified
    timed_out = deadline.hit and not comp.certified
    status = "optimal" if certified else ("time_limit" if timed_out else "feasible")
    ev = evaluate(instance, alloc, settings)
    lower_bound = None
    if ev.feasible:
        # the bound is the objective itself once every certificate holds (ties up to rounding)
        bound = comp.lower_bound + comm.lower_bound
        lower_bound = ev.objective if certified else min(bound, ev.objective)
    return make_result(
        instance,
        settings,
        METHOD,
        alloc,
        status,
        time.perf_counter() - t0,
        lower_bound=lower_bound,
        solvers={"exact": "llmv2x structure"},
        iterations=comp.nodes,
        message="" if certified else "search stopped before closing; lower_bound is the proven one",
    )
