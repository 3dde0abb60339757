"""Primal recovery under ``association=decision``: feasible points from the dual's argmins
(docs/exact.md#12-association-as-a-decision-a-certified-gap).

* ``argmin_start``: each vehicle takes its best row at the dual prices (the row whose point
  has the lowest priced value), with that point's alpha, f, p; the rows' resource shares are
  rescaled RSU by RSU to fit the budgets (equality: to the budget exactly; inequality: down
  to it when over). The AO family then repairs and improves it under that association.
* ``own_association``: the instance's own association solved under fixed association (a
  valid incumbent for ``decision``: it is one choice of links).
* ``dual_scores``: reassignment moves scored with the dual prices, q_{n,b} - q_{n,a} (the
  change of vehicle n's priced value), for ``llmv2x.solvers.ao_family.association``, which
  re-solves the two touched RSUs and keeps a move only if their cost falls.

Every point is checked by the evaluator with the Problem (``checked``) before it is used.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from llmv2x.instances.schema import Instance
from llmv2x.models.allocation import Allocation
from llmv2x.models.evaluator import evaluate
from llmv2x.problem import Problem
from llmv2x.settings import SolveSettings
from llmv2x.solvers.ao_family import Family, Point, run_family
from llmv2x.solvers.certify.oracle import Rows, RowValues

#: AO rounds on a recovered association
ROUNDS = 10


def checked(
    instance: Instance, settings: SolveSettings, problem: Problem, alloc: Allocation | None
) -> float:
    """The evaluator's objective of ``alloc`` under ``problem``, +inf if it is not feasible."""
    if alloc is None:
        return np.inf
    with np.errstate(all="ignore"):
        ev = evaluate(instance, alloc, settings, problem=problem)
    return float(ev.objective) if ev.feasible else np.inf


def best_rows(rows: Rows, values: RowValues, n_vehicles: int) -> np.ndarray:
    """Per vehicle, the row whose point has the lowest priced value (-1: none found)."""
    order = np.lexsort((values.upper, rows.vehicle))
    first = order[np.r_[True, rows.vehicle[order][1:] != rows.vehicle[order][:-1]]]
    out = np.full(n_vehicles, -1)
    ok = np.isfinite(values.upper[first])
    out[rows.vehicle[first][ok]] = first[ok]
    return out


def argmin_start(
    instance: Instance, problem: Problem, rows: Rows, values: RowValues
) -> Allocation | None:
    """The allocation of every vehicle's best row, shares rescaled to the budgets (None when
    some vehicle has no point)."""
    pick = best_rows(rows, values, instance.n_vehicles)
    if np.any(pick < 0):
        return None
    assoc = rows.rsu[pick]
    fr, b = values.f_rsu[pick].copy(), values.b[pick].copy()
    m_count = instance.n_rsus
    for arr, total in ((fr, instance.rsu["f_max_hz"]), (b, instance.rsu["bandwidth_hz"])):
        used = np.bincount(assoc, weights=arr, minlength=m_count)
        with np.errstate(all="ignore"):
            scale = np.where(used > 0, total / used, 1.0)
        if problem.inequality:
            scale = np.minimum(scale, 1.0)
        arr *= scale[assoc]
    return Allocation(
        alpha=values.alpha[pick],
        p_w=values.p[pick],
        b_hz=b,
        f_vehicle_hz=values.f_vehicle[pick],
        f_rsu_hz=fr,
        association=assoc,
    )


def improve(
    instance: Instance,
    settings: SolveSettings,
    problem: Problem,
    start: Allocation,
    deadline: Any,
) -> Allocation:
    """AO family rounds (and joint steps) from ``start`` under its own association."""
    pt, _, _ = run_family(instance, settings, problem, start, ROUNDS, deadline)
    return pt.allocation()


def own_association(
    instance: Instance, settings: SolveSettings, problem: Problem, deadline: Any
) -> Allocation | None:
    """The instance's own association solved under fixed association (method ``exact``'s
    fixed-association solver when it exists, with the time left; else AO), carrying the
    association so it is checked as a ``decision`` point."""
    fixed_settings = settings.with_(association="fixed", options={})
    left = deadline.remaining()
    if np.isfinite(left):
        fixed_settings = fixed_settings.with_(time_limit=max(left * 0.3, 1.0))
    res = _fixed_solver(Problem.of(instance, fixed_settings))(instance, fixed_settings)
    if res.allocation is None:
        return None
    return res.allocation.replace(association=instance.association)


def solve_association(
    instance: Instance,
    settings: SolveSettings,
    problem: Problem,
    association: np.ndarray,
    deadline: Any,
    gap: float,
) -> tuple[float, Allocation | None]:
    """One association solved by the fixed-association certified method (docs/exact.md,
    section 12, leaves of the branch and bound): (its proven lower bound, -inf when none;
    its best point, carrying the association, or None). Uses at most half the time left."""
    import dataclasses

    moved = dataclasses.replace(instance, association=np.asarray(association, np.int64))
    fixed_settings = settings.with_(association="fixed", options={"gap": gap})
    left = deadline.remaining()
    if np.isfinite(left):
        fixed_settings = fixed_settings.with_(time_limit=max(left * 0.5, 1e-3))
    res = _fixed_solver(Problem.of(moved, fixed_settings))(moved, fixed_settings)
    if res.status == "infeasible":
        return np.inf, None
    lower = -np.inf if res.lower_bound is None else float(res.lower_bound)
    if res.allocation is None:
        return lower, None
    return lower, res.allocation.replace(association=moved.association)


def _fixed_solver(problem: Problem) -> Any:
    """Method ``exact`` under fixed association: P1's certified path for P1 itself, the
    family's (``llmv2x.solvers.certify.fixed``) for a variant when it is installed, else AO."""
    if problem.is_default:
        from llmv2x.solvers.exact import solve_exact

        return solve_exact
    try:
        from llmv2x.solvers.certify.fixed import solve_fixed  # type: ignore[attr-defined]

        return solve_fixed
    except ImportError:
        from llmv2x.solvers.ao import solve_ao

        return solve_ao


def dual_scores(rows: Rows, values: RowValues) -> Any:
    """A move scorer for ``improve_association``: moving vehicle n from RSU a to RSU b scores
    q_{n,b} - q_{n,a}, the change of n's priced value at the dual prices (lower first)."""
    trip = zip(rows.vehicle, rows.rsu, values.upper, strict=True)
    key = {(int(n), int(m)): float(u) for n, m, u in trip}

    def score(fam: Family, pt: Point) -> list[tuple[float, int, int]]:
        out = []
        for (n, m), u in key.items():
            a = int(pt.assoc[n])
            if m == a or not np.isfinite(u):
                continue
            here = key.get((n, a), np.inf)
            out.append((u - here if np.isfinite(here) else -np.inf, n, m))
        return sorted(out)

    return score
