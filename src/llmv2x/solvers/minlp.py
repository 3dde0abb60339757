"""Method ``minlp``: problem P1 (10) handed whole to a MINLP backend.

Steps: build P1 in the chosen formulation (``plain``: ``llmv2x.models.p1.build_p1``;
``strong``: ``llmv2x.models.p1_strong.build_p1_strong``), give it to the backend named by
``settings.minlp_backend`` with the time limit and gap, read the incumbent, project it back
onto the constraints (solvers' points miss the per-RSU sums by ~1e-7 relative), and verify
it with the evaluator. ``lower_bound`` is the solver's proven dual bound, and only from a
global solver (``global_solver = True``: SCIP, Gurobi, Couenne, BARON); MindtPy's number is
never passed on. Any failure of the backend becomes an ``error`` Result with one line.

Every problem variant (``llmv2x.problem.Problem``: budgets, deadlines, energy budgets,
association) is modelled by the builders; a variant that can be infeasible is reported
``infeasible`` only on a global backend's proof, and no point the evaluator refuses is
returned (docs/minlp.md#problem-variants).

Settings used: ``minlp_backend``, ``time_limit`` (default ``DEFAULT_TIME_LIMIT_S``),
``gap``, ``verbose``, and ``options``: ``formulation`` (``plain`` | ``strong``),
``minlp_options`` (a dict of raw options for the backend, e.g. SCIP parameters).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import numpy as np
import pyomo.environ as pyo

from llmv2x.errors import LlmV2xError, SettingsError
from llmv2x.instances.schema import Instance
from llmv2x.models.evaluator import evaluate
from llmv2x.models.p1 import allocation_from_model, build_p1
from llmv2x.models.projection import project
from llmv2x.problem import Problem
from llmv2x.results import Result, make_result
from llmv2x.settings import SolveSettings
from llmv2x.solvers.deadline import Deadline
from llmv2x.solvers.initial import initial_allocation
from llmv2x.solvers.registry import get_backend
from llmv2x.solvers.status import gap_closed

#: Time limit of a MINLP run when the settings give none (seconds).
DEFAULT_TIME_LIMIT_S = 60.0
#: A bound above the verified objective by at most this much (relative) is the solver's
#: feasibility tolerance at work, not a wrong bound: it is lowered to the objective.
BOUND_TOLERANCE = 1e-6

#: On a variant the backend is asked for this fraction of the gap: the verified objective of
#: the projected point sits up to ~5e-7 relative above the solver's own (its feasibility
#: tolerance on the epigraph rows), which would otherwise reopen a gap the solver closed.
VARIANT_GAP_FACTOR = 0.1

Builder = Callable[[Instance, SolveSettings], pyo.ConcreteModel]


def _strong(instance: Instance, settings: SolveSettings) -> pyo.ConcreteModel:
    from llmv2x.models.p1_strong import build_p1_strong

    return build_p1_strong(instance, settings)


#: formulation name -> builder; both return models with P1's variables and objective value.
FORMULATIONS: dict[str, Builder] = {"plain": build_p1, "strong": _strong}


def _one_line(exc: BaseException) -> str:
    """``Type: first line`` of an exception's message."""
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}".strip()


def solve_minlp(instance: Instance, settings: SolveSettings) -> Result:
    """Solve P1 (10) with the MINLP backend ``settings.minlp_backend``; method ``minlp``.

    Parameters
    ----------
    instance : the problem data.
    settings : ``minlp_backend``, ``time_limit`` (s; 60 if None; the whole solve's, the
        backend gets what is left once P1 is built), ``gap`` (relative),
        ``verbose``; ``options["formulation"]`` is ``plain`` (default) or ``strong``;
        ``options["minlp_options"]`` holds raw backend options.

    Returns
    -------
    Result
        The projected, evaluator-verified incumbent with status ``optimal`` (global solver,
        gap closed), ``feasible``/``converged``, ``time_limit`` (stopped by the limit, with or
        without a point), ``infeasible`` or ``error``; ``lower_bound`` from global solvers only.
        ``solvers`` records the backend and version, the formulation and the projection.

    Raises
    ------
    SettingsError
        unknown formulation or backend name.
    BackendUnavailable
        the backend cannot run here (the message names the fix).
    """
    t0 = time.perf_counter()
    formulation = str(settings.options.get("formulation") or "plain")
    if formulation not in FORMULATIONS:
        raise SettingsError(f"formulation: {formulation!r} is not one of {', '.join(FORMULATIONS)}")
    backend = get_backend(settings.minlp_backend, "minlp")
    solvers = {"minlp": backend.version(), "formulation": formulation}
    time_limit = DEFAULT_TIME_LIMIT_S if settings.time_limit is None else settings.time_limit
    # the limit is on the whole solve: the backend gets what is left after the model's build
    deadline = Deadline(time_limit, start=t0)

    def fail(status: str, message: str, iterations: int = 0, bound: float | None = None) -> Result:
        return make_result(
            instance,
            settings,
            "minlp",
            None,
            status,
            time.perf_counter() - t0,
            lower_bound=bound,
            solvers=solvers,
            iterations=iterations,
            message=message,
        )

    problem = Problem.of(instance, settings)
    if not problem.is_default:
        solvers["problem"] = ", ".join(problem.variants())
    try:
        model = FORMULATIONS[formulation](instance, settings)
        if deadline.expired():
            return fail("time_limit", f"time limit of {time_limit:g} s reached building P1")
        out = backend.solve(
            model,
            deadline.budget(),
            settings.gap if problem.is_default else settings.gap * VARIANT_GAP_FACTOR,
            dict(settings.options.get("minlp_options") or {}),
            settings.verbose,
        )
    except LlmV2xError:
        raise
    except Exception as exc:  # noqa: BLE001 - any solver failure becomes an error Result
        return fail("error", f"{backend.name}: {_one_line(exc)}")
    can_be_infeasible = problem.deadlines or problem.energy_budgets
    if not out.has_point:
        if out.status == "infeasible" and can_be_infeasible:
            if getattr(backend, "global_solver", False):
                return fail("infeasible", f"{backend.name} proved the problem infeasible")
            return fail(
                "error",
                f"{backend.name} found no feasible point (it proves nothing: {out.message})",
                out.iterations,
            )
        if out.status == "infeasible":
            # P1 always has feasible points (the initial allocation), so this is a numerical
            # failure of the solver on this model, not a property of the instance
            return fail(
                "error",
                f"{backend.name} reported P1 infeasible, yet the initial allocation is "
                f"feasible: a numerical failure ({out.message})",
                out.iterations,
            )
        status = "time_limit" if out.status == "time_limit" else "error"
        bound = out.bound if getattr(backend, "global_solver", False) else None
        message = f"{backend.name}: {out.message}"
        if bound is not None and status == "time_limit":
            # no incumbent, but the proven bound is still worth reporting (checked first)
            known = _reference_objective(instance, settings)
            bound, _, message = _reconcile(bound, known, known, status, message)
        return fail(status, message, out.iterations, bound if status == "time_limit" else None)
    raw = allocation_from_model(instance, model)
    if not all(np.all(np.isfinite(a)) for a in (raw.alpha, raw.p_w, raw.b_hz)):
        return fail("error", f"{backend.name}: incumbent has missing values", out.iterations)
    alloc, change = project(instance, raw, problem)
    solvers["projection"] = f"max rel. change {change:.1e}"
    status, message = out.status, out.message
    bound = out.bound if getattr(backend, "global_solver", False) else None
    if status == "optimal" and bound is None:
        status = "feasible"
    ev = evaluate(instance, alloc, settings)
    if not problem.is_default and not ev.feasible:
        # a point the evaluator refuses is never returned (docs/minlp.md)
        return fail(
            "error",
            f"{backend.name}: its point breaks {ev.worst} by {ev.max_violation:.1e} "
            "after projection; no feasible point",
            out.iterations,
        )
    if bound is not None and ev.feasible:
        known = min(ev.objective, _reference_objective(instance, settings))
        bound, status, message = _reconcile(bound, ev.objective, known, status, message)
    return make_result(
        instance,
        settings,
        "minlp",
        alloc,
        status,
        time.perf_counter() - t0,
        lower_bound=bound,
        solvers=solvers,
        iterations=out.iterations,
        message=message,
    )


def _reference_objective(instance: Instance, settings: SolveSettings) -> float:
    """Objective of the cheap feasible points alpha = 1 and alpha = Upsilon (initial shares).

    A proven lower bound can never exceed these; one that does exposes a solver whose
    numerics failed on the model (seen with SCIP on the plain P1, see docs/minlp.md).
    """
    values = []
    for alpha in (1.0, float(instance.layers)):
        ev = evaluate(instance, initial_allocation(instance, settings, alpha=alpha), settings)
        if ev.feasible:
            values.append(ev.objective)
    return min(values, default=math.inf)


def _reconcile(
    bound: float, objective: float, known: float, status: str, message: str
) -> tuple[float | None, str, str]:
    """Check a solver's bound against verified objectives of feasible points.

    Parameters
    ----------
    bound : the solver's dual bound.
    objective : verified objective of the projected incumbent.
    known : the smallest verified objective of any feasible point at hand (incumbent and
        reference points), an upper bound on the optimum.
    status, message : the run's status and message so far.

    A bound above ``known`` within ``BOUND_TOLERANCE`` comes from the solver's
    feasibility tolerance and is lowered; a larger excess proves the bound wrong for P1 as
    evaluated, and it is dropped (status at most ``feasible``). ``optimal`` stays only if the
    incumbent's verified objective and the bound still agree within the closed gap.
    """
    demoted = "feasible" if status == "optimal" else status
    if not math.isfinite(bound):
        return None, demoted, message
    if bound > known:
        if bound - known <= BOUND_TOLERANCE * max(1.0, abs(known)):
            message += f"; bound {bound:.12g} lowered to the verified objective {known:.12g}"
            bound = known
        else:
            message += (
                f"; bound {bound:.12g} exceeds the verified objective {known:.12g} of a feasible "
                "point: the solver's numerics failed, bound dropped"
            )
            return None, demoted, message
    if status == "optimal" and not gap_closed(objective, bound):
        status = "feasible"
    return bound, status, message
