"""The claims audit of ``llmv2x evaluate`` (docs/result-format.md, "What evaluate checks")."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from llmv2x.errors import ResultError
from llmv2x.instances.schema import Instance
from llmv2x.models.evaluator import evaluate
from llmv2x.problem import Problem
from llmv2x.results.result import Result
from llmv2x.settings import SolveSettings

#: Relative tolerance of the recorded objective, metrics and bound against the recomputed ones.
CLAIM_RTOL = 1e-9


@dataclass(frozen=True)
class Audit:
    """What ``audit`` found: the recomputation and every claim of the result it disproves."""

    feasible: bool
    objective: float | None
    max_violation: float | None
    metrics: dict[str, float]
    problems: list[str]

    @property
    def ok(self) -> bool:
        """True when nothing was disproved (``llmv2x evaluate`` exits 0)."""
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        """The JSON object ``llmv2x evaluate`` prints (non-finite numbers become null)."""

        def num(x: float | None) -> float | None:
            return x if x is not None and math.isfinite(x) else None

        return {
            "feasible": self.feasible,
            "objective": num(self.objective),
            "max_violation": num(self.max_violation),
            "metrics": {k: num(v) for k, v in self.metrics.items()},
            "problems": list(self.problems),
        }


def _differs(recorded: float, recomputed: float) -> bool:
    return abs(recorded - recomputed) > CLAIM_RTOL * max(1.0, abs(recomputed))


def can_prove_optimality(result: Result) -> bool:
    """True for the methods that may say ``optimal``: ``exact``, and ``minlp`` run with a
    global backend (SCIP, Gurobi, Couenne, BARON; ``llmv2x.solvers.status.GLOBAL_BACKENDS``),
    read from the first word of the result's ``solvers["minlp"]``."""
    from llmv2x.solvers.status import GLOBAL_BACKENDS

    if result.method == "exact":
        return True
    if result.method == "minlp":
        words = result.solvers.get("minlp", "").split()
        return bool(words) and f"minlp:{words[0].lower()}" in GLOBAL_BACKENDS
    return False


def audit(instance: Instance, result: Result) -> Audit:
    """Recompute ``result``'s point on ``instance`` and list every claim it disproves.

    The objective and metrics are recomputed under the result's own ``omega_t``, objective
    variant, budgets and association mode (a format 1 result: P1), and the point is checked
    against the instance's deadlines and energy budgets whatever the result recorded (they
    are data, not settings); a recorded problem that disagrees with the instance's is a
    disproved claim. Disproved claims (one
    readable string each): the instance name, the point's feasibility, the recorded
    objective and each metric (relative ``CLAIM_RTOL``), a ``lower_bound`` above the
    recorded or the recomputed objective, status ``optimal`` from a method that cannot prove
    it, a point under status ``error``/``infeasible``, and a non-finite recomputed objective.
    A result without a point is reported as such.

    Raises
    ------
    ResultError
        the point's arrays do not have one entry per vehicle of ``instance``.
    SettingsError
        the result's ``omega_t`` or objective variant is out of range.
    """
    problems: list[str] = []
    if result.instance != instance.name:
        problems.append(
            f"instance: the result is for {result.instance!r}, the instance is {instance.name!r}"
        )
    if result.status == "optimal" and not can_prove_optimality(result):
        solver = result.solvers.get("minlp", "")
        by = f"{result.method} ({solver})" if solver else result.method
        problems.append(f"status: optimal claimed by {by}, which cannot prove optimality")
    if result.lower_bound is not None and result.objective is not None:
        if result.lower_bound > result.objective + CLAIM_RTOL * max(1.0, abs(result.objective)):
            problems.append(
                f"lower_bound: {result.lower_bound!r} is above the recorded objective "
                f"{result.objective!r}"
            )
    alloc = result.allocation
    if alloc is None:
        problems.append(f"no point to check (status {result.status})")
        return Audit(False, None, None, {}, problems)
    if len(alloc.alpha) != instance.n_vehicles:
        raise ResultError(
            f"alpha: result has {len(alloc.alpha)} vehicles, instance {instance.n_vehicles}"
        )
    if alloc.association is not None:
        bad = np.flatnonzero((alloc.association < 0) | (alloc.association >= instance.n_rsus))
        if bad.size:
            n = int(bad[0])
            raise ResultError(
                f"association[{n}]: RSU {int(alloc.association[n])} does not exist "
                f"(instance {instance.name} has {instance.n_rsus} RSUs)"
            )
    if result.status in ("error", "infeasible"):
        problems.append(f"status: {result.status} yet the result carries a point")
    pr = result.problem
    settings = SolveSettings(
        omega_t=result.omega_t,
        objective=result.objective_variant,
        budgets=pr.budgets,
        association=pr.association,
    )
    own = Problem.of(instance, settings)
    for name, what in (("deadlines", "deadline_s"), ("energy_budgets", "energy_budget_j")):
        if getattr(own, name) != getattr(pr, name):
            has = "has" if getattr(own, name) else "has no"
            problems.append(
                f"problem.{name}: recorded {str(getattr(pr, name)).lower()}, the instance "
                f"{has} {what}"
            )
    with np.errstate(all="ignore"):  # a non-finite value is a problem below, not a warning
        ev = evaluate(instance, alloc, settings, problem=own)  # the instance's limits
    finite = math.isfinite(ev.objective)
    if not ev.feasible:
        worst = ev.worst or max(ev.violations, key=ev.violations.get)
        amount = ev.violations.get(worst.split("[")[0], ev.max_violation)
        problems.append(f"infeasible point: ({worst}) violated by {amount:.3g}")
    if not finite:
        problems.append(f"objective: the recomputed objective is {ev.objective}, not finite")
    elif result.objective is None:
        problems.append(f"objective: not recorded; recomputed {ev.objective!r}")
    elif _differs(result.objective, ev.objective):
        problems.append(f"objective: recorded {result.objective!r}, recomputed {ev.objective!r}")
    if (
        finite
        and result.lower_bound is not None
        and _differs_above(result.lower_bound, ev.objective)
    ):
        problems.append(
            f"lower_bound: {result.lower_bound!r} is above the recomputed objective "
            f"{ev.objective!r} of this very point"
        )
    for key, value in ev.metrics.items():
        if key not in result.metrics:
            problems.append(f"metrics.{key}: not recorded; recomputed {value!r}")
        elif not math.isfinite(value) or _differs(result.metrics[key], value):
            problems.append(
                f"metrics.{key}: recorded {result.metrics[key]!r}, recomputed {value!r}"
            )
    for key in result.metrics:
        if ev.metrics and key not in ev.metrics:
            problems.append(f"metrics.{key}: not a metric of docs/result-format.md")
    return Audit(bool(ev.feasible), ev.objective, ev.max_violation, dict(ev.metrics), problems)


def _differs_above(bound: float, objective: float) -> bool:
    return bound > objective + CLAIM_RTOL * max(1.0, abs(objective))
