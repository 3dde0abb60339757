"""AO for the problem family: deadlines, energy budgets, inequality budgets, association.

The paper's two blocks, per RSU, now coupled (docs/algorithms.md#ao-for-the-problem-family):

* block I (alpha, f) sees the communication block's T_n^com and E_n^com as constants:
  alpha T^cmp(f_n) + (Upsilon - alpha) T_nm^cmp(f_nm) <= D_n - T_n^com and
  alpha E^cmp(f_n) <= E_n - E_n^com. It solves the relaxation in alpha by SLSQP, rounds alpha
  to the best integer in the interval the constraints leave at the relaxation's frequencies
  (so the rounded point stays feasible; an empty interval keeps the previous alpha), then
  re-optimises the frequencies for the integer alpha;
* block II (p, b) sees the compute block's time and energy as constants:
  T^com(p, b) <= D_n - T_n^compute and E^com(p, b) <= E_n - alpha E_n^cmp.

Both blocks separate by RSU, so each RSU's new block is kept only if it is feasible and does
not raise that RSU's cost: the objective sequence is monotone and every iterate feasible.
When the rounds settle, a joint step per RSU (``joint.py``: all of the RSU's variables in one
SLSQP, alpha relaxed, then rounded and the blocks re-solved) lets compute time and
transmission time trade across the blocks; rounds follow while it improves. With deadlines
or energy budgets, alpha moves (``alpha_moves``: one vehicle's alpha set to 1, Upsilon or
alpha +/- 1, the RSU re-solved with the alphas fixed, kept when cheaper and feasible) then
leave the local optimum the rounding of the relaxation is stuck in; rounds follow.
Association as a decision: ``association`` (reassignment moves between AO rounds).

Speed: every SLSQP call runs with OpenBLAS on one thread (``point.one_blas_thread``: its
subproblems have tens of variables, and worker threads made them 5-10x slower on two
loaded cores), and a round skips a block on an RSU whose point that block last left
unchanged (``Family.round_``).

Modules: ``point`` (the mutable point), ``blocks`` (blocks I and II), ``joint`` (the joint
step), ``alpha_moves`` (the alpha-move step), ``association`` (moves); ``solve_ao_family``
itself lives in ``llmv2x.solvers.ao`` and is re-exported here.
"""

from __future__ import annotations

import time
from typing import Any

from llmv2x.instances.schema import Instance
from llmv2x.models.allocation import Allocation
from llmv2x.problem import Problem
from llmv2x.settings import SolveSettings
from llmv2x.solvers.ao_family.alpha_moves import alpha_pass
from llmv2x.solvers.ao_family.blocks import MARGIN, Family
from llmv2x.solvers.ao_family.joint import joint_step
from llmv2x.solvers.ao_family.point import Point, one_blas_thread

__all__ = ["MARGIN", "Family", "Point", "joint_step", "run_family", "solve_ao_family"]

#: joint steps (each followed by one AO round) after the rounds settle, while they improve
JOINT_PASSES = 3
#: alpha-move passes (each followed by AO rounds and joint passes), while they improve
ALPHA_PASSES = 4
#: another pass only when the rounds after a pass lowered the objective by this fraction
#: (from nearly the same point it would retry the same failing moves)
ALPHA_REPEAT_GAIN = 1e-3
#: SLSQP iterations of the joint step (alpha kept) that repairs an RSU the rounds left broken
REPAIR_ITER = 60


def __getattr__(name: str) -> Any:
    """``solve_ao_family`` from ``llmv2x.solvers.ao`` (imported lazily: ao imports us)."""
    if name == "solve_ao_family":
        from llmv2x.solvers.ao import solve_ao_family

        return solve_ao_family
    raise AttributeError(name)


def run_family(
    instance: Instance,
    settings: SolveSettings,
    problem: Problem,
    start: Allocation,
    max_rounds: int,
    deadline: Any,
    repair: bool = False,
    alpha: bool = True,
) -> tuple[Point, list[dict[str, Any]], bool]:
    """AO rounds from the feasible ``start`` under fixed association.

    Stops when the relative objective change of a round is at most ``settings.tol`` (at
    least two rounds), after ``max_rounds`` or when ``deadline`` expires; then up to
    ``JOINT_PASSES`` joint steps (each RSU, then one round; rows with block ``joint``) while
    they lower the objective; then, with deadlines or energy budgets, alpha-move passes
    (``alpha_moves``; rows with block ``alpha``), each followed by rounds and joint passes,
    while they improve (docs/algorithms.md#ao-for-the-problem-family). Returns the last
    point, one row per round and whether the rounds settled. OpenBLAS runs on one thread
    meanwhile (``point.one_blas_thread``). ``repair=True`` (the moves of ``association``):
    RSUs the first rounds leave broken get a joint step with alpha kept (``_repair``).
    ``alpha=False``: no alpha-move passes (the priced starts of ``association``, compared
    before the dearest step runs on the best of them).
    """
    with one_blas_thread():
        return _run(instance, settings, problem, start, max_rounds, deadline, repair, alpha)


def _run(
    instance: Instance,
    settings: SolveSettings,
    problem: Problem,
    start: Allocation,
    max_rounds: int,
    deadline: Any,
    repair: bool = False,
    alpha: bool = True,
) -> tuple[Point, list[dict[str, Any]], bool]:
    """``run_family``'s rounds and joint passes."""
    fam = Family(instance, settings, problem)
    pt = Point.of(start, instance)
    rows: list[dict[str, Any]] = [
        {"round": 0, "block": "start", "objective": fam.total(pt), "time_s": 0.0}
    ]
    settled = _rounds(fam, pt, rows, settings.tol, max_rounds, deadline)
    if repair and _repair(fam, pt, rows, deadline):
        settled = _rounds(fam, pt, rows, settings.tol, max_rounds, deadline)
    _joint_passes(fam, pt, rows, deadline)
    if alpha and (problem.deadlines or problem.energy_budgets):
        settled = _alpha_passes(fam, pt, rows, settings.tol, max_rounds, deadline, settled)
    return pt, rows, settled


def _note(rows: list[dict[str, Any]], block: str, objective: float, t: float, **extra: Any) -> None:
    """Append one trace row (round number, block, objective, seconds since ``t``, extras)."""
    rows.append(
        {
            "round": len(rows),
            "block": block,
            "objective": objective,
            **extra,
            "time_s": time.perf_counter() - t,
        }
    )


def _rounds(
    fam: Family,
    pt: Point,
    rows: list[dict[str, Any]],
    tol: float,
    max_rounds: int,
    deadline: Any,
) -> bool:
    """AO rounds on ``pt`` until the relative objective change of a round is at most ``tol``
    (at least two rounds; True), ``max_rounds`` ran or ``deadline`` expired (False)."""
    obj = fam.total(pt)
    for rnd in range(1, max_rounds + 1):
        if deadline.expired():
            break
        t = time.perf_counter()
        fam.round_(pt, deadline=deadline)
        new = fam.total(pt)
        _note(rows, "I+II", new, t)
        change = abs(obj - new) / max(abs(new), 1e-300)
        obj = new
        if rnd >= 2 and change <= max(tol, 1e-12):
            return True
    return False


def _repair(fam: Family, pt: Point, rows: list[dict[str, Any]], deadline: Any) -> bool:
    """A joint step with alpha kept (``joint_step`` with ``keep_alpha``: any feasible result is
    kept) on every RSU whose constraints the rounds left broken: the blocks each see the
    other's time as fixed and rarely repair a crowded RSU. Returns whether one was repaired
    (a row with block ``repair``)."""
    t = time.perf_counter()
    fixed = 0
    for m, idx in fam.members(pt).items():
        if deadline.expired():
            break
        if not fam.rsu_state(pt, idx, m)[1]:
            joint_step(fam, pt, idx, m, keep_alpha=True, maxiter=REPAIR_ITER, sweeps=1)
            fixed += fam.rsu_state(pt, idx, m)[1]
    if fixed:
        _note(rows, "repair", fam.total(pt), t, moves=fixed)
    return bool(fixed)


def _alpha_passes(
    fam: Family,
    pt: Point,
    rows: list[dict[str, Any]],
    tol: float,
    max_rounds: int,
    deadline: Any,
    settled: bool,
) -> bool:
    """Alpha-move passes (``alpha_moves``; rows with block ``alpha``), each followed by AO
    rounds and joint passes, while a pass keeps a move and the objective falls; at most
    ``ALPHA_PASSES``. Returns whether the last rounds settled."""
    obj = fam.total(pt)
    for _ in range(ALPHA_PASSES):
        # moves only touch feasible RSUs: a point infeasible elsewhere stays infeasible
        if deadline.expired() or not all(
            fam.rsu_state(pt, idx, m)[1] for m, idx in fam.members(pt).items()
        ):
            break
        t = time.perf_counter()
        kept = alpha_pass(fam, pt, deadline)
        _note(rows, "alpha", fam.total(pt), t, moves=kept)
        if not kept:
            break
        moved = rows[-1]["objective"]
        settled = _rounds(fam, pt, rows, tol, max_rounds, deadline)
        _joint_passes(fam, pt, rows, deadline)
        new = fam.total(pt)
        # another pass would start where this one's sweeps failed unless the rounds moved on
        if new >= obj * (1 - 1e-9) or new >= moved * (1 - ALPHA_REPEAT_GAIN):
            break
        obj = new
    return settled


def _joint_passes(fam: Family, pt: Point, rows: list[dict[str, Any]], deadline: Any) -> Point:
    """Joint steps on every RSU, each pass followed by one AO round, while they improve."""
    obj = fam.total(pt)
    for _ in range(JOINT_PASSES):
        if deadline.expired():
            break
        t = time.perf_counter()
        for m, idx in fam.members(pt).items():
            joint_step(fam, pt, idx, m)
        fam.round_(pt)
        new = fam.total(pt)
        _note(rows, "joint", new, t)
        if new >= obj * (1 - 1e-9):
            break
        obj = new
    return pt
