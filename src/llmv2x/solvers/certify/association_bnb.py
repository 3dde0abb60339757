"""Branch and bound on the association dual (docs/exact.md, section 12, "Association as a
decision: a certified gap"): closes the Lagrangian dual's gap where the incumbent is not yet proven.

The master's final LP weights its cuts; each cut is one choice (row, alpha) per vehicle, so
the weights describe the convexified primal point the dual's optimum stands for. A vehicle
whose weight is split between RSUs, or between alphas, is where the relaxation is not
integral. A node restricts the link rows: branching on vehicle n either keeps only its rows
at RSU m / drops them (RSU split), or cuts its alpha range at t: [a_lo, t] / [t + 1, a_hi]
(alpha split). Every node's dual value is a valid bound of its sub-problem (weak duality) and
a child's bound is at least its parent's (its set is smaller). Best-first: the global bound
is the smallest bound of the open nodes; nodes at or above incumbent (1 - gap) are pruned.
Each node's argmin association is also tried as a primal point (``recovery``).
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from llmv2x.solvers.certify import master
from llmv2x.solvers.certify.oracle import Rows

#: a vehicle's weight must be split by at least this much to branch on it
MIN_SPLIT = 1e-6
#: master iterations per node (warm-started from the parent's prices)
NODE_ITER = 30


@dataclass
class Node:
    """A sub-problem: the kept root rows and their alpha ranges, with its proven bound."""

    keep: np.ndarray
    a_lo: np.ndarray
    a_hi: np.ndarray
    bound: float
    y: np.ndarray
    delta: float
    split: tuple[str, int, int] | None = None


def split_of(picks: list[np.ndarray | None], res: master.MasterResult, m: int) -> Any:
    """The vehicle to branch on from the master's cut weights: ``("rsu", n, m)`` when n's
    weight is split between RSUs (m its heaviest), ``("alpha", n, t)`` when split between
    alphas on either side of t; None when every vehicle's choice is (nearly) pure."""
    if res.weights.size == 0:
        return None
    ks = [k for k, w in zip(res.cut_calls, res.weights, strict=True) if w > 1e-12]
    ws = np.array([w for w in res.weights if w > 1e-12])
    ch = [picks[k] for k in ks]
    if not ch or any(c is None for c in ch):
        return None
    ws = ws / ws.sum()
    p = np.stack(ch)  # cuts x vehicles x (rsu, alpha)
    nv = p.shape[1]
    rsu_w = np.zeros((nv, m))
    for k in range(len(ws)):
        rsu_w[np.arange(nv), p[k, :, 0].astype(int)] += ws[k]
    split_r = 1.0 - rsu_w.max(axis=1)
    alpha = p[:, :, 1]
    best_a, best_t = np.zeros(nv), np.zeros(nv, int)
    for t in np.unique(alpha)[:-1]:
        le = ws @ (alpha <= t)
        s = np.minimum(le, 1.0 - le)
        better = s > best_a
        best_a[better], best_t[better] = s[better], int(t)
    n = int(np.argmax(np.maximum(split_r, best_a)))
    if max(split_r[n], best_a[n]) < MIN_SPLIT:
        return None
    if split_r[n] >= best_a[n]:
        return ("rsu", n, int(np.argmax(rsu_w[n])))
    return ("alpha", n, int(best_t[n]))


def children(root: Rows, node: Node, split: tuple[str, int, int]) -> list[Node]:
    """The two children of ``node`` on ``split`` (bounds inherited, to be raised)."""
    kind, n, v = split
    mine = root.vehicle == n
    out = []
    for side in (0, 1):
        keep, a_lo, a_hi = node.keep.copy(), node.a_lo.copy(), node.a_hi.copy()
        if kind == "rsu":
            at = mine & (root.rsu == v)
            keep &= ~(mine & ~at) if side == 0 else ~at
        elif side == 0:
            a_hi[mine] = np.minimum(a_hi[mine], v)
        else:
            a_lo[mine] = np.maximum(a_lo[mine], v + 1)
        keep &= a_lo <= a_hi
        out.append(Node(keep, a_lo, a_hi, node.bound, node.y.copy(), node.delta))
    return out


def search(
    make_dual: Callable[[Rows], Any],
    root_rows: Rows,
    root: Node,
    n_vehicles: int,
    incumbent: Callable[[], float],
    on_node: Callable[[Any], None],
    gap: float,
    box: tuple[np.ndarray, np.ndarray],
    deadline: Any,
    max_nodes: int,
    on_bound: Callable[[float], None],
) -> tuple[float, int, bool]:
    """Best-first branch and bound from ``root`` (its bound and split already known).

    ``make_dual(rows)`` builds a node's dual; ``incumbent()`` is the best objective so far;
    ``on_node(dual)`` is called after each node's dual (primal recovery); ``on_bound(b)``
    with each new global bound. Returns (global bound, nodes, closed): closed when no open
    node is left below incumbent (1 - gap).
    """
    tie = itertools.count()
    heap = [(root.bound, next(tie), root)]
    nodes, pruned = 0, np.inf  # pruned: the smallest bound of a node cut off by the gap
    while heap:
        bound = min(heap[0][0], pruned)
        on_bound(bound)
        if heap[0][0] >= incumbent() * (1 - gap):
            return bound, nodes, True
        if nodes >= max_nodes or deadline.expired():
            return bound, nodes, False
        _, _, node = heapq.heappop(heap)
        if node.split is None:  # pure choices: nothing left to branch on
            return bound, nodes, False
        for child in children(root_rows, node, node.split):
            nodes += 1
            rows = root_rows.take(child.keep)
            rows = rows.with_domain(a_lo=child.a_lo[child.keep], a_hi=child.a_hi[child.keep])
            if np.unique(rows.vehicle).size < n_vehicles:
                continue  # some vehicle has no row left: an empty sub-problem
            dual = make_dual(rows)
            scale = max(abs(node.bound), 1e-12)
            res = master.maximise(
                dual,
                child.y,
                *box,
                max(4.0 * node.delta, 1e-4 * scale),
                tol=1e-6,
                max_iter=NODE_ITER,
                deadline=deadline,
            )
            child.bound = max(node.bound, dual.best_val)
            if dual.best_y is not None:
                child.y = dual.best_y
            child.delta = res.delta
            child.split = split_of(dual.picks, res, len(box[0]) // 2)
            on_node(dual)
            if child.bound < incumbent() * (1 - gap):
                heapq.heappush(heap, (child.bound, next(tie), child))
            else:
                pruned = min(pruned, child.bound)
    on_bound(pruned)
    return pruned, nodes, True
