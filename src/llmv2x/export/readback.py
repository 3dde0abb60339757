"""Read an exported ``.nl`` back with SCIP, a reader llmv2x did not write (docs/export.md).

``scip_point`` asks SCIP what the file says about a point: is it feasible, and what is the
objective there. ``scip_solve`` runs SCIP on the file for a while and reports its bounds.
Both need ``pyscipopt`` (``pip install llmv2x[scip]``).

SCIP's ``.nl`` reader turns a nonlinear objective into ``min nlobjvar`` with a constraint
``objective(x) <= nlobjvar``: a variable that is not in the ``.col`` file. Its value at a point
is what SCIP computes when every named variable is fixed at the point (a solve that only
presolves); the point, with that value, is then checked in a fresh copy of the unfixed model.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from llmv2x.errors import BackendUnavailable, LlmV2xError
from llmv2x.solvers.base import module_missing

#: Seconds SCIP may take on the fixed model (it has nothing to branch on).
FIXED_SOLVE_S = 30.0


@dataclass(frozen=True)
class PointCheck:
    """SCIP's verdict on a point of an exported model.

    Attributes
    ----------
    feasible : ``checkSol`` on the unfixed model (bounds, integrality, every constraint).
    objective : SCIP's objective value at the point.
    auxiliary : values SCIP computed for its own variables (not in the ``.col`` file).
    """

    feasible: bool
    objective: float
    auxiliary: dict[str, float]


@dataclass(frozen=True)
class ScipRun:
    """SCIP's status and bounds after a solve of an exported model."""

    status: str
    dual_bound: float
    primal_bound: float
    solve_time_s: float


def _read(path: str | Path):
    if module_missing("pyscipopt"):
        raise BackendUnavailable("pyscipopt is not installed (pip install llmv2x[scip])")
    import pyscipopt

    model = pyscipopt.Model()
    model.hideOutput()
    model.readProblem(str(path))
    return model


def scip_point(path: str | Path, values: Mapping[str, float]) -> PointCheck:
    """Feasibility and objective of a point in the ``.nl`` file ``path``, as SCIP reads it.

    Parameters
    ----------
    path : an ``.nl`` file with its ``.col``/``.row`` files beside it (SCIP reads the names).
    values : variable name (as in the ``.col`` file) -> value; every named variable of the
        file must have one.

    Raises
    ------
    LlmV2xError
        a variable of the file without a value, or SCIP finds nothing with them fixed.
    """
    names = _col_names(path)
    missing = [name for name in names if name not in values]
    if missing:
        raise LlmV2xError(f"{path}: no value for variable {missing[0]}")
    fixed = _read(path)
    for v in fixed.getVars():
        if v.name in values:
            x = float(values[v.name])
            fixed.chgVarLb(v, -fixed.infinity())
            fixed.chgVarUb(v, x)
            fixed.chgVarLb(v, x)
    fixed.setParam("limits/time", FIXED_SOLVE_S)
    fixed.optimize()
    if fixed.getNSols() == 0:
        status = fixed.getStatus()
        raise LlmV2xError(f"{path}: SCIP finds no solution with the point fixed ({status})")
    best = fixed.getBestSol()
    aux = {v.name: float(fixed.getSolVal(best, v)) for v in fixed.getVars() if v.name not in values}
    free = _read(path)
    sol = free.createSol()
    for v in free.getVars():
        free.setSolVal(sol, v, float(values[v.name]) if v.name in values else aux[v.name])
    feasible = bool(free.checkSol(sol, printreason=False, completely=True, original=True))
    return PointCheck(feasible, float(free.getSolObjVal(sol)), aux)


def _col_names(path: str | Path) -> list[str]:
    """The variable names of the ``.col`` file beside ``path``, in column order."""
    col = Path(path).with_suffix(".col")
    try:
        return col.read_text().split()
    except OSError as exc:
        raise LlmV2xError(f"{path}: cannot read the names file {col} ({exc.strerror})") from None


def scip_solve(path: str | Path, time_limit: float) -> ScipRun:
    """Solve the file with SCIP for at most ``time_limit`` seconds; status and both bounds."""
    model = _read(path)
    model.setParam("limits/time", float(time_limit))
    model.optimize()
    return ScipRun(
        status=str(model.getStatus()),
        dual_bound=float(model.getDualbound()),
        primal_bound=float(model.getPrimalbound()),
        solve_time_s=float(model.getSolvingTime()),
    )
