"""The stages of a library problem: export, the minlp solves, the certificate (docs/library.md).

Each stage function takes (problem, instance, problem folder, time limit, finished markers),
writes its files and returns the content of its marker; ``llmv2x.library.build`` runs them
and writes the marker last.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

from llmv2x.errors import SettingsError
from llmv2x.library.catalogue import LibraryProblem

#: The stages whose result comes from method ``minlp`` with that backend.
MINLP_STAGES = ("scip", "gurobi")
#: Time limit (s) of method ``exact`` in the ``certify`` stage.
CERTIFY_TIME_LIMIT_S = 60.0
#: Status recorded when gurobipy's pip licence refuses the model's size.
LICENCE_LIMIT = "licence limit"

Markers = dict[str, dict[str, Any]]


def based_on(markers: dict[str, dict[str, Any]]) -> list[str]:
    """The finished minlp stages with their time limits (``scip@60``): what a fallback
    certificate was taken from."""
    return [f"{s}@{markers[s].get('time_limit'):g}" for s in MINLP_STAGES if s in markers]


def exact_accepts(problem: LibraryProblem, instance: Any) -> bool:
    """True when method ``exact`` accepts the problem's variant (it refuses the others)."""
    from llmv2x.solvers.methods import check_instance

    try:
        check_instance(instance, problem.settings(), "exact")
    except SettingsError:
        return False
    return True


def _stage_export(
    problem: LibraryProblem, instance: Any, pdir: Path, time_limit: float, markers: Markers
) -> dict[str, Any]:
    """Write the instance, the .nl and .gms files; count the model."""
    from llmv2x.export import export_p1
    from llmv2x.export.core import build_model
    from llmv2x.library.index import model_counts, nl_header_counts

    settings = problem.settings()
    instance.save(pdir / "instance.json")
    nl = export_p1(instance, pdir / f"{problem.name}.nl", settings, problem.formulation)
    export_p1(instance, pdir / f"{problem.name}.gms", settings, problem.formulation)
    counts = model_counts(build_model(instance, settings, problem.formulation))
    return {
        "status": "written",
        "counts": counts,
        "nl_header": nl_header_counts(nl.path),
        "fixed_by_formulation": len(nl.fixed),
    }


def _stage_minlp(backend: str) -> Callable[..., dict[str, Any]]:
    """The stage that runs method minlp with ``backend``."""

    def run(
        problem: LibraryProblem, instance: Any, pdir: Path, time_limit: float, markers: Markers
    ) -> dict[str, Any]:
        import llmv2x

        settings = problem.settings(minlp_backend=backend, time_limit=time_limit)
        # a backend that cannot run here raises BackendUnavailable: the stage fails without a
        # marker, so a later build on a machine that has it runs the stage
        res = llmv2x.solve(instance, "minlp", settings, formulation=problem.formulation)
        res.save(pdir / f"{backend}.json")
        status = res.status
        if status == "error" and "licence-limited" in res.message:
            status = LICENCE_LIMIT
        return {
            "status": status,
            "objective": res.objective if res.allocation is not None else None,
            "bound": res.lower_bound,
            "time_s": round(res.solve_time_s, 3),
            "time_limit": time_limit,
            "version": res.solvers.get("minlp", ""),
            "message": res.message,
        }

    return run


def _stage_certify(
    problem: LibraryProblem, instance: Any, pdir: Path, time_limit: float, markers: Markers
) -> dict[str, Any]:
    """Method exact; unless it proves optimality, the best point and bound known."""
    import llmv2x

    exact = None
    if exact_accepts(problem, instance):
        settings = problem.settings(time_limit=CERTIFY_TIME_LIMIT_S)
        exact = llmv2x.solve(instance, "exact", settings)
        if exact.status == "optimal":
            exact.save(pdir / "certificate.json")
            return {
                "source": "exact",
                "exact": True,
                "status": "optimal",
                "objective": exact.objective,
                "optimum_or_bound": exact.objective,
                "time_s": round(exact.solve_time_s, 3),
            }
    return _best_known(pdir, markers, exact)


def _best_known(pdir: Path, markers: Markers, exact: Any = None) -> dict[str, Any]:
    """The best point and the best proven bound of ``exact`` (if it ran without closing)
    and the finished minlp stages: status ``feasible`` (``unknown`` without a point).

    The bounds of the global solvers are proven lower bounds of P1 on either formulation
    (docs/minlp.md), as is ``exact``'s, so the largest of them is kept.
    """
    from llmv2x.results import Result

    candidates = [] if exact is None else [("exact", exact)]
    for stage in (s for s in MINLP_STAGES if s in markers):
        path = pdir / f"{stage}.json"
        if path.is_file():
            candidates.append((stage, Result.load(path)))
    bounds = [r.lower_bound for _, r in candidates if r.lower_bound is not None]
    best, best_source = None, None
    for source, res in candidates:
        if res.ok and (best is None or res.objective < best.objective):
            best, best_source = res, source
    bound = max(bounds) if bounds else None
    sources = based_on(markers)
    why = (
        f"method exact stopped at status {exact.status}"
        if exact is not None
        else "method exact does not handle this variant yet"
    )
    note = (
        f"not certified: {why}; best point and best proven bound of "
        f"{', '.join((['exact'] if exact is not None else []) + sources) or 'nothing run'}"
    )
    cert = pdir / "certificate.json"
    if best is None:
        cert.unlink(missing_ok=True)
        status, objective = "unknown", None
    else:
        status, objective = "feasible", best.objective
        if bound is not None:
            bound = min(bound, objective)
        dataclasses.replace(best, status="feasible", lower_bound=bound, message=note).save(cert)
    return {
        "source": best_source or "none",
        "exact": exact is not None,
        "exact_status": None if exact is None else exact.status,
        "status": status,
        "objective": objective,
        "optimum_or_bound": bound,
        "based_on": sources,
        "note": note,
    }


RUN: dict[str, Callable[..., dict[str, Any]]] = {
    "export": _stage_export,
    "scip": _stage_minlp("scip"),
    "gurobi": _stage_minlp("gurobi"),
    "certify": _stage_certify,
}
