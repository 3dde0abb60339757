"""AO with the association as a decision: priced starts, then reassignment moves between AO
rounds (docs/algorithms.md#ao-for-the-problem-family).

Priced starts (``priced_starts``): the associations the vehicles prefer at RSU prices (the
row oracle of method ``exact`` at zero prices and along its dual master's steps), each
repaired by AO rounds and, where limits break, phase 1 (``phase1``); one replaces AO's point
only if it is better. With deadlines or energy budgets, a pass that keeps no move is followed
by deep moves (``deep_moves``).

A move takes vehicle n from its RSU a to another of its links b. The moved point starts from
the current one with proportional shares (n gets the average share at b, the others at b
shrink to make room; under equality budgets the vehicles left at a grow to fill F_a and
B_a), then the two touched RSUs are re-solved by the family's blocks (and, when promising,
its joint step; an RSU the blocks leave broken first gets a joint step with alpha kept,
which repairs what the blocks, each seeing the other's time as fixed, cannot). A move is
kept only if both RSUs' constraints hold and their summed cost
falls, so the objective never rises: AO under ``association=decision`` is never worse than
its fixed-association start.

Moves are tried in the order of a score (lower first). AO scores a move by the cost change
of the proportional-share point itself, before any re-solve (``share_scores``); method
``exact`` scores it with its dual prices (``llmv2x.solvers.certify.recovery``). Passes of
moves alternate with AO rounds from the current point while they improve.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from llmv2x.instances.schema import Instance
from llmv2x.problem import Problem
from llmv2x.settings import SolveSettings
from llmv2x.solvers.ao_family import Family, Point, joint_step, run_family
from llmv2x.solvers.ao_family.deep_moves import deep_pass, deepen
from llmv2x.solvers.ao_family.phase1 import fits
from llmv2x.solvers.ao_family.priced import send_back
from llmv2x.solvers.deadline import no_deadline

#: moves tried per pass (the best scored first); each costs a few per-RSU SLSQP calls
MOVES_PER_PASS = 40
#: a pass stops after this many rejected moves in a row (the scores are then poor guides)
FAILS_PER_PASS = 12
#: a re-solved move gets the joint step only when its block rounds come this close
#: (relative) to beating the current cost of the two RSUs
POLISH_WITHIN = 2e-3
#: SLSQP iterations of the joint step (alpha kept) that repairs a moved point's broken RSU
REPAIR_ITER = 60
#: a deep trial (``deep_moves``) gets the alpha-move step when this close to the old cost
DEEP_WITHIN = 0.05
#: passes of moves, each followed by AO rounds from the moved point
MAX_PASSES = 4

Move = tuple[float, int, int]  # (score, vehicle, destination RSU)

__all__ = [
    "improve_association",
    "moved",
    "rsu_cost",
    "send_back",
    "try_move",
    "try_moves",
]


def rsu_cost(fam: Family, pt: Point, m: int) -> tuple[float, bool]:
    """Cost of RSU ``m``'s vehicles at ``pt`` and whether their constraints hold (an RSU
    serving nobody costs 0 and holds: its budgets bind only when it serves someone)."""
    idx = np.flatnonzero(pt.assoc == m)
    if idx.size == 0:
        return 0.0, True
    return fam.rsu_state(pt, idx, m)


def moved(fam: Family, pt: Point, n: int, dst: int) -> Point:
    """``pt`` with vehicle ``n`` moved to RSU ``dst`` at proportional shares.

    At ``dst`` the k vehicles (n included) make room for n's average share 1/k of F and B;
    under equality budgets the vehicles left at n's old RSU are scaled up to fill it.
    """
    src = int(pt.assoc[n])
    out = pt.copy()
    out.assoc[n] = dst
    at_dst = np.flatnonzero(out.assoc == dst)
    others = at_dst[at_dst != n]
    for arr, total in ((out.fr, fam.fm[dst]), (out.b, fam.bw[dst])):
        share = total / at_dst.size
        if others.size:
            arr[others] *= (total - share) / np.sum(arr[others])
        arr[n] = share if others.size else total
    at_src = np.flatnonzero(out.assoc == src)
    if at_src.size and not fam.problem.inequality:
        for arr, total in ((out.fr, fam.fm[src]), (out.b, fam.bw[src])):
            arr[at_src] *= total / np.sum(arr[at_src])
    return out


def share_scores(fam: Family, pt: Point, candidates: dict[int, np.ndarray]) -> list[Move]:
    """Every move of ``candidates`` (vehicle -> RSUs) scored by the cost change of the two
    touched RSUs at the proportional-share point (``moved``), constraints ignored."""
    cost = {m: rsu_cost(fam, pt, m)[0] for m in np.unique(pt.assoc)}
    out = []
    with np.errstate(all="ignore"):
        for n, rsus in candidates.items():
            src = int(pt.assoc[n])
            for dst in rsus:
                trial = moved(fam, pt, n, int(dst))
                new = rsu_cost(fam, trial, src)[0] + rsu_cost(fam, trial, int(dst))[0]
                old = cost[src] + cost.get(int(dst), 0.0)
                out.append((float(new - old) if np.isfinite(new) else np.inf, n, int(dst)))
    return sorted(out)


def link_candidates(instance: Instance, pt: Point) -> dict[int, np.ndarray]:
    """Vehicle -> its links other than its current RSU."""
    out = {}
    for n in range(instance.n_vehicles):
        c = instance.candidates(n)
        c = c[c != pt.assoc[n]]
        if c.size:
            out[n] = c
    return out


def try_move(fam: Family, pt: Point, n: int, dst: int) -> Point | None:
    """``pt`` with vehicle ``n`` at RSU ``dst`` and both touched RSUs re-solved, or None when
    that is not feasible or does not lower their summed cost."""
    return try_moves(fam, pt, ((n, dst),))


def try_moves(
    fam: Family,
    pt: Point,
    changes: Sequence[tuple[int, int]],
    deep: bool = False,
    deadline: Any = None,
) -> Point | None:
    """``pt`` with each (vehicle, RSU) of ``changes`` applied by ``moved`` in turn and every
    touched RSU re-solved (rounds; a joint step with alpha kept where they leave it broken;
    the joint step when close), or None when that is not feasible or does not lower the
    touched RSUs' summed cost.

    ``deep`` (``deep_moves``): an RSU still broken gets its load point (``phase1.fits``), every
    touched RSU the joint step and, within ``DEEP_WITHIN`` of the old cost, the alpha-move
    step (``alpha_moves.rsu_moves``): a move into another RSU's mix of vehicles often pays
    only once alpha has moved (association+deadlines instance 0 of the variants benchmark:
    the last swap to the optimum was 1.3 % dearer after the joint step, 4.5 % cheaper after
    the alpha moves). ``deadline`` bounds the alpha-move step (default none)."""
    touched = sorted({int(pt.assoc[n]) for n, _ in changes} | {int(d) for _, d in changes})
    base = sum(rsu_cost(fam, pt, m)[0] for m in touched)
    trial = pt
    for n, dst in changes:
        trial = moved(fam, trial, int(n), int(dst))
    for _ in range(2):
        fam.round_(trial, touched)

    def state() -> tuple[float, bool]:
        out = [rsu_cost(fam, trial, m) for m in touched]
        return sum(c for c, _ in out), all(ok for _, ok in out)

    cost, ok = state()
    if not ok:
        # the blocks alone rarely repair a crowded RSU (each sees the other block's time as
        # fixed); one joint SLSQP with alpha kept trades compute against transmission time
        for m in touched:
            idx = np.flatnonzero(trial.assoc == m)
            if idx.size and not rsu_cost(fam, trial, m)[1]:
                joint_step(fam, trial, idx, m, keep_alpha=True, maxiter=REPAIR_ITER, sweeps=1)
        fam.round_(trial, touched)
        cost, ok = state()
    if deep:
        for m in touched:
            trial = fits(fam, trial, m)[1]
        fam.round_(trial, touched)
        cost, ok = state()
        if ok:
            alpha = cost <= base * (1 + DEEP_WITHIN)
            deepen(fam, trial, touched, alpha, deadline or no_deadline())
            cost, ok = state()
    if ok and cost <= base * (1 + POLISH_WITHIN):
        for m in touched:
            idx = np.flatnonzero(trial.assoc == m)
            if idx.size:
                joint_step(fam, trial, idx, m)
        fam.round_(trial, touched)
        cost, ok = state()
    if ok and cost < base * (1 - 1e-9):
        return trial
    return None


def association_pass(
    fam: Family, pt: Point, moves: Sequence[Move], deadline: Any, limit: int = MOVES_PER_PASS
) -> tuple[Point, int]:
    """Try ``moves`` (best score first, at most ``limit``, each vehicle moved once per pass,
    stopping after ``FAILS_PER_PASS`` rejected moves in a row) on ``pt``; every kept move
    lowers the objective. Returns the point and the moves kept."""
    kept, tried, fails, done = 0, 0, 0, set()
    for _, n, dst in moves:
        if tried >= limit or fails >= FAILS_PER_PASS or deadline.expired():
            break
        if n in done or pt.assoc[n] == dst:
            continue
        tried += 1
        new = try_move(fam, pt, n, dst)
        fails += 1
        if new is not None:
            pt, kept, fails = new, kept + 1, 0
            done.add(n)
    return pt, kept


def improve_association(
    instance: Instance,
    settings: SolveSettings,
    problem: Problem,
    pt: Point,
    deadline: Any,
    score: Any = None,
    passes: int = MAX_PASSES,
    q: np.ndarray | None = None,
) -> tuple[Point, list[dict[str, Any]]]:
    """Alternate passes of moves and AO rounds from the feasible ``pt`` while they improve.

    ``score(fam, pt) -> list of (score, vehicle, RSU)`` orders the moves (default
    ``share_scores`` over every other link). ``q`` (regrets at dual prices,
    ``phase1.regrets``), with deadlines or energy budgets: a pass that keeps no move tries
    deep moves (``deep_moves.deep_pass``: singles and chains of two, with the alpha-move
    step; without those limits a single move never needs room made for it, and at N = 200
    the chains took 83 s of bounds family b's 92 s for 0.002 %). Returns the best point and
    one trace row per pass (``block`` = ``association``, with the moves kept) and per AO
    rerun.
    """
    fam = Family(instance, settings, problem)
    score = score or (lambda f, p: share_scores(f, p, link_candidates(instance, p)))
    rows: list[dict[str, Any]] = []
    obj = fam.total(pt)
    for rnd in range(1, passes + 1):
        if deadline.expired():
            break
        t = time.perf_counter()
        pt, kept = association_pass(fam, pt, score(fam, pt), deadline)
        if not kept and q is not None and (problem.deadlines or problem.energy_budgets):
            pt, kept = deep_pass(fam, pt, q, deadline)
        new = fam.total(pt)
        rows.append(
            {
                "round": rnd,
                "block": "association",
                "objective": new,
                "moves": kept,
                "time_s": time.perf_counter() - t,
            }
        )
        if not kept:
            break
        if not deadline.expired():
            t = time.perf_counter()
            after, _, _ = run_family(
                instance, settings, problem, pt.allocation(), 10, deadline, repair=True
            )
            if fam.total(after) <= fam.total(pt) and all(
                rsu_cost(fam, after, int(m))[1] for m in np.unique(after.assoc)
            ):
                pt = after
            rows.append(
                {
                    "round": rnd,
                    "block": "I+II",
                    "objective": fam.total(pt),
                    "moves": 0,
                    "time_s": time.perf_counter() - t,
                }
            )
        if fam.total(pt) >= obj * (1 - 1e-9):
            break
        obj = fam.total(pt)
    return pt, rows
