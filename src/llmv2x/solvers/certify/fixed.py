"""Method ``exact`` on a member of the problem family under a fixed association
(docs/exact.md, "The problem family under fixed association").

RSUs are independent; each is solved by the branch and bound of ``bnb`` (Lagrangian dual of
its budgets over the vehicles' alpha ranges, incumbents from the dual's points) until its
gap is at most the option ``gap`` (relative, default 1e-6). The reported bound is the sum of
the RSUs' proven bounds less a 1e-10 relative margin for rounding.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from llmv2x.instances.schema import Instance
from llmv2x.models.allocation import Allocation
from llmv2x.models.evaluator import evaluate
from llmv2x.problem import Problem
from llmv2x.results import Result, make_result
from llmv2x.settings import SolveSettings
from llmv2x.solvers.certify.bnb import Incumbent, search
from llmv2x.solvers.deadline import Deadline

METHOD = "exact"
#: Default relative optimality gap of each RSU (option ``gap``).
GAP = 1e-6
#: Relative margin taken off the reported bound for floating-point rounding.
BOUND_MARGIN = 1e-10


def solve_fixed(
    instance: Instance, settings: SolveSettings, problem: Problem | None = None
) -> Result:
    """Certified optimum of a fixed-association member of the family (method ``exact``).

    Status ``optimal`` when every RSU's gap is at most ``gap``; ``time_limit`` with the
    incumbent and the proven bound when ``settings.time_limit`` runs out first;
    ``infeasible`` only when proven (a vehicle infeasible on its whole domain, or every
    branch of an RSU); ``error`` when no point was found and nothing was proven.
    ``trace["bound"]`` holds the bound and the incumbent over the solve; iterations counts
    the branch-and-bound nodes.
    """
    t0 = time.perf_counter()
    deadline = Deadline(settings.time_limit, start=t0)
    problem = problem or Problem.of(instance, settings)
    gap = float(settings.options.get("gap", GAP))
    inc = Incumbent.empty(instance.n_vehicles, instance.n_rsus)
    out = search(instance, settings, problem, gap, inc, deadline.expired, t0)
    served = np.flatnonzero(np.bincount(instance.association, minlength=instance.n_rsus) > 0)
    lower = float(np.sum(out.lower[served]))
    lower -= BOUND_MARGIN * abs(lower)
    alloc = None
    if np.all(np.isfinite(inc.value[served])):
        alloc = Allocation(
            alpha=np.round(inc.alpha),
            p_w=inc.p,
            b_hz=inc.b,
            f_vehicle_hz=inc.f_vehicle,
            f_rsu_hz=inc.f_rsu,
        )
    message = ""
    if out.infeasible:
        status, alloc, lower_bound = "infeasible", None, None
        message = "proven infeasible: some RSU has no feasible point on any branch"
    elif alloc is None:
        status, lower_bound = "error", None
        message = "no feasible point found"
    else:
        ev = evaluate(instance, alloc, settings, problem=problem)
        closed = bool(np.all(out.closed[served]))
        status = "optimal" if closed else ("time_limit" if deadline.hit else "feasible")
        lower_bound = min(lower, ev.objective) if ev.feasible else lower
        if ev.feasible:
            gap_now = (ev.objective - lower_bound) / max(abs(ev.objective), 1e-300)
            message = f"certified gap {gap_now:.3g}; {out.nodes} branch-and-bound nodes"
    res = make_result(
        instance,
        settings,
        METHOD,
        alloc,
        status,
        time.perf_counter() - t0,
        lower_bound=lower_bound,
        solvers={METHOD: "llmv2x structure (certify)"},
        iterations=out.nodes,
        message=message,
    )
    res.trace["bound"] = pd.DataFrame(out.trace, columns=["time_s", "lower_bound", "objective"])
    return res
