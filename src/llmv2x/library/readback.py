"""``llmv2x library check``: each problem read back by SCIP's own ``.nl`` reader (docs/library.md).

For every built problem with a certificate point, three checks against the files an outside
solver gets:

1. SCIP, reading ``NAME.nl``, evaluates the certified point to our objective (relative
   ``POINT_RTOL``) and finds it feasible (``llmv2x.export.readback.scip_point``, SCIP's
   ``checkSol`` with SCIP's tolerances). The point's values per file variable come from
   writing it into the problem's model as the export writes a start (``point_values``);
   every variable of the file's ``.col`` must be one of the model's.
2. SCIP's dual bound after a short solve of ``NAME.nl`` with its default settings never
   exceeds our objective (relative ``BOUND_RTOL``): for a certified optimum that is the
   statement that the bound is valid; for an uncertified point it still must hold.
3. Where SCIP proves optimality, its optimum equals our certified optimum (relative
   ``OPTIMUM_RTOL``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from llmv2x.errors import LlmV2xError
from llmv2x.library.build import open_library, read_markers
from llmv2x.library.catalogue import select

#: Relative agreement of SCIP's objective at our point with ours.
POINT_RTOL = 1e-6
#: Relative slack of SCIP's dual bound above our objective (its feasibility tolerance).
BOUND_RTOL = 1e-6
#: Relative agreement of a proven SCIP optimum with our certified optimum.
OPTIMUM_RTOL = 1e-5
#: Default seconds of SCIP's short solve.
DEFAULT_TIME_LIMIT_S = 5.0


@dataclass(frozen=True)
class CheckRow:
    """The read-back of one problem.

    Attributes
    ----------
    name : problem name.
    ours : our objective at the certificate point (None: no point).
    certified : the point is a certified optimum (method ``exact``, status ``optimal``).
    scip_at_point : SCIP's objective at our point (None: not checked).
    feasible : SCIP's ``checkSol`` verdict on our point.
    scip_status, dual_bound, primal_bound : SCIP's short solve of the file.
    failures : what failed, empty when every check passed.
    """

    name: str
    ours: float | None
    certified: bool
    scip_at_point: float | None
    feasible: bool | None
    scip_status: str
    dual_bound: float | None
    primal_bound: float | None
    failures: tuple[str, ...]

    @property
    def ok(self) -> bool:
        """True when every check passed."""
        return not self.failures


def _rel(a: float, b: float) -> float:
    return abs(a - b) / max(1.0, abs(b))


def point_values(problem: Any, result: Any) -> tuple[dict[str, float], float]:
    """The values of every unfixed variable of the problem's model at ``result``'s point.

    The point goes into the model as the export writes a start (``lift`` for the strong
    formulation: auxiliary variables on their envelopes; variables the formulation fixes
    keep their values), but without the export's own refusal of a point that misses a row
    by more than 1e-7: here SCIP's ``checkSol``, with SCIP's tolerances, is the judge.
    Returns the values by name and the model's worst relative violation there.
    """
    import pyomo.environ as pyo

    from llmv2x.export.core import build_model, worst_violation
    from llmv2x.models.p1 import set_model_values

    instance, settings = problem.instance(), problem.settings()
    model = build_model(instance, settings, problem.formulation)
    if problem.formulation == "strong":
        from llmv2x.models.p1_strong import lift

        lift(instance, settings, model, result.allocation)
    else:
        set_model_values(instance, model, result.allocation)
    values = {
        v.name: float(v.value)
        for v in model.component_data_objects(pyo.Var, descend_into=True)
        if not v.fixed and v.value is not None
    }
    return values, worst_violation(model)[1]


def check_problem(folder: Path, name: str, time_limit: float) -> CheckRow | None:
    """Read back problem ``name`` of the library ``folder``; None if its export or
    certificate stage has not run."""
    from llmv2x.export.readback import scip_point, scip_solve
    from llmv2x.library.catalogue import by_name
    from llmv2x.results import Result

    markers = read_markers(folder, name)
    if "export" not in markers or "certify" not in markers:
        return None
    problem = by_name()[name]
    pdir = folder / name
    nl = pdir / f"{name}.nl"
    failures: list[str] = []
    cert = pdir / "certificate.json"
    res = Result.load(cert) if cert.is_file() else None
    ours = res.objective if res is not None and res.allocation is not None else None
    certified = bool(res is not None and res.method == "exact" and res.status == "optimal")
    at_point = feasible = None
    if ours is not None:
        values, excess = point_values(problem, res)
        missing = [n for n in nl.with_suffix(".col").read_text().split() if n not in values]
        if missing:
            failures.append(f"our model has no variable {missing[0]} of the file")
        else:
            point = scip_point(nl, values)
            at_point, feasible = point.objective, point.feasible
            if not feasible:
                failures.append(
                    f"SCIP finds our point infeasible (worst row or bound off by {excess:.1e} "
                    "relative in our model)"
                )
            if _rel(at_point, ours) > POINT_RTOL:
                failures.append(f"SCIP's objective at our point {at_point:.10g} != {ours:.10g}")
    run = scip_solve(nl, time_limit)
    dual = run.dual_bound if math.isfinite(run.dual_bound) and abs(run.dual_bound) < 1e19 else None
    primal = run.primal_bound if abs(run.primal_bound) < 1e19 else None
    if ours is not None and dual is not None and dual > ours + BOUND_RTOL * max(1.0, abs(ours)):
        failures.append(f"SCIP's dual bound {dual:.10g} exceeds our objective {ours:.10g}")
    if certified and run.status == "optimal" and primal is not None:
        if _rel(primal, ours) > OPTIMUM_RTOL:
            failures.append(f"SCIP's proven optimum {primal:.10g} != ours {ours:.10g}")
    return CheckRow(
        name, ours, certified, at_point, feasible, run.status, dual, primal, tuple(failures)
    )


def check_library(
    folder: str | Path, only: str | None = None, time_limit: float = DEFAULT_TIME_LIMIT_S
) -> list[CheckRow]:
    """Read back every built problem of ``folder`` (matching ``only``); one row each."""
    folder = open_library(folder, create=False)
    rows = []
    for p in select(only):
        row = check_problem(folder, p.name, time_limit)
        if row is not None:
            rows.append(row)
    if not rows:
        raise LlmV2xError(f"{folder}: no problem with an export and a certificate to check")
    return rows


def format_table(rows: list[CheckRow]) -> str:
    """The check as a Markdown table."""

    def g(x: float | None) -> str:
        return "" if x is None else f"{x:.10g}"

    lines = [
        "| problem | our objective | certified | SCIP at our point | feasible | SCIP status "
        "| SCIP dual bound | SCIP primal | verdict |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        verdict = "ok" if r.ok else "FAIL: " + "; ".join(r.failures)
        feas = "" if r.feasible is None else ("yes" if r.feasible else "no")
        lines.append(
            f"| {r.name} | {g(r.ours)} | {'yes' if r.certified else 'no'} | "
            f"{g(r.scip_at_point)} | {feas} | {r.scip_status} | {g(r.dual_bound)} | "
            f"{g(r.primal_bound)} | {verdict} |"
        )
    return "\n".join(lines)
