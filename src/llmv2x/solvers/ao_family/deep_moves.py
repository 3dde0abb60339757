"""Deep moves of the family AO under ``association=decision``: single moves and chains of
two, re-solved with the alpha-move step (docs/algorithms.md#ao-for-the-problem-family,
"Association as a decision").

AO's passes of moves judge a move by a shallow re-solve of the two touched RSUs (rounds, a
repair, the joint step when close). With deadlines or energy budgets that rejects moves that
pay only once the RSUs' alphas have moved, or once another vehicle has made room:

* a single move: on an unseen instance (seed 303, tau_D 1.21, energy budgets, inequality
  budgets) AO ended 2.6 % above the certified optimum, one vehicle away from it; that move
  was 2.6 % cheaper after the alpha-move step and rejected without it;
* a chain of two moves whose RSUs meet (one's source or destination is the other's): on
  association+deadlines instance 0 of the variants benchmark the last step to the optimum
  was a swap of two vehicles between two RSUs, 1.3 % dearer after the joint step and 4.5 %
  cheaper after the alpha moves.

A deep pass runs when a shallow pass keeps no move. Its candidates, singles and chains, are
ranked by their (summed) regret at the dual's best prices (``phase1.regrets``); the first
``DEEP_TRIES`` are re-solved by ``association.try_moves`` with ``deep`` (the load point,
joint and alpha-move steps) and kept when feasible and cheaper.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import numpy as np

from llmv2x.solvers.ao_family.alpha_moves import rsu_moves
from llmv2x.solvers.ao_family.blocks import Family
from llmv2x.solvers.ao_family.joint import joint_step
from llmv2x.solvers.ao_family.point import Point

#: deep moves re-solved per pass (the lowest regret first; the two above were 1st and 6th)
DEEP_TRIES = 16

Deep = tuple[float, tuple[tuple[int, int], ...]]


def deep_moves(fam: Family, pt: Point, q: np.ndarray) -> list[Deep]:
    """Every single move (vehicle n from its RSU to another link, both regrets finite) and
    every pair of them whose RSUs meet, with the (summed) regret q[n, dst] - q[n, src],
    lowest first (a single before a chain of the same score)."""
    singles = []
    for n in range(fam.inst.n_vehicles):
        src = int(pt.assoc[n])
        for dst in fam.inst.candidates(n):
            dst = int(dst)
            if dst != src and np.isfinite(q[n, dst]) and np.isfinite(q[n, src]):
                singles.append((float(q[n, dst] - q[n, src]), n, src, dst))
    out: list[tuple[float, int, tuple[tuple[int, int], ...]]] = [
        (s, 1, ((n, b),)) for s, n, _, b in singles
    ]
    for (s1, n1, a1, b1), (s2, n2, a2, b2) in itertools.combinations(singles, 2):
        if n1 != n2 and {a1, b1} & {a2, b2}:
            out.append((s1 + s2, 2, ((n1, b1), (n2, b2))))
    return [(s, ch) for s, _, ch in sorted(out, key=lambda c: c[:2])]


def deep_pass(fam: Family, pt: Point, q: np.ndarray, deadline: Any) -> tuple[Point, int]:
    """Try the first ``DEEP_TRIES`` moves of ``deep_moves`` on ``pt`` (each vehicle moved
    once per pass); every kept move lowers the objective. Returns the point and the number
    of vehicles moved."""
    from llmv2x.solvers.ao_family.association import try_moves

    kept, done = 0, set()
    for _, changes in deep_moves(fam, pt, q)[:DEEP_TRIES]:
        if deadline.expired():
            break
        if any(n in done or pt.assoc[n] == d for n, d in changes):
            continue
        new = try_moves(fam, pt, changes, deep=True, deadline=deadline)
        if new is not None:
            pt, kept = new, kept + len(changes)
            done.update(n for n, _ in changes)
    return pt, kept


def deepen(fam: Family, pt: Point, touched: Sequence[int], alpha: bool, deadline: Any) -> None:
    """A joint step on every RSU of ``touched``, then (``alpha``) the alpha-move step until
    ``deadline``, a round and another joint step (``try_moves`` with ``deep``)."""
    for m in touched:
        idx = np.flatnonzero(pt.assoc == m)
        if idx.size:
            joint_step(fam, pt, idx, m)
    fam.round_(pt, touched)
    if not alpha:
        return
    for m in touched:
        idx = np.flatnonzero(pt.assoc == m)
        if idx.size:
            rsu_moves(fam, pt, idx, m, deadline)
    fam.round_(pt, touched)
    for m in touched:
        idx = np.flatnonzero(pt.assoc == m)
        if idx.size:
            joint_step(fam, pt, idx, m)
