"""Counting a library problem's model and writing ``index.csv`` (docs/library.md).

The counts come from two places that must agree (the tests check it): the Pyomo model as
the export builds it (``model_counts``) and the header of the written ``.nl`` file
(``nl_header_counts``), which is what an outside solver sees.
"""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path
from typing import Any

from llmv2x.jsonio import write_atomic
from llmv2x.library.catalogue import LibraryProblem

#: The columns of ``index.csv``, in order.
COLUMNS = (
    "name",
    "instance",
    "vehicles",
    "rsus",
    "deadline_tightness",
    "energy_tightness",
    "budgets",
    "association",
    "objective",
    "omega_t",
    "formulation",
    "variables",
    "continuous",
    "integer",
    "binary",
    "constraints",
    "nonlinear_constraints",
    "nonlinear_terms",
    "optimum_or_bound",
    "objective_value",
    "status",
    "certificate",
    "scip_objective",
    "scip_bound",
    "scip_status",
    "scip_time_s",
    "gurobi_objective",
    "gurobi_bound",
    "gurobi_status",
    "gurobi_time_s",
)


def _nonlinear_terms(expr: Any) -> int:
    """Summands of ``expr``'s nonlinear part (0 when it is linear)."""
    from pyomo.core.expr.numeric_expr import SumExpression
    from pyomo.repn.standard_repn import generate_standard_repn

    repn = generate_standard_repn(expr, quadratic=False, compute_values=False)
    nl = repn.nonlinear_expr
    if nl is None:
        return 0
    return nl.nargs() if isinstance(nl, SumExpression) else 1


def model_counts(model: Any) -> dict[str, int]:
    """Counts of the model an export writes: variables in the file, constraints, terms.

    Variables are those not fixed that appear in an active constraint or the objective
    (the writers substitute fixed ones as numbers); ``binary`` are integers with bounds
    0 and 1, ``integer`` the other integers. ``nonlinear_terms`` sums, over the objective
    and every constraint, the summands of the nonlinear part (Pyomo's standard
    representation, quadratic terms counted as nonlinear, as in the ``.nl`` file).
    """
    import pyomo.environ as pyo

    from llmv2x.export.core import _variables_in_file

    in_file = _variables_in_file(model)
    binary = sum(1 for v in in_file if not v.is_continuous() and v.lb == 0 and v.ub == 1)
    integer = sum(1 for v in in_file if not v.is_continuous()) - binary
    cons = list(model.component_data_objects(pyo.Constraint, active=True))
    objs = list(model.component_data_objects(pyo.Objective, active=True))
    per_con = [_nonlinear_terms(c.body) for c in cons]
    return {
        "variables": len(in_file),
        "continuous": len(in_file) - binary - integer,
        "integer": integer,
        "binary": binary,
        "constraints": len(cons),
        "nonlinear_constraints": sum(1 for t in per_con if t),
        "nonlinear_terms": sum(per_con) + sum(_nonlinear_terms(o.expr) for o in objs),
    }


def nl_header_counts(path: str | Path) -> dict[str, int]:
    """Counts from the header of an AMPL ``.nl`` file (the first ten lines).

    Keys: ``variables``, ``constraints``, ``objectives``, ``nonlinear_constraints``,
    ``nonlinear_objectives``, ``nonlinear_variables`` (in constraints or objectives) and
    ``discrete`` (binary and integer, linear or not).
    """
    with open(path) as fh:
        lines = [fh.readline() for _ in range(10)]

    def ints(i: int) -> list[int]:
        return [int(x) for x in lines[i].split("#")[0].split()]

    sizes, nonlinear, nl_vars, discrete = ints(1), ints(2), ints(4), ints(6)
    return {
        "variables": sizes[0],
        "constraints": sizes[1],
        "objectives": sizes[2],
        "nonlinear_constraints": nonlinear[0],
        "nonlinear_objectives": nonlinear[1],
        "nonlinear_variables": max(nl_vars[0], nl_vars[1]),
        "discrete": sum(discrete),
    }


def _num(x: Any) -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return ""
    if isinstance(x, float):
        return f"{x:.10g}"
    return str(x)


def index_row(problem: LibraryProblem, markers: dict[str, dict[str, Any]]) -> dict[str, str]:
    """One row of ``index.csv`` from a problem and its stage markers (blank: not built)."""
    row: dict[str, Any] = {
        "name": problem.name,
        "instance": problem.instance_name,
        "vehicles": problem.vehicles,
        "rsus": problem.rsus,
        "deadline_tightness": problem.deadline,
        "energy_tightness": problem.energy,
        "budgets": problem.budgets,
        "association": problem.association,
        "objective": problem.objective,
        "omega_t": problem.omega_t,
        "formulation": problem.formulation,
    }
    export = markers.get("export")
    if export:
        row.update(export["counts"])
    cert = markers.get("certify")
    if cert:
        row["optimum_or_bound"] = cert.get("optimum_or_bound")
        row["objective_value"] = cert.get("objective")
        row["status"] = cert.get("status")
        row["certificate"] = cert.get("source")
    for backend in ("scip", "gurobi"):
        m = markers.get(backend)
        if m:
            row[f"{backend}_objective"] = m.get("objective")
            row[f"{backend}_bound"] = m.get("bound")
            row[f"{backend}_status"] = m.get("status")
            row[f"{backend}_time_s"] = m.get("time_s")
    return {c: _num(row.get(c)) for c in COLUMNS}


def write_index(path: str | Path, rows: list[dict[str, str]]) -> None:
    """Write ``index.csv`` atomically."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    write_atomic(path, buf.getvalue())


def read_index(path: str | Path) -> list[dict[str, str]]:
    """The rows of an ``index.csv``."""
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))
