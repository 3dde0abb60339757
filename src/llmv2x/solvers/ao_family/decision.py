"""AO under ``association=decision``, the driver: AO on the instance's own association, the
priced starts (``priced``), then passes of moves (``association``) from the best of them
and, with deadlines or energy budgets, from the next distinct ones
(docs/algorithms.md#ao-for-the-problem-family, "Association as a decision"). Split from
``association`` (the house limit of ~400 lines per module)."""

from __future__ import annotations

import dataclasses
import time
from typing import Any

import numpy as np
import pandas as pd

from llmv2x.instances.schema import Instance
from llmv2x.models.evaluator import evaluate
from llmv2x.problem import Problem
from llmv2x.results import Result, make_result
from llmv2x.settings import SolveSettings
from llmv2x.solvers.ao_family import Point, run_family
from llmv2x.solvers.ao_family.association import improve_association
from llmv2x.solvers.ao_family.priced import priced_starts
from llmv2x.solvers.deadline import Deadline

#: priced starts (best first) that get the alpha-move step, when within this fraction of the
#: fixed-association start
PRICED_ALPHA = 2
PRICED_WITHIN = 0.05
#: priced points besides the best that the moves also start from (deadlines or energy
#: budgets; distinct associations, within LOCAL_WITHIN of the best), ``other_starts``
LOCAL_STARTS = 1
LOCAL_WITHIN = 0.10
#: share of a time limit that AO under the instance's own association may take
FIXED_SHARE = 0.25


def association_origin(instance: Instance, start: Any) -> str:
    """Where the moves' start association came from, for the result's message: the
    instance's own, or a priced start and how many vehicles it moved."""
    k = int(np.sum(np.asarray(start.association) != instance.association))
    return f"priced start ({k} vehicle(s) moved)" if k else "own association"


def other_starts(priced: list[tuple[float, Any]], best: Any, best_obj: float) -> list[Any]:
    """Up to ``LOCAL_STARTS`` priced points (cheapest first) whose associations differ from
    ``best``'s and from each other, within ``LOCAL_WITHIN`` of ``best_obj``: the moves also
    start from them (with deadlines or energy budgets; on an unseen instance, seed 400 with
    tau_D 1.03, the moves from the best priced point stopped 4.7 % above the certified
    optimum three vehicles away, those from the second, 7.3 % dearer, reached it)."""
    seen, out = {np.asarray(best.association).tobytes()}, []
    for obj, alloc in priced:
        key = np.asarray(alloc.association).tobytes()
        if len(out) >= LOCAL_STARTS or obj > best_obj * (1 + LOCAL_WITHIN):
            break
        if key not in seen:
            seen.add(key)
            out.append(alloc)
    return out


def solve_ao_decision(
    instance: Instance, settings: SolveSettings, problem: Problem, t0: float, deadline: Deadline
) -> Result:
    """AO under ``association=decision``: AO on the instance's association, the priced
    associations of ``priced_starts`` when better, then passes of reassignment moves
    alternating with AO rounds (``improve_association``) from the best point and, with
    deadlines or energy budgets, from the priced points of ``other_starts``.

    Never worse than the fixed-association start: every kept move lowers the objective and
    the final point is checked by the evaluator (a rejected end point falls back to the
    start). ``result.trace["ao"]`` has the fixed-association rows (``start`` as in
    ``solve_ao_family``) then the association rows (``start`` = ``association``, and
    ``association 2``, ``association 3`` for the moves from the other starts).
    """
    from llmv2x.solvers.ao import solve_ao_family

    fixed_settings = settings.with_(association="fixed")
    fixed = dataclasses.replace(problem, association="fixed")
    # with a time limit, the fixed-association start gets a share of it: at N = 200 with
    # deadlines it took the whole limit, and the priced starts never ran
    box = Deadline(FIXED_SHARE * deadline.time_limit) if deadline.limited else deadline
    base = solve_ao_family(instance, fixed_settings, fixed, t0, box)
    if base.allocation is None:
        return make_result(
            instance,
            settings,
            "ao",
            None,
            "error",
            time.perf_counter() - t0,
            message=base.message,
        )
    start = base.allocation.replace(association=instance.association)
    best, best_obj = start, base.objective
    priced = []
    allocs, q = priced_starts(instance, settings, problem, start, deadline)
    for alloc in allocs:
        ev = evaluate(instance, alloc, settings, problem=problem)
        if ev.feasible:
            priced.append((ev.objective, alloc))
    priced.sort(key=lambda x: x[0])
    within = best_obj * (1 + PRICED_WITHIN)
    if priced and priced[0][0] < best_obj:  # kept even when no time is left for what follows
        best_obj, best = priced[0]
    # the priced starts ran without the alpha-move step (the dearest); it runs on the best
    # PRICED_ALPHA of them that come within PRICED_WITHIN of the start
    for obj, alloc in priced[:PRICED_ALPHA]:
        if deadline.expired() or obj > within:
            break
        if problem.deadlines or problem.energy_budgets:
            alloc = run_family(instance, settings, problem, alloc, 10, deadline, repair=True)[0]
            alloc = alloc.allocation()
        ev = evaluate(instance, alloc, settings, problem=problem)
        if ev.feasible and ev.objective < best_obj:
            best, best_obj = alloc, ev.objective
    starts = [best]
    if problem.deadlines or problem.energy_budgets:
        starts += other_starts(priced, best, best_obj)
    runs, final, final_obj, won = [], best, best_obj, 0
    for k, first in enumerate(starts):
        if k and deadline.expired():
            break
        pt, rows = improve_association(
            instance, settings, problem, Point.of(first, instance), deadline, q=q
        )
        runs.append(pd.DataFrame(rows).assign(start="association" + (f" {k + 1}" if k else "")))
        ev = evaluate(instance, pt.allocation(), settings, problem=problem)
        if ev.feasible and (ev.objective < final_obj or (k == 0 and ev.objective <= final_obj)):
            final, final_obj, won = pt.allocation(), ev.objective, k
    origin = association_origin(instance, starts[won])
    best = final
    trace = pd.concat([base.trace.get("ao", pd.DataFrame()), *runs], ignore_index=True)
    rows = runs[won].to_dict("records") if runs else []
    status = "time_limit" if deadline.hit else base.status.replace("time_limit", "feasible")
    moves = int(sum(r.get("moves", 0) for r in rows))
    result = make_result(
        instance,
        settings,
        "ao",
        best,
        status,
        time.perf_counter() - t0,
        iterations=int((trace["round"] > 0).sum()),
        message="; ".join(
            [
                f"problem: {', '.join(problem.variants())}",
                *(p for p in base.message.split("; ") if p and not p.startswith("problem:")),
                f"association: {origin}, {moves} move(s) kept",
            ]
        ),
    )
    result.trace.update({"ao": trace})
    return result
