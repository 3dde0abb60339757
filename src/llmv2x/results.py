"""The result of a solve, serialised as result JSON (``llmv2x-result/1``, docs/result-format.md)."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from llmv2x.errors import ResultError, SolveError
from llmv2x.instances.schema import Instance
from llmv2x.jsonio import dumps_strict, loads_strict, write_atomic
from llmv2x.models.allocation import Allocation
from llmv2x.models.evaluator import evaluate
from llmv2x.settings import SolveSettings

FORMAT = "llmv2x-result/1"
STATUSES = ("optimal", "converged", "feasible", "time_limit", "infeasible", "error")
FIELDS = (
    "format",
    "instance",
    "method",
    "objective_variant",
    "omega_t",
    "status",
    "objective",
    "lower_bound",
    "alpha",
    "p_w",
    "b_hz",
    "f_vehicle_hz",
    "f_rsu_hz",
    "metrics",
    "solve_time_s",
    "solvers",
    "iterations",
)


def _number(v: Any, where: str, *, nullable: bool = False, integer: bool = False) -> Any:
    """A JSON number of a result field, or ResultError naming the field."""
    if v is None and nullable:
        return None
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        bad = True
    else:
        bad = integer and not (isinstance(v, int) or (math.isfinite(v) and v == int(v)))
    if bad:
        kind = "an integer" if integer else "a number"
        raise ResultError(f"{where}: expected {kind}, got {json.dumps(v)}")
    try:
        out = float(v)
    except OverflowError:
        raise ResultError(f"{where}: number too large") from None
    if not math.isfinite(out):
        raise ResultError(f"{where}: {v} is not finite")
    return out


def _all_finite(objective: float, metrics: dict[str, float]) -> bool:
    return math.isfinite(objective) and all(math.isfinite(v) for v in metrics.values())


@dataclass(frozen=True, eq=False)
class Result:
    """One solve's answer; fields mirror ``llmv2x-result/1`` one to one.

    Build one with ``make_result``, which verifies the point with the evaluator.
    ``allocation`` is None only for a failed solve (status ``error``/``infeasible``/
    ``time_limit`` without an incumbent).
    """

    instance: str
    method: str
    objective_variant: str
    omega_t: float
    status: str
    objective: float | None
    lower_bound: float | None
    allocation: Allocation | None
    metrics: dict[str, float]
    solve_time_s: float
    solvers: dict[str, str] = field(default_factory=dict)
    iterations: int = 0
    message: str = ""
    #: iteration histories (pandas DataFrames) of the method; not part of the result file
    trace: dict[str, Any] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"status {self.status!r} is not one of {STATUSES}")

    @property
    def ok(self) -> bool:
        """True when the result carries a verified feasible point."""
        return self.allocation is not None and self.status in (
            "optimal",
            "converged",
            "feasible",
            "time_limit",
        )

    def to_dict(self) -> dict[str, Any]:
        """The result dictionary (docs/result-format.md)."""
        a = self.allocation

        def arr(x: np.ndarray | None, integer: bool = False) -> list[Any]:
            if x is None:
                return []
            return [int(round(v)) for v in x] if integer else [float(v) for v in x]

        return {
            "format": FORMAT,
            "instance": self.instance,
            "method": self.method,
            "objective_variant": self.objective_variant,
            "omega_t": self.omega_t,
            "status": self.status,
            "objective": self.objective,
            "lower_bound": self.lower_bound,
            "alpha": arr(a.alpha if a else None, integer=True),
            "p_w": arr(a.p_w if a else None),
            "b_hz": arr(a.b_hz if a else None),
            "f_vehicle_hz": arr(a.f_vehicle_hz if a else None),
            "f_rsu_hz": arr(a.f_rsu_hz if a else None),
            "metrics": dict(self.metrics),
            "solve_time_s": self.solve_time_s,
            "solvers": dict(self.solvers),
            "iterations": self.iterations,
        }

    def to_json(self) -> str:
        """result JSON (docs/result-format.md) text; never a ``NaN``/``Infinity`` token."""
        return dumps_strict(self.to_dict(), f"result of {self.method}")

    def save(self, path: str | Path) -> None:
        """Write the result file atomically (a whole file or nothing; mode as ``open``)."""
        write_atomic(path, self.to_json() + "\n")

    def plot(self, instance: Instance, ax: Any = None, **kw: Any) -> Any:
        """Draw this result on ``instance``; a matplotlib Figure (docs/plotting.md).

        ``ax``: None (map, time and energy bars and a title), one Axes (the map only) or
        three Axes. Keywords go to ``llmv2x.plot.plot_result``; matplotlib is imported here.
        """
        from llmv2x.plot import plot_result

        return plot_result(instance, self, ax, **kw)

    @classmethod
    def from_dict(cls, d: Any) -> Result:
        """Parse a result dictionary (docs/result-format.md); no re-verification (see ``audit``)."""
        if not isinstance(d, dict):
            raise ResultError("result: expected a JSON object")
        for k in FIELDS:
            if k not in d:
                raise ResultError(f"{k}: missing field")
        for k in d:
            if k not in FIELDS:
                raise ResultError(f"{k}: unknown field")
        if d["format"] != FORMAT:
            raise ResultError(f"format: expected {FORMAT!r}, got {d['format']!r}")
        for k in ("instance", "method", "objective_variant"):
            if not isinstance(d[k], str):
                raise ResultError(f"{k}: expected a string, got {type(d[k]).__name__}")
        if d["status"] not in STATUSES:
            raise ResultError(f"status: {d['status']!r} is not one of {', '.join(STATUSES)}")
        arrays = ("alpha", "p_w", "b_hz", "f_vehicle_hz", "f_rsu_hz")
        lens = {len(d[k]) if isinstance(d[k], list) else -1 for k in arrays}
        if -1 in lens or len(lens) != 1:
            raise ResultError("alpha, p_w, b_hz, f_vehicle_hz, f_rsu_hz: lists of equal length")
        for k in arrays:
            for i, x in enumerate(d[k]):
                _number(x, f"{k}[{i}]")
        alloc = None if lens == {0} else Allocation(*(np.asarray(d[k], float) for k in arrays))
        for k in ("metrics", "solvers"):
            if d[k] is not None and not isinstance(d[k], dict):
                raise ResultError(f"{k}: expected an object, got {type(d[k]).__name__}")
        return cls(
            instance=str(d["instance"]),
            method=str(d["method"]),
            objective_variant=str(d["objective_variant"]),
            omega_t=_number(d["omega_t"], "omega_t"),
            status=d["status"],
            objective=_number(d["objective"], "objective", nullable=True),
            lower_bound=_number(d["lower_bound"], "lower_bound", nullable=True),
            allocation=alloc,
            metrics={k: _number(v, f"metrics.{k}") for k, v in (d["metrics"] or {}).items()},
            solve_time_s=_number(d["solve_time_s"], "solve_time_s"),
            solvers={str(k): str(v) for k, v in (d["solvers"] or {}).items()},
            iterations=int(_number(d["iterations"], "iterations", integer=True)),
        )

    @classmethod
    def from_json(cls, text: str) -> Result:
        """Parse result JSON (docs/result-format.md) text."""
        return cls.from_dict(loads_strict(text, "result file", ResultError))

    @classmethod
    def load(cls, path: str | Path) -> Result:
        """Read a result file."""
        p = Path(path)
        if p.is_dir():
            raise ResultError(f"{path} is a directory, not a result file")
        if p.exists() and not p.is_file():
            raise ResultError(f"{path} is not a regular file (a device, FIFO or socket)")
        if not p.is_file():
            raise ResultError(f"{path}: no such result file")
        try:
            text = p.read_text()
        except (OSError, UnicodeDecodeError) as exc:
            raise ResultError(f"{path}: cannot read: {exc}") from None
        return cls.from_json(text)


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
    """
    objective_value = None
    metric_values: dict[str, float] = {}
    if alloc is not None:
        with np.errstate(all="ignore"):  # a non-finite value is reported below, not warned
            ev = evaluate(instance, alloc, settings)
        if not ev.feasible:
            worst = max(ev.violations, key=ev.violations.get)
            message = (
                f"{message}; " if message else ""
            ) + f"evaluator refused the point: ({worst}) violated by {ev.max_violation:.3g}"
            status, alloc = "error", None
        elif not _all_finite(ev.objective, ev.metrics):
            message = (
                f"{message}; " if message else ""
            ) + f"objective {ev.objective} or a metric is not finite at the point"
            status, alloc = "error", None
        else:
            objective_value = ev.objective
            metric_values = ev.metrics
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
    )


# ---------------------------------------------------------------------------
# the claims audit of ``llmv2x evaluate`` (docs/result-format.md, "What evaluate checks")
# ---------------------------------------------------------------------------

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

    The objective and metrics are recomputed under the result's own ``omega_t`` and
    objective variant. Disproved claims (one readable string each): the instance name, the
    point's feasibility, the recorded objective and each metric (relative ``CLAIM_RTOL``),
    a ``lower_bound`` above the recorded or the recomputed objective, status ``optimal``
    from a method that cannot prove it, a point under status ``error``/``infeasible``, and a
    non-finite recomputed objective. A result without a point is reported as such.

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
    if result.status in ("error", "infeasible"):
        problems.append(f"status: {result.status} yet the result carries a point")
    settings = SolveSettings(omega_t=result.omega_t, objective=result.objective_variant)
    with np.errstate(all="ignore"):  # a non-finite value is a problem below, not a warning
        ev = evaluate(instance, alloc, settings)
    finite = math.isfinite(ev.objective)
    if not ev.feasible:
        worst = max(ev.violations, key=ev.violations.get)
        problems.append(f"infeasible point: ({worst}) violated by {ev.max_violation:.3g}")
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
