"""Chain moves of the family AO under ``association=decision``: two vehicles moved at once
(docs/algorithms.md#ao-for-the-problem-family, "Association as a decision").

A single move into a crowded RSU breaks its deadlines; moving one of its vehicles out at the
same time makes room. On association+deadlines instance 0 of the variants benchmark, AO
ended 3.2 % above the certified optimum with no single move left that improved, while the
pair (vehicle 12: RSU 0 -> 2, vehicle 11: RSU 4 -> 0) reached 0.3 %. A chain is two single
moves whose RSUs meet (one's source or destination is the other's), ranked by the sum of
their regrets at the dual's best prices (``phase1.regrets``); the first ``CHAIN_TRIES`` are
re-solved by ``association.try_moves`` (``deep``: the load point, joint and alpha-move steps)
and kept when feasible and cheaper.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np

from llmv2x.solvers.ao_family.blocks import Family
from llmv2x.solvers.ao_family.point import Point

#: chains re-solved per pass (the lowest summed regret first; instance 0's was 6th)
CHAIN_TRIES = 12

Chain = tuple[float, tuple[tuple[int, int], tuple[int, int]]]


def chain_moves(fam: Family, pt: Point, q: np.ndarray) -> list[Chain]:
    """Every pair of single moves (vehicle n from its RSU to another link with a finite
    regret) whose RSUs meet, with the summed regret q[n, dst] - q[n, src], lowest first."""
    singles = []
    for n in range(fam.inst.n_vehicles):
        src = int(pt.assoc[n])
        for dst in fam.inst.candidates(n):
            dst = int(dst)
            if dst != src and np.isfinite(q[n, dst]) and np.isfinite(q[n, src]):
                singles.append((float(q[n, dst] - q[n, src]), n, src, dst))
    out = []
    for (s1, n1, a1, b1), (s2, n2, a2, b2) in itertools.combinations(singles, 2):
        if n1 != n2 and {a1, b1} & {a2, b2}:
            out.append((s1 + s2, ((n1, b1), (n2, b2))))
    return sorted(out, key=lambda c: c[0])


def chain_pass(fam: Family, pt: Point, q: np.ndarray, deadline: Any) -> tuple[Point, int]:
    """Try the first ``CHAIN_TRIES`` chains of ``chain_moves`` on ``pt`` (each vehicle moved
    once per pass); every kept chain lowers the objective. Returns the point and the number
    of vehicles moved."""
    from llmv2x.solvers.ao_family.association import try_moves

    kept, done = 0, set()
    for _, changes in chain_moves(fam, pt, q)[:CHAIN_TRIES]:
        if deadline.expired():
            break
        if any(n in done or pt.assoc[n] == d for n, d in changes):
            continue
        new = try_moves(fam, pt, changes, deep=True)
        if new is not None:
            pt, kept = new, kept + 2
            done.update(n for n, _ in changes)
    return pt, kept
