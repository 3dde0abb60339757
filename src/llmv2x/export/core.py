"""Write P1 (10) as AMPL ``.nl`` (with ``.row``/``.col`` names) or GAMS ``.gms`` (docs/export.md).

Steps: build P1 with the builder of the chosen formulation (the same map the method ``minlp``
uses), write the start point into its variables (or clear every value when there is none),
check that the start satisfies the model it goes into, write the file through Pyomo's writer
with symbolic names, and write an index ``OUT.nl.json`` / ``OUT.gms.json`` beside it
(settings, formulation, the objective's factor, the variable map with units, the variables
the formulation fixes, the start's objective). Files appear whole or not at all.

The objective is not scaled: the builders declare variables in GHz, MHz, W and layers and
use psi in GFLOP and activations in Mbit, but every cost term is written so that it gives
the same seconds and joules as SI (docs/choices.md section 10). The file's objective value
is therefore llmv2x's objective (eq. (10), or the ``latency`` variant) at the same point:
factor 1, offset 0. The read-back tests check this with SCIP.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyomo.environ as pyo
from pyomo.core.expr.visitor import identify_variables

from llmv2x.errors import SettingsError
from llmv2x.export.start import StartPoint, resolve_start
from llmv2x.instances.schema import Instance
from llmv2x.models.p1 import model_values, set_model_values
from llmv2x.settings import SolveSettings

#: Suffix of the output file -> Pyomo writer name.
EXTENSIONS = {".nl": "nl", ".gms": "gams"}
#: Format tag of the index file written beside the export.
INDEX_FORMAT = "llmv2x-export/1"
#: The exported objective is llmv2x's objective times this, plus nothing (no hidden scaling).
OBJECTIVE_FACTOR = 1.0
#: A start that violates a constraint or bound of the exported model by more than this
#: (relative to max(1, |side|)) is refused; SCIP's default feasibility tolerance is 1e-6.
START_RTOL = 1e-7
#: Rows held to the problem's own, looser tolerance (docs/formulation.md#problem-variants):
#: deadlines and energy budgets, each divided by its limit, to VARIANT_TOL relative.
START_RTOL_ROWS = {"deadline": 1e-6, "energy_budget": 1e-6}
#: P1's decision variables: Pyomo name -> (llmv2x quantity, unit in the file, factor to SI).
DECISION_VARS = {
    "alpha": ("alpha", "layers", 1.0),
    "p_w": ("p_w", "W", 1.0),
    "b_mhz": ("b_hz", "MHz", 1.0e6),
    "f_vehicle_ghz": ("f_vehicle_hz", "GHz", 1.0e9),
    "f_rsu_ghz": ("f_rsu_hz", "GHz", 1.0e9),
}
__all__ = ["EXTENSIONS", "ExportInfo", "export_format", "export_p1", "resolve_start"]


@dataclass(frozen=True)
class ExportInfo:
    """What ``export_p1`` wrote.

    Attributes
    ----------
    path : the model file (``.nl`` or ``.gms``).
    files : every file written: the model, ``.row``/``.col`` for ``.nl``, the index.
    file_format : ``nl`` or ``gms``.
    formulation : ``plain`` or ``strong``.
    n_variables, n_integer, n_constraints : counts of the model in the file (variables the
        formulation fixes are substituted as numbers and not counted).
    fixed : Pyomo name -> value of each variable fixed by the formulation.
    start : the start point written into the file, or None.
    index : the content of the index file ``<path>.json``.
    """

    path: Path
    files: tuple[Path, ...]
    file_format: str
    formulation: str
    n_variables: int
    n_integer: int
    n_constraints: int
    fixed: dict[str, float] = field(default_factory=dict)
    start: StartPoint | None = None
    index: dict[str, Any] = field(default_factory=dict, repr=False)


def export_format(path: str | Path) -> str:
    """``nl`` or ``gms`` from the suffix of ``path``; a one-line SettingsError otherwise."""
    suffix = Path(path).suffix.lower()
    if suffix not in EXTENSIONS:
        raise SettingsError(
            f"-o: {Path(path).name!r} must end in .nl (AMPL) or .gms (GAMS), "
            f"not {suffix or 'nothing'!r}"
        )
    return suffix[1:]


def build_model(instance: Instance, settings: SolveSettings, formulation: str) -> pyo.ConcreteModel:
    """P1 in ``formulation`` (``plain`` | ``strong``), by the builders method ``minlp`` uses."""
    from llmv2x.solvers.minlp import FORMULATIONS

    if formulation not in FORMULATIONS:
        raise SettingsError(f"formulation: {formulation!r} is not one of {', '.join(FORMULATIONS)}")
    return FORMULATIONS[formulation](instance, settings)


def export_p1(
    instance: Instance,
    path: str | Path,
    settings: SolveSettings | None = None,
    formulation: str = "plain",
    start: Any = None,
) -> ExportInfo:
    """Write P1 (10) of ``instance`` to ``path`` (``.nl`` or ``.gms``) for an outside solver.

    Parameters
    ----------
    instance : problem data.
    path : output file; its suffix picks the format. ``.nl`` also writes ``.row``/``.col``
        beside it (same stem); both formats write the index ``<path>.json``.
    settings : ``omega_t`` and the objective variant (default SolveSettings()).
    formulation : ``plain`` (P1 as in docs/formulation.md) or ``strong`` (docs/minlp.md).
    start : None, ``"exact"`` (the certified optimum), a result file, a Result or an
        Allocation: written as initial values (``.nl``) or levels ``.l`` (``.gms``).

    Returns
    -------
    ExportInfo with the files, the counts and the start's objective.

    Raises
    ------
    SettingsError
        unknown suffix or formulation; a start that does not fit the exported model.
    ResultError
        a start file that cannot be read or belongs to another instance.
    """
    path = Path(path)
    file_format = export_format(path)
    settings = settings or SolveSettings()
    model = build_model(instance, settings, formulation)
    fixed_vars = [v for v in _vars(model) if v.fixed]
    fixed = {v.name: float(v.value) for v in fixed_vars}
    point = None if start is None else resolve_start(instance, settings, start)
    if point is None:
        for v in _vars(model):
            if not v.fixed:
                v.set_value(None, skip_validation=True)
    else:
        _write_start(instance, settings, model, formulation, point, fixed)
    in_file = _variables_in_file(model)
    n_cons = sum(1 for _ in model.component_data_objects(pyo.Constraint, active=True))
    index = _index(instance, settings, formulation, path, file_format, in_file, fixed_vars, point)
    index["counts"] = {
        "variables": len(in_file),
        "integer": sum(1 for v in in_file if not v.is_continuous()),
        "constraints": n_cons,
    }
    files = _write_files(model, path, file_format, index, point is not None)
    return ExportInfo(
        path=path,
        files=files,
        file_format=file_format,
        formulation=formulation,
        n_variables=len(in_file),
        n_integer=index["counts"]["integer"],
        n_constraints=n_cons,
        fixed=fixed,
        start=point,
        index=index,
    )


def _vars(model: pyo.ConcreteModel) -> list[Any]:
    return list(model.component_data_objects(pyo.Var, descend_into=True))


def _variables_in_file(model: pyo.ConcreteModel) -> list[Any]:
    """Unfixed variables that appear in an active constraint or the objective."""
    seen: dict[int, Any] = {}
    exprs = [c.body for c in model.component_data_objects(pyo.Constraint, active=True)]
    exprs += [o.expr for o in model.component_data_objects(pyo.Objective, active=True)]
    for expr in exprs:
        for v in identify_variables(expr, include_fixed=False):
            seen.setdefault(id(v), v)
    return list(seen.values())


def _write_start(
    instance: Instance,
    settings: SolveSettings,
    model: pyo.ConcreteModel,
    formulation: str,
    point: StartPoint,
    fixed: dict[str, float],
) -> None:
    """Write ``point`` into ``model``; refuse it if it moves a fixed variable or breaks a row.

    The ``strong`` model gets the point lifted (epigraph variables on their envelopes).
    A start whose value differs from a variable the formulation fixes is refused before
    anything is written.
    """
    moved = [
        f"{v.name} = {value:.9g} (fixed at {fixed[v.name]:.9g})"
        for v, value in model_values(instance, model, point.allocation)
        if v.ctype is pyo.Var
        and v.fixed
        and not math.isclose(value, fixed[v.name], rel_tol=1e-9, abs_tol=1e-12)
    ]
    if moved:
        raise SettingsError(
            f"--start: the point has {moved[0]}, outside the {formulation} formulation's "
            "reductions (docs/minlp.md): use --formulation plain or --start exact"
        )
    if formulation == "strong":
        from llmv2x.models.p1_strong import lift

        lift(instance, settings, model, point.allocation)
    else:
        set_model_values(instance, model, point.allocation)
    name, excess = worst_violation(model, START_RTOL_ROWS)
    if excess > START_RTOL:
        allowed = START_RTOL_ROWS.get(name.split("[")[0], 0.0)
        raise SettingsError(
            f"--start: the point violates {name} of the {formulation} model by "
            f"{excess + allowed:.2e} (relative)"
        )
    value = float(pyo.value(model.objective))
    if not math.isclose(value, point.objective, rel_tol=1e-9):
        raise SettingsError(
            f"--start: the {formulation} model's objective at the point is {value:.12g}, "
            f"llmv2x's is {point.objective:.12g}"
        )


def worst_violation(
    model: pyo.ConcreteModel, allowance: dict[str, float] | None = None
) -> tuple[str, float]:
    """The bound, integrality or constraint most violated at the model's values, and by how much.

    Violations are relative to max(1, |bound|); a variable without a value counts as
    violated (infinitely). ``allowance`` maps a constraint's component name (e.g.
    ``deadline``) to a violation it may have for free: its excess is counted beyond that.
    """
    worst: tuple[str, float] = ("nothing", 0.0)
    allowance = allowance or {}

    def note(name: str, excess: float) -> None:
        nonlocal worst
        excess -= allowance.get(name.split("[")[0], 0.0)
        if excess > worst[1]:
            worst = (name, excess)

    for v in _vars(model):
        if v.value is None:
            note(v.name, math.inf)
            continue
        x = float(v.value)
        for bound, sign in ((v.lb, 1.0), (v.ub, -1.0)):
            if bound is not None:
                note(f"the bound of {v.name}", sign * (bound - x) / max(1.0, abs(bound)))
        if not v.is_continuous():
            note(f"the integrality of {v.name}", abs(x - round(x)))
    for con in model.component_data_objects(pyo.Constraint, active=True):
        body = float(pyo.value(con.body))
        if con.has_lb():
            lb = float(pyo.value(con.lower))
            note(con.name, (lb - body) / max(1.0, abs(lb)))
        if con.has_ub():
            ub = float(pyo.value(con.upper))
            note(con.name, (body - ub) / max(1.0, abs(ub)))
    return worst


def _describe(v: Any) -> dict[str, Any]:
    """One variable of the index: its role, the llmv2x quantity, unit and factor to SI."""
    comp = v.parent_component()
    idx = v.index()
    if comp.local_name in DECISION_VARS:
        quantity, unit, to_si = DECISION_VARS[comp.local_name]
        n = idx[0] if isinstance(idx, tuple) else idx
        return {"role": "decision", "quantity": f"{quantity}[{n}]", "unit": unit, "to_si": to_si}
    return {"role": "auxiliary", "meaning": comp.doc or comp.local_name}


def _index(
    instance: Instance,
    settings: SolveSettings,
    formulation: str,
    path: Path,
    file_format: str,
    in_file: list[Any],
    fixed: list[Any],
    point: StartPoint | None,
) -> dict[str, Any]:
    """The index file's content; variable names are Pyomo's (the ``.col`` names)."""
    variables = []
    for v in sorted(in_file, key=lambda x: x.name):
        entry = {"name": v.name, **_describe(v)}
        if point is not None:
            entry["start"] = float(v.value)
        variables.append(entry)
    return {
        "format": INDEX_FORMAT,
        "file": path.name,
        "file_format": file_format,
        "names": [path.with_suffix(".row").name, path.with_suffix(".col").name]
        if file_format == "nl"
        else "in the file: Pyomo's names with [ ] , turned into _",
        "instance": instance.name,
        "vehicles": instance.n_vehicles,
        "served_rsus": len(instance.served_rsus),
        "formulation": formulation,
        "settings": {"omega_t": settings.omega_t, "objective": settings.objective.value},
        "objective": {
            "sense": "minimize",
            "factor": OBJECTIVE_FACTOR,
            "offset": 0.0,
            "meaning": "llmv2x's objective (docs/formulation.md): omega_t * seconds + "
            "omega_e * joules summed over vehicles, in those units; no hidden scaling",
        },
        "variables": variables,
        "fixed": [
            {"name": v.name, "value": float(v.value), **_describe(v)}
            for v in sorted(fixed, key=lambda x: x.name)
        ],
        "start": None if point is None else point.describe(),
    }


def _header_lines(index: dict[str, Any]) -> list[str]:
    """The comment block at the top of a ``.gms`` file (and the same facts as the index)."""
    s = index["settings"]
    start = index["start"]
    lines = [
        f"llmv2x export: problem P1 (eq. (10)) of instance {index['instance']} "
        f"({index['vehicles']} vehicles, {index['served_rsus']} served RSU(s)), "
        f"formulation {index['formulation']}",
        f"objective: minimize GAMS_OBJECTIVE = llmv2x's objective ({s['objective']}, "
        f"omega_t = {s['omega_t']:g}) times {OBJECTIVE_FACTOR:g} plus 0: weighted seconds and "
        "joules, no hidden scaling",
        "units of the variables: alpha layers, p_w W, b_mhz MHz, f_vehicle_ghz and f_rsu_ghz "
        "GHz; other variables are auxiliary (index file)",
        f"{len(index['fixed'])} variables fixed by the formulation are written as numbers",
        "start: none (no .l levels)"
        if start is None
        else f"start: .l levels from {start['source']}, objective {start['objective']!r}",
        f"index: {index['file']}.json (variable map, settings, counts); see docs/export.md",
    ]
    return lines


def _write_files(
    model: pyo.ConcreteModel, path: Path, file_format: str, index: dict[str, Any], start: bool
) -> tuple[Path, ...]:
    """Write into a temporary folder beside ``path``, then move every file into place."""
    tmp = Path(tempfile.mkdtemp(dir=path.parent, prefix=".llmv2x-export-"))
    try:
        target = tmp / path.name
        if file_format == "nl":
            model.write(
                str(target),
                format="nl",
                io_options={
                    "symbolic_solver_labels": True,
                    "linear_presolve": False,  # export the model as built, every row
                    "scale_model": False,
                },
            )
            names = [target.with_suffix(".row"), target.with_suffix(".col")]
            written = [target, *names]
        else:
            model.write(
                str(target),
                format="gams",
                io_options={"symbolic_solver_labels": True, "warmstart": start},
            )
            body = target.read_text()
            header = "".join(f"* {line}\n" for line in _header_lines(index))
            target.write_text(header + body)
            written = [target]
        index_file = tmp / f"{path.name}.json"
        index_file.write_text(json.dumps(index, indent=1) + "\n")
        written.append(index_file)
        out = []
        for f in written:
            dest = path.parent / f.name
            os.replace(f, dest)
            out.append(dest)
        return tuple(out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
