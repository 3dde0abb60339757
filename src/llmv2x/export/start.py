"""The start point of an export: the certified optimum, a result file or a given point."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from llmv2x.errors import ResultError, SettingsError, SolveError
from llmv2x.instances.schema import Instance
from llmv2x.models.allocation import Allocation
from llmv2x.models.evaluator import evaluate
from llmv2x.settings import SolveSettings


@dataclass(frozen=True)
class StartPoint:
    """A point to write into an exported model, with its objective under the export's settings.

    Attributes
    ----------
    allocation : the point, in SI units.
    source : ``exact``, the result file's path, ``result`` or ``allocation``.
    objective : llmv2x's objective at the point (evaluator), under the export's settings.
    status : the status of the solve that produced it (None for a bare Allocation).
    """

    allocation: Allocation
    source: str
    objective: float
    status: str | None = None

    def describe(self) -> dict[str, Any]:
        """The index file's ``start`` entry."""
        return {"source": self.source, "status": self.status, "objective": self.objective}


def resolve_start(instance: Instance, settings: SolveSettings, start: Any) -> StartPoint:
    """Turn ``start`` into a verified StartPoint.

    Parameters
    ----------
    instance : the exported instance.
    settings : the export's omega_t and objective variant (the start's objective is
        evaluated under these, whatever the result file's own settings were).
    start : ``"exact"`` (solve with method ``exact``), a result file path, a Result or an
        Allocation.

    Raises
    ------
    ResultError
        a result file for another instance, without a point, or with another vehicle count.
    SettingsError
        a point that is infeasible on ``instance``.
    SolveError
        the exact method returned no point.
    """
    from llmv2x.results import Result

    status: str | None = None
    if isinstance(start, Allocation):
        alloc, source = start, "allocation"
    elif isinstance(start, str) and start == "exact":
        from llmv2x.solvers.exact import solve_exact

        res = solve_exact(instance, settings.with_(options={}))
        if res.allocation is None:
            raise SolveError(f"--start exact: the exact method found no point ({res.message})")
        alloc, source, status = res.allocation, "exact", res.status
    else:
        res = start if isinstance(start, Result) else Result.load(start)
        source = "result" if isinstance(start, Result) else str(Path(start))
        if res.instance != instance.name:
            raise ResultError(
                f"--start: {source} is a result for {res.instance!r}, not {instance.name!r}"
            )
        if res.allocation is None:
            raise ResultError(f"--start: {source} has no point (status {res.status})")
        if len(res.allocation.alpha) != instance.n_vehicles:
            raise ResultError(
                f"--start: {source} has {len(res.allocation.alpha)} vehicles, the instance "
                f"{instance.n_vehicles}"
            )
        alloc, status = res.allocation, res.status
    ev = evaluate(instance, alloc, settings)
    if not ev.feasible:
        raise SettingsError(
            f"--start: the point from {source} is infeasible on {instance.name} "
            f"(max violation {ev.max_violation:.2e})"
        )
    return StartPoint(alloc, source, float(ev.objective), status)
