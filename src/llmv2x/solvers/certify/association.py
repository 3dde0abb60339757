"""Method ``exact`` under ``association=decision``: a Lagrangian bound, primal recovery and
a certified gap (docs/exact.md#12-association-as-a-decision-a-certified-gap).

The dual (``association_dual``) prices every RSU's budgets so that the vehicles separate;
a branch and bound (``association_bnb``) raises it, with one-association leaves solved by
the fixed-association certified method; incumbents come from ``recovery``.
Certified gap = (incumbent - bound) / incumbent; status ``optimal`` when it is at most the
option ``gap``, else ``feasible`` (or ``time_limit``).
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from llmv2x.instances.schema import Instance
from llmv2x.models.allocation import Allocation
from llmv2x.problem import Problem
from llmv2x.results import Result, make_result
from llmv2x.settings import SolveSettings
from llmv2x.solvers.ao_family import Point
from llmv2x.solvers.ao_family.association import improve_association, send_back
from llmv2x.solvers.certify import recovery
from llmv2x.solvers.certify.association_bnb import Node, fallback_split, search, split_of
from llmv2x.solvers.certify.association_dual import (  # noqa: F401 (re-exported)
    DUAL_TOL,
    Dual,
    maximise_root,
    used_for_sure,
)
from llmv2x.solvers.certify.oracle import Rows, RowValues
from llmv2x.solvers.deadline import Deadline

METHOD = "exact"
#: relative safety margin taken off the reported bound for rounding
BOUND_MARGIN = 1e-10
#: share of the time limit the dual may use (the rest goes to recovery)
DUAL_SHARE = 0.5
#: default relative gap at which the search stops (option ``gap``, as for fixed association)
GAP = 1e-6
#: argmin associations of the root dual's evaluations tried as points (besides its best)
ROOT_POINTS = 6
#: most branch-and-bound nodes
MAX_NODES = 400
#: what the result's ``solvers`` names
SOLVERS = {"exact": "llmv2x Lagrangian dual (HiGHS master) + AO recovery"}
#: share of the time limit one AO repair of a recovered point may take
REPAIR_SHARE = 0.1


def repair_box(deadline: Deadline) -> Deadline:
    """A deadline of its own for one AO repair of a recovered point: at most ``REPAIR_SHARE``
    of the time limit (and of the time left), so that repairs cannot starve the dual (a
    longer limit must never give a weaker bound); the solve's own deadline without a limit."""
    if not deadline.limited:
        return deadline
    return Deadline(max(min(deadline.remaining(), REPAIR_SHARE * deadline.time_limit), 0.0))


class _Trace:
    """Rows (time_s, lower_bound, objective) of the bound and incumbent over time."""

    def __init__(self, t0: float) -> None:
        self.t0, self.rows = t0, []
        self.bound, self.objective = -np.inf, np.inf

    def note(self, bound: float = -np.inf, objective: float = np.inf) -> None:
        self.bound = max(self.bound, bound)
        self.objective = min(self.objective, objective)
        self.rows.append(
            {
                "time_s": time.perf_counter() - self.t0,
                "lower_bound": self.bound,
                "objective": self.objective,
            }
        )


def solve_decision(instance: Instance, settings: SolveSettings) -> Result:
    """Method ``exact`` under ``association=decision``: bound, incumbent, certified gap.

    Steps: the instance's own association solved under fixed association (first incumbent),
    the dual maximised from prices read off that point (bound), the dual argmins' association
    repaired by AO (incumbent), then reassignment moves scored with the dual prices. Status
    ``optimal`` when (incumbent - bound) / incumbent <= the option ``gap``, else ``feasible``,
    or ``time_limit`` when ``settings.time_limit`` ran out; ``infeasible`` when some vehicle
    is proven infeasible on every link; ``error`` when no feasible point was found.
    ``result.trace["bound"]``: DataFrame(time_s, lower_bound, objective).
    """
    t0 = time.perf_counter()
    deadline = Deadline(settings.time_limit, start=t0)
    problem = Problem.of(instance, settings)
    gap_tol = float(settings.options.get("gap", GAP))
    trace = _Trace(t0)
    notes: list[str] = []
    dual = Dual(instance, settings, problem)
    if dual.veh_infeasible.size:
        n = int(dual.veh_infeasible[0])
        return make_result(
            instance,
            settings,
            METHOD,
            None,
            "infeasible",
            time.perf_counter() - t0,
            solvers=SOLVERS,
            message=f"vehicle {n} is proven infeasible on every link (deadline or energy budget)",
        )
    best: Allocation | None = None
    best_obj = np.inf

    def offer(alloc: Allocation | None, name: str) -> None:
        nonlocal best, best_obj
        obj = recovery.checked(instance, settings, problem, alloc)
        if obj < best_obj:
            best, best_obj = alloc, obj
            notes.append(f"{name} {obj:.10g}")
        trace.note(objective=obj)

    home = recovery.own_association(instance, settings, problem, deadline)
    offer(home, "own association")
    # the dual, warm-started from the incumbent's marginal prices
    y0 = dual.start(best)
    lo, hi = dual.box()
    delta0 = max(0.5 * float(np.max(np.abs(y0), initial=0.0)), 1e-3 * abs(best_obj), 1e-12)
    if not np.isfinite(delta0):
        delta0 = 1.0
    dual_deadline = Deadline(
        None if settings.time_limit is None else max(deadline.remaining() * DUAL_SHARE, 0.0)
    )

    class _Both:
        def expired(self) -> bool:
            return deadline.expired() or dual_deadline.expired()

    tried: set[bytes] = set()

    def from_argmins(d: Dual, values: RowValues | None = None) -> bool:
        """Offer the point of ``d``'s argmins (at its best prices by default); True when
        their association was new."""
        values = d.best_values if values is None else values
        if values is None or deadline.expired():
            return False
        start = recovery.argmin_start(instance, problem, d.rows, values)
        if start is None or start.association.tobytes() in tried:
            return False
        tried.add(start.association.tobytes())
        box = repair_box(deadline)
        point = recovery.improve(instance, settings, problem, start, box)
        if home is not None:  # deadlines broken by crowding: send vehicles back home
            point = send_back(instance, settings, problem, point, home, box)
        offer(point, "dual argmins")
        return True

    root_points = [0]

    def on_root(value: float) -> None:
        """Bound noted; the first ROOT_POINTS new argmin associations tried as points, while
        at least 60 % of the time is left."""
        trace.note(bound=value)
        early = not deadline.limited or deadline.remaining() > 0.6 * deadline.time_limit
        if root_points[0] < ROOT_POINTS and early and from_argmins(dual, dual.last_values):
            root_points[0] += 1

    res, picks = maximise_root(dual, y0, (lo, hi), delta0, min(DUAL_TOL, gap_tol), _Both(), on_root)
    notes.append(
        f"dual: {res.iterations} master iterations, {'converged' if res.converged else 'stopped'}"
    )
    bound = dual.best_val
    from_argmins(dual)
    if best is not None and dual.best_values is not None and not deadline.expired():
        pt, rows = improve_association(
            instance,
            settings,
            problem,
            Point.of(best, instance),
            deadline,
            score=recovery.dual_scores(dual.rows, dual.best_values),
        )
        offer(pt.allocation(), "moves")
    nodes = 0
    if best is not None and dual.best_y is not None and not deadline.expired():
        state = np.zeros(instance.n_rsus, np.int8)
        root = Node(
            np.ones(len(dual.rows), bool),
            dual.rows.a_lo.copy(),
            dual.rows.a_hi.copy(),
            bound,
            dual.best_y,
            res.delta,
            dual.open_split(state)
            or split_of(picks, res, instance.n_rsus, rsu_only=True)
            or fallback_split(dual.rows, dual.picks),
            state,
        )
        leaf_cache: dict[bytes, float] = {}

        def leaf(rows: Rows) -> float:
            """One association (a row per vehicle) solved by the fixed-association method:
            its proven bound (its point offered); cached per association."""
            assoc = np.empty(instance.n_vehicles, np.int64)
            assoc[rows.vehicle] = rows.rsu
            key = assoc.tobytes()
            if key not in leaf_cache:
                leaf_cache[key], point = recovery.solve_association(
                    instance, settings, problem, assoc, deadline, gap_tol
                )
                offer(point, "leaf")
            return leaf_cache[key]

        if root.split is None:
            root.bound = max(root.bound, leaf(dual.rows))
        bound, nodes, closed = search(
            lambda rows, opened: Dual(instance, settings, problem, rows, opened),
            dual.rows,
            root,
            instance.n_vehicles,
            lambda: best_obj,
            from_argmins,
            gap_tol,
            (lo, hi),
            deadline,
            MAX_NODES,
            lambda b: trace.note(bound=b),
            leaf,
        )
        notes.append(f"branch and bound: {nodes} nodes, {'closed' if closed else 'open'}")
    if best is None:
        return make_result(
            instance,
            settings,
            METHOD,
            None,
            "time_limit" if deadline.hit else "error",
            time.perf_counter() - t0,
            message="no feasible point found; " + "; ".join(notes),
        )
    lower = bound - BOUND_MARGIN * abs(bound) if np.isfinite(bound) else None
    gap = (best_obj - lower) / abs(best_obj) if lower is not None else np.inf
    status = "optimal" if gap <= gap_tol else ("time_limit" if deadline.hit else "feasible")
    trace.note(bound=bound, objective=best_obj)
    result = make_result(
        instance,
        settings,
        METHOD,
        best,
        status,
        time.perf_counter() - t0,
        lower_bound=None if lower is None else min(lower, best_obj),
        solvers=SOLVERS,
        iterations=res.iterations + nodes,
        message=f"certified gap {gap:.3g}; " + "; ".join(notes),
    )
    result.trace.update(
        {"bound": pd.DataFrame(trace.rows, columns=["time_s", "lower_bound", "objective"])}
    )
    return result
