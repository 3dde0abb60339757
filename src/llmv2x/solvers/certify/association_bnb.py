"""Branch and bound on the association dual (docs/exact.md, section 12, "Association as a
decision: a certified gap"): closes the Lagrangian dual's gap where the incumbent is not yet proven.

The master's final LP weights its cuts; each cut is one choice (row, alpha) per vehicle, so
the weights describe the convexified primal point the dual's optimum stands for. A vehicle
whose weight is split between RSUs, or between alphas, is where the relaxation is not
integral. A node restricts the link rows: branching on vehicle n either keeps only its rows
at RSU m / drops them (RSU split), or cuts its alpha range at t: [a_lo, t] / [t + 1, a_hi]
(alpha split). Under equality budgets a node may also open RSU m (it serves someone: its
budgets then bind whatever the sign of its prices) or close it (its rows dropped): the
"open" split, taken first where the dual's relaxation of "RSU m serves someone" costs the
bound (docs/exact.md, section 12). Every node's dual value is a valid bound of its
sub-problem (weak duality) and a child's bound is at least its parent's (its set is
smaller). Best-first: the global bound is the smallest bound of the open nodes; nodes at or
above incumbent (1 - gap) are pruned.
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
    #: per RSU: 1 opened (serves someone), -1 closed (its rows dropped), 0 free
    state: np.ndarray | None = None


def split_of(
    picks: list[np.ndarray | None], res: master.MasterResult, m: int, rsu_only: bool = False
) -> Any:
    """The vehicle to branch on from the master's cut weights: ``("rsu", n, m)`` when n's
    weight is split between RSUs (m its heaviest), ``("alpha", n, t)`` when split between
    alphas on either side of t (not with ``rsu_only``); None when every vehicle's choice is
    (nearly) pure."""
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
    if rsu_only:
        best_a[:] = 0.0
    n = int(np.argmax(np.maximum(split_r, best_a)))
    if max(split_r[n], best_a[n]) < MIN_SPLIT:
        return None
    if split_r[n] >= best_a[n]:
        return ("rsu", n, int(np.argmax(rsu_w[n])))
    return ("alpha", n, int(best_t[n]))


def fallback_split(rows: Rows, picks: list[np.ndarray | None]) -> Any:
    """A split when the cut weights show no RSU split: the vehicle with the most rows left,
    at its last chosen RSU. None when every vehicle is down to one row: the node is one
    association, solved by the fixed-association method (``search``'s ``leaf``), whose own
    branch and bound handles alpha far better than alpha splits of this dual would."""
    nv = int(rows.vehicle.max(initial=-1)) + 1
    count = np.bincount(rows.vehicle, minlength=nv)
    if count.max(initial=0) <= 1:
        return None
    last = next((p for p in reversed(picks) if p is not None), None)
    n = int(np.argmax(count))
    mine = np.flatnonzero(rows.vehicle == n)
    m = int(last[n, 0]) if last is not None else int(rows.rsu[mine[0]])
    return ("rsu", n, m)


def children(root: Rows, node: Node, split: tuple[str, int, int]) -> list[Node]:
    """The two children of ``node`` on ``split`` (bounds inherited, to be raised)."""
    kind, n, v = split
    mine = root.vehicle == n
    out = []
    for side in (0, 1):
        keep, a_lo, a_hi = node.keep.copy(), node.a_lo.copy(), node.a_hi.copy()
        state = node.state.copy()
        if kind == "open":  # RSU n opened (side 0) or closed: its rows dropped (side 1)
            state[n] = 1 if side == 0 else -1
            if side == 1:
                keep &= root.rsu != n
        elif kind == "rsu":
            at = mine & (root.rsu == v)
            keep &= ~(mine & ~at) if side == 0 else ~at
        elif side == 0:
            a_hi[mine] = np.minimum(a_hi[mine], v)
        else:
            a_lo[mine] = np.maximum(a_lo[mine], v + 1)
        keep &= a_lo <= a_hi
        out.append(Node(keep, a_lo, a_hi, node.bound, node.y.copy(), node.delta, None, state))
    return out


def search(
    make_dual: Callable[[Rows, np.ndarray], Any],
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
    leaf: Callable[[Rows], float] | None = None,
) -> tuple[float, int, bool]:
    """Best-first branch and bound from ``root`` (its bound and split already known).

    ``make_dual(rows, opened)`` builds a node's dual (``opened``: RSUs opened by branching);
    ``incumbent()`` is the best objective so far;
    ``on_node(dual)`` is called after each node's dual (primal recovery); ``on_bound(b)``
    with each new global bound; ``leaf(rows)`` solves a node whose vehicles have one row
    each (one association) and returns its proven bound (offering its point). Returns
    (global bound, nodes, closed): closed when no open node is left below incumbent (1 - gap).
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
            if np.any(
                (child.state == 1) & (np.bincount(rows.rsu, minlength=child.state.size) == 0)
            ):
                continue  # an opened RSU that no vehicle can reach: an empty sub-problem
            dual = make_dual(rows, child.state == 1)
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
            child.split = dual.open_split(child.state) or split_of(
                dual.picks, res, len(box[0]) // 2, rsu_only=leaf is not None
            )
            if child.split is None and leaf is not None:
                child.split = fallback_split(rows, dual.picks)
            on_node(dual)
            if child.split is None and leaf is not None and child.bound < incumbent() * (1 - gap):
                child.bound = max(child.bound, leaf(rows))
            if child.bound < incumbent() * (1 - gap):
                heapq.heappush(heap, (child.bound, next(tie), child))
            else:
                pruned = min(pruned, child.bound)
    on_bound(pruned)
    return pruned, nodes, True
