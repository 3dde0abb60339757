"""``make_result``: every point a method returns is verified by the evaluator first."""

from __future__ import annotations

import math

import numpy as np

from llmv2x.errors import SolveError
from llmv2x.instances.schema import Instance
from llmv2x.models.allocation import Allocation
from llmv2x.models.evaluator import evaluate
from llmv2x.problem import Problem
from llmv2x.results.result import Result
from llmv2x.settings import SolveSettings


def _all_finite(objective: float, metrics: dict[str, float]) -> bool:
    return math.isfinite(objective) and all(math.isfinite(v) for v in metrics.values())


def make_result(
    instance: Instance,
    settings: SolveSettings,
    method: str,
    alloc: Allocation | None,
    status: str,
    solve_time_s: float,
    *,
    lower_bound: float | None = None,
    solvers: dict[str, str] | None = None,
    iterations: int = 0,
    message: str = "",
) -> Result:
    """Verify ``alloc`` with the evaluator and wrap it as a Result.

    The objective and metrics are always recomputed here, never taken from a solver.
    An allocation that fails the evaluator is not reported as a solution: the result gets
    status ``error`` and no point, and the message says why. Only ``optimal`` may carry a
    lower bound equal to the objective; a bound above the objective is refused.
    The point is checked against ``Problem.of(instance, settings)``, which the result
    records with the point's association (the instance's when the allocation has none).
    """
    problem = Problem.of(instance, settings)
    objective_value = None
    metric_values: dict[str, float] = {}
    if alloc is not None:
        with np.errstate(all="ignore"):  # a non-finite value is reported below, not warned
            ev = evaluate(instance, alloc, settings, problem=problem)
        if not ev.feasible:
            worst = ev.worst or max(ev.violations, key=ev.violations.get)
            amount = ev.violations.get(worst.split("[")[0], ev.max_violation)
            message = (
                f"{message}; " if message else ""
            ) + f"evaluator refused the point: ({worst}) violated by {amount:.3g}"
            status, alloc = "error", None
        elif not _all_finite(ev.objective, ev.metrics):
            message = (
                f"{message}; " if message else ""
            ) + f"objective {ev.objective} or a metric is not finite at the point"
            status, alloc = "error", None
        else:
            objective_value = ev.objective
            metric_values = ev.metrics
            if alloc.association is None:
                alloc = alloc.replace(association=instance.association)
    if alloc is None and status in ("optimal", "converged", "feasible"):
        status = "error"
    if lower_bound is not None and objective_value is not None:
        if not math.isfinite(lower_bound):
            lower_bound = None
        elif lower_bound > objective_value * (1 + 1e-9) + 1e-12:
            raise SolveError(
                f"{method}: claimed lower bound {lower_bound} exceeds objective {objective_value}"
            )
    return Result(
        instance=instance.name,
        method=method,
        objective_variant=settings.objective.value,
        omega_t=settings.omega_t,
        status=status,
        objective=objective_value,
        lower_bound=lower_bound,
        allocation=alloc,
        metrics=metric_values,
        solve_time_s=float(solve_time_s),
        solvers=dict(solvers or {}),
        iterations=int(iterations),
        message=message,
        problem=problem,
    )
