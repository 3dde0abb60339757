"""Method ``ao``: the paper's alternating optimisation (section II-D, III).

Round t: sub-problem I (11) by SQP (``llmv2x.solvers.sqp``) from the current point, alpha
rounded (``llmv2x.solvers.rounding``) and the frequencies re-optimised for the integer
alpha; then sub-problem II (40) by fractional programming (``llmv2x.solvers.fractional``).
Stop when the relative change of P1's objective is below ``settings.tol`` (at least two
rounds, so the second confirms the first). A block's new point is kept only if it does not
raise the objective, so the sequence of objectives is monotone.

Options (``settings.options``): ``recipe`` = ``improved`` (default: vertex rounding) or
``paper`` (nearest rounding, the paper's plain recipe); ``rounding`` overrides the recipe's
rounding; ``start_alpha`` (default (1 + Upsilon) / 2); ``max_rounds`` (default 10);
``sqp_max_iter``; ``fp_max_iter``; ``fp_update`` (``linesearch`` or ``jong``).

``settings.time_limit`` limits the whole run (``llmv2x.solvers.deadline``): every QP and NLP
call gets the time left, and when it runs out AO returns the best verified point it has
(from the start on: the start with alpha rounded) with status ``time_limit``.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any

import numpy as np
import pandas as pd

from llmv2x.errors import SettingsError
from llmv2x.instances.generate import reference_allocation
from llmv2x.instances.schema import Instance
from llmv2x.models.allocation import Allocation
from llmv2x.models.constants import HZ_PER_GHZ
from llmv2x.models.evaluator import cost_terms, evaluate
from llmv2x.problem import Problem
from llmv2x.results import Result, make_result
from llmv2x.settings import SolveSettings
from llmv2x.solvers.ao_family import run_family
from llmv2x.solvers.deadline import Deadline
from llmv2x.solvers.fractional import FractionalSolver
from llmv2x.solvers.frequencies import optimal_frequencies
from llmv2x.solvers.initial import initial_allocation
from llmv2x.solvers.registry import get_backend
from llmv2x.solvers.rounding import round_alpha
from llmv2x.solvers.sqp import SubproblemIData, solve_sqp

RECIPES = {"improved": "vertex", "paper": "nearest"}


def _x_of(alloc: Allocation) -> np.ndarray:
    return np.concatenate(
        [alloc.alpha, alloc.f_vehicle_hz / HZ_PER_GHZ, alloc.f_rsu_hz / HZ_PER_GHZ]
    )


def ao_start(instance: Instance, settings: SolveSettings) -> Allocation:
    """Starting point of AO: alpha = ``start_alpha`` (default (1 + Upsilon)/2), p midway in its
    bounds, equal shares, vehicle frequency midway in its bounds."""
    opts = settings.options
    a0 = float(opts.get("start_alpha", (1 + instance.layers) / 2))
    base = initial_allocation(instance, settings, alpha=a0)
    v = instance.vehicle
    return base.replace(
        p_w=0.5 * (v["p_min_w"] + v["p_max_w"]),
        f_vehicle_hz=0.5 * (v["f_min_hz"] + v["f_max_hz"]),
    )


class _Incumbent:
    """The best allocation the evaluator has verified feasible so far."""

    def __init__(self, instance: Instance, settings: SolveSettings) -> None:
        self.instance, self.settings = instance, settings
        self.alloc: Allocation | None = None
        self.objective = np.inf

    def offer(self, alloc: Allocation) -> None:
        """Keep ``alloc`` if it is feasible and no worse than the incumbent."""
        ev = evaluate(self.instance, alloc, self.settings)
        if ev.feasible and ev.objective <= self.objective:
            self.alloc, self.objective = alloc, ev.objective


def solve_ao(instance: Instance, settings: SolveSettings) -> Result:
    """Alternating optimisation of sub-problems I (SQP) and II (fractional programming).

    Returns a verified ``llmv2x.results.Result`` (status ``converged`` when the
    objective settled, ``feasible`` when ``max_rounds`` ran out, ``time_limit`` with the
    best verified point when ``settings.time_limit`` ran out); ``result.trace`` holds
    the AO, SQP and fractional-programming histories as pandas DataFrames.
    """
    t0 = time.perf_counter()
    deadline = Deadline(settings.time_limit, start=t0)
    problem = Problem.of(instance, settings)
    if not problem.is_default:
        return solve_ao_family(instance, settings, problem, t0, deadline)
    opts: dict[str, Any] = settings.options
    recipe = opts.get("recipe", "improved")
    if recipe not in RECIPES:
        raise SettingsError(f"recipe: {recipe!r} is not one of {', '.join(RECIPES)}")
    rounding = opts.get("rounding", RECIPES[recipe])
    if rounding not in ("nearest", "vertex"):
        raise SettingsError(f"rounding: {rounding!r} is not one of nearest, vertex")
    qp = get_backend(settings.qp_backend, "qp")
    nlp = get_backend(settings.nlp_backend, "nlp")
    max_rounds = int(opts.get("max_rounds", 10))

    alloc = ao_start(instance, settings)
    # the incumbent: the best point the evaluator has accepted, returned if time runs out
    incumbent = _Incumbent(instance, settings)
    incumbent.offer(alloc.replace(alpha=np.round(alloc.alpha)))
    data = SubproblemIData.build(instance, settings)
    frac = FractionalSolver(instance, settings, nlp, deadline)
    rows: list[dict[str, Any]] = []
    sqp_hist: list[pd.DataFrame] = []
    fp_hist: list[pd.DataFrame] = []
    obj = cost_terms(instance, alloc, settings).total
    status = "feasible"
    total_iter = 0
    notes: list[str] = []
    last_ii_key: tuple[bytes, ...] | None = None
    last_ii_status = ""
    sqp_converged = False
    x_relaxed = _x_of(alloc)
    rounded: dict[bytes, np.ndarray] = {}
    for rnd in range(1, max_rounds + 1):
        if deadline.expired():
            break
        # ---- sub-problem I: SQP on the relaxation, rounding, frequencies for integer alpha
        sq = solve_sqp(
            data,
            x_relaxed,
            qp,
            max_iter=int(opts.get("sqp_max_iter", 200)),
            deadline=deadline,
        )
        sqp_converged = sq.status == "converged"
        if sq.status.startswith("qp_"):
            # the SQP's iterates are feasible, so its last point is still a valid start for
            # the rounding; the failure is recorded in the trace and the result's message
            notes.append(f"round {rnd}: SQP stopped early ({sq.status}) at a feasible point")
        x_relaxed = sq.x
        total_iter += sq.iterations
        sqp_hist.append(sq.history.assign(round=rnd))
        # the rounding is deterministic: the same rounded start gives the same integer alpha
        # (round 2 usually starts where round 1 ended), so its result is reused
        key_r = np.round(sq.x[: instance.n_vehicles]).tobytes()
        if key_r not in rounded:
            rounded[key_r] = round_alpha(
                instance, settings, sq.x[: instance.n_vehicles], rounding, deadline
            )
        alpha = rounded[key_r]
        fv, fr = optimal_frequencies(instance, settings, alpha)
        cand = alloc.replace(alpha=alpha, f_vehicle_hz=fv, f_rsu_hz=fr)
        terms = cost_terms(instance, cand, settings)
        if terms.total <= cost_terms(instance, alloc, settings).total or rnd == 1:
            alloc = cand
            incumbent.offer(alloc)
        rows.append(
            {
                "round": rnd,
                "block": "I (SQP)",
                "objective": cost_terms(instance, alloc, settings).total,
                "relaxed_objective": sq.objective,
                "kkt_residual": sq.kkt,
                "iterations": sq.iterations,
                "status": sq.status,
                "time_s": sq.time_s,
            }
        )
        if deadline.expired():
            break
        # ---- sub-problem II: fractional programming on (p, b). Its problem (40) does not
        # involve alpha or the frequencies; if block I left them as block II last saw them and
        # block II had converged, solving it again cannot change anything
        key = (alloc.alpha.tobytes(), alloc.f_vehicle_hz.tobytes(), alloc.f_rsu_hz.tobytes())
        if key == last_ii_key and last_ii_status == "converged":
            rows.append(
                {
                    **rows[-1],
                    "block": "II (fractional)",
                    "iterations": 0,
                    "status": "skipped (input unchanged)",
                    "time_s": 0.0,
                    "relaxed_objective": np.nan,
                    "kkt_residual": np.nan,
                }
            )
            status = "converged"
            break
        fp = frac.solve(
            alloc,
            max_iter=int(opts.get("fp_max_iter", 15)),
            update=str(opts.get("fp_update", "linesearch")),
        )
        total_iter += fp.iterations
        last_ii_key, last_ii_status = key, fp.status
        fp_hist.append(fp.history.assign(round=rnd))
        cand = alloc.replace(p_w=fp.p_w, b_hz=fp.b_hz)
        if (
            cost_terms(instance, cand, settings).total
            <= cost_terms(instance, alloc, settings).total
        ):
            alloc = cand
            incumbent.offer(alloc)
        new_obj = cost_terms(instance, alloc, settings).total
        rows.append(
            {
                "round": rnd,
                "block": "II (fractional)",
                "objective": new_obj,
                "relaxed_objective": np.nan,
                "kkt_residual": fp.residual,
                "iterations": fp.iterations,
                "status": fp.status,
                "time_s": fp.time_s,
            }
        )
        change = abs(obj - new_obj) / max(abs(new_obj), 1e-300)
        obj = new_obj
        if deadline.hit:
            break
        if rnd >= 2 and change <= max(settings.tol, 1e-12):
            status = "converged"
            break
    if deadline.hit and status != "converged":
        # out of time: the best verified point so far (never an unverified one)
        status, alloc = "time_limit", incumbent.alloc
        notes.append(
            f"time limit of {settings.time_limit:g} s reached after {len(rows)} block(s); "
            "best verified point returned"
            if alloc is not None
            else f"time limit of {settings.time_limit:g} s reached before a verified point"
        )
    if status == "converged" and not sqp_converged:
        # the objective settled, but the last SQP stopped on its QP backend rather than on
        # its KKT test: say so in the status, not only in the message
        status = "feasible"
    versions = {"qp": qp.version(), "nlp": nlp.version()}
    result = make_result(
        instance,
        settings,
        "ao",
        alloc,
        status,
        time.perf_counter() - t0,
        solvers=versions,
        iterations=total_iter,
        message="; ".join([f"recipe {recipe}, rounding {rounding}", *notes]),
    )
    result.trace.update(
        {
            "ao": pd.DataFrame(rows),
            "sqp": pd.concat(sqp_hist, ignore_index=True) if sqp_hist else pd.DataFrame(),
            "fractional": pd.concat(fp_hist, ignore_index=True) if fp_hist else pd.DataFrame(),
        }
    )
    return result


def _p1_start(instance: Instance, settings: SolveSettings) -> Allocation | None:
    """AO's P1 point on ``instance`` without deadlines or energy budgets (a start to try)."""
    nan = np.full(instance.n_vehicles, np.nan)
    bare = dataclasses.replace(instance, deadline_s=nan, energy_budget_j=nan)
    p1 = dataclasses.replace(settings, budgets="equality", association="fixed", time_limit=None)
    return solve_ao(bare, p1).allocation


def solve_ao_family(
    instance: Instance, settings: SolveSettings, problem: Problem, t0: float, deadline: Deadline
) -> Result:
    """AO on a member of the problem family (``llmv2x.solvers.ao_family``).

    Starts: the generator's reference allocation, AO's P1 point and that point with p = p_max
    (the last two may break deadlines: the blocks repair an RSU whose constraints break).
    AO runs from each; the best end point the evaluator accepts is kept. None: status
    ``error`` and no point. Association as a decision: AO on the instance's association,
    then reassignment moves (``llmv2x.solvers.ao_family.association``).
    """
    if problem.association_decision:
        from llmv2x.solvers.ao_family.decision import solve_ao_decision

        return solve_ao_decision(instance, settings, problem, t0, deadline)
    max_rounds = int(settings.options.get("max_rounds", 10))
    starts = {"reference": reference_allocation(instance)}
    if not deadline.expired():
        p1 = _p1_start(instance, settings)
        if p1 is not None:
            # P1's point usually breaks deadlines; the blocks repair an RSU whose constraints
            # break (any feasible block point is taken there), and only an end point the
            # evaluator accepts counts
            starts["ao_p1"] = p1
            starts["ao_p1_pmax"] = p1.replace(p_w=instance.vehicle["p_max_w"])
    best, best_obj, traces, rejected, converged = None, np.inf, [], [], False
    for name, start in starts.items():
        ev = evaluate(instance, start, settings, problem=problem)
        if ev.feasible and ev.objective < best_obj:  # a feasible start is an incumbent
            best, best_obj = start, ev.objective
        if deadline.expired():
            break
        pt, rows, conv = run_family(instance, settings, problem, start, max_rounds, deadline)
        traces.append(pd.DataFrame(rows).assign(start=name))
        alloc = pt.allocation()
        ev = evaluate(instance, alloc, settings, problem=problem)
        if not ev.feasible:
            rejected.append(f"{name} ({ev.worst or 'infeasible'})")
        elif ev.objective < best_obj:
            best, best_obj, converged = alloc, ev.objective, conv
    if best is None:
        msg = "AO found no feasible point; from every start it ended infeasible: " + ", ".join(
            rejected
        )
        if deadline.hit:
            msg = f"time limit of {settings.time_limit:g} s reached before a feasible point"
        return make_result(
            instance, settings, "ao", None, "error", time.perf_counter() - t0, message=msg
        )
    trace = pd.concat(traces, ignore_index=True) if traces else pd.DataFrame({"round": []})
    status = "time_limit" if deadline.hit else ("converged" if converged else "feasible")
    notes = [f"problem: {', '.join(problem.variants())}"]
    if rejected:
        notes.append("starts that ended infeasible: " + ", ".join(rejected))
    result = make_result(
        instance,
        settings,
        "ao",
        best,
        status,
        time.perf_counter() - t0,
        iterations=int((trace["round"] > 0).sum()),
        message="; ".join(notes),
    )
    result.trace.update({"ao": trace})
    return result
