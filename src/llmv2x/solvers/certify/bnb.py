"""Branch and bound per RSU on the rows' alpha ranges (docs/exact.md, "The problem family
under fixed association").

A node is one RSU with an alpha range per vehicle; its bound is the Lagrangian dual of the
RSU's budgets over those ranges (``dual.maximise``), valid for any prices. For a fixed alpha
per vehicle the RSU's problem is convex, so the dual closes the gap at the leaves; branching
splits the alpha range of the vehicle whose two best alphas are closest at the dual prices.
Incumbents come from the dual's points: their shares of F_m and B_m, rescaled onto the
budgets, fixed, and each vehicle re-optimised by the row oracle over every alpha. Open
nodes of all RSUs are bounded together (one dual, one oracle call per Kelley step).
"""

from __future__ import annotations

import heapq
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from llmv2x.instances.schema import Instance
from llmv2x.problem import Problem
from llmv2x.settings import SolveSettings
from llmv2x.solvers.certify.dual import DualState, Groups, maximise
from llmv2x.solvers.certify.oracle import Rows, RowValues
from llmv2x.solvers.certify.primal import Incumbent, budgets, concat, primal_from_dual, recover

#: Nodes per RSU bounded in one batch.
BATCH_PER_RSU = 8
#: Tries of a leaf (every alpha fixed) whose dual has not met its incumbent.
LEAF_TRIES = 3


@dataclass(order=True)
class Node:
    """One RSU at a node: alpha ranges of its vehicles (``rows``), a valid bound, warm prices."""

    bound: float
    seq: int
    rsu: int = field(compare=False)
    rows: Rows = field(compare=False)
    sigma: float = field(compare=False, default=0.0)
    lam: float = field(compare=False, default=0.0)
    tries: int = field(compare=False, default=0)


@dataclass
class Outcome:
    """What the search proved: per RSU bound and whether its gap closed; nodes; infeasible."""

    lower: np.ndarray  # per RSU
    closed: np.ndarray  # per RSU
    infeasible: bool
    nodes: int
    trace: list[dict[str, float]]


def _branch_row(nd: Node, vals: RowValues, idx: np.ndarray, slack: float) -> tuple[int, int] | None:
    """(row within the node, last alpha of the left child), or None when every alpha is fixed.

    Near-optimal alphas of a row are those whose bound at the dual prices is within
    ``slack`` (the node's gap) of the row's best; the dual mixes them. The row whose
    near-optimal alphas span the widest range is cut in the middle of that span (a wide
    span is where the duality gap comes from; two neighbours cost about the same). When
    every span is a single alpha, the row whose two best alphas are closest is cut
    between them.
    """
    rows = nd.rows
    free = np.flatnonzero(rows.a_hi > rows.a_lo)
    if free.size == 0:
        return None
    al = vals.alpha_lower[idx[free]]
    lo_al = np.min(al, axis=1, keepdims=True)
    near = np.isfinite(al) & (al <= lo_al + slack)
    cols = np.arange(al.shape[1])
    first = np.where(near.any(axis=1), np.argmax(near, axis=1), 0)
    last = np.where(near.any(axis=1), al.shape[1] - 1 - np.argmax(near[:, ::-1], axis=1), 0)
    span = last - first
    del cols
    if span.max() > 0:
        j = int(np.argmax(span))
        r = int(free[j])
        cut = (int(first[j]) + int(last[j]) + 2) // 2  # alphas are 1-based
    else:
        order = np.argsort(al, axis=1)
        a1, a2 = order[:, 0], order[:, 1]
        d = al[np.arange(free.size), a2] - al[np.arange(free.size), a1]
        d = np.where(np.isfinite(d), d, np.inf)
        j = int(np.argmin(d))
        r = int(free[j])
        if np.isfinite(d[j]):
            cut = (int(a1[j]) + int(a2[j]) + 2) // 2
        else:
            cut = (int(rows.a_lo[r]) + int(rows.a_hi[r])) // 2
    cut = min(max(cut, int(rows.a_lo[r])), int(rows.a_hi[r]) - 1)
    return r, cut


def _meets(bound: float, u: float, gap: float) -> bool:
    """Whether ``bound`` is within ``gap`` (relative) of the incumbent value ``u``."""
    return bool(np.isfinite(u)) and bound >= u - gap * abs(u)


def _children(
    nd: Node, r: int, cut: int, bound: float, sig: float, lam: float, seq: list[int]
) -> list[Node]:
    out = []
    for lo, hi in ((int(nd.rows.a_lo[r]), cut), (cut + 1, int(nd.rows.a_hi[r]))):
        a_lo, a_hi = nd.rows.a_lo.copy(), nd.rows.a_hi.copy()
        a_lo[r], a_hi[r] = lo, hi
        seq[0] += 1
        out.append(Node(bound, seq[0], nd.rsu, nd.rows.with_domain(a_lo=a_lo, a_hi=a_hi), sig, lam))
    return out


def search(
    instance: Instance,
    settings: SolveSettings,
    problem: Problem,
    gap: float,
    inc: Incumbent,
    expired: Any,
    t0: float,
) -> Outcome:
    """Branch and bound over every served RSU until each RSU's gap is at most ``gap``
    (relative to its incumbent) or ``expired()``; ``inc`` is improved in place."""
    rows_all = Rows.fixed(instance, problem)
    served = np.flatnonzero(np.bincount(instance.association, minlength=instance.n_rsus) > 0)
    heaps: dict[int, list[Node]] = {}
    seq = [0]
    for m in served:
        seq[0] += 1
        heaps[int(m)] = [Node(-np.inf, seq[0], int(m), rows_all.take(rows_all.rsu == m))]
    stuck: dict[int, float] = {}  # leaves whose gap would not close, and pruned nodes' bounds
    dived: set[tuple[int, tuple[int, ...]]] = set()
    nodes = 0
    trace: list[dict[str, float]] = []

    def rsu_lower(m: int) -> float:
        b = [nd.bound for nd in heaps[m]] + ([stuck[m]] if m in stuck else [])
        return min([inc.value[m], *b])

    def closed(m: int) -> bool:
        u = inc.value[m]
        return bool(np.isfinite(u)) and rsu_lower(m) >= u - gap * abs(u)

    def record() -> None:
        lo = sum(rsu_lower(m) for m in heaps)
        trace.append(
            {
                "time_s": time.perf_counter() - t0,
                "lower_bound": lo,
                "objective": float(np.sum(inc.value[served])),
            }
        )

    def total_closed() -> bool:
        u = float(np.sum(inc.value[served]))
        lo = sum(rsu_lower(m) for m in heaps)
        return bool(np.isfinite(u)) and lo >= u - gap * abs(u)

    while not total_closed():
        batch: list[Node] = []
        for m, h in heaps.items():
            if closed(m):
                continue
            for _ in range(min(BATCH_PER_RSU, len(h))):
                batch.append(heapq.heappop(h))
        if not batch or (nodes and expired()):  # the roots always get a bound and a point
            for nd in batch:
                heapq.heappush(heaps[nd.rsu], nd)
            break
        nodes += len(batch)
        rows = concat([nd.rows for nd in batch])
        group = np.concatenate([np.full(len(nd.rows), i) for i, nd in enumerate(batch)])
        f_b, b_b = budgets(instance, np.array([nd.rsu for nd in batch]))
        groups = Groups(rows, group, f_b, b_b, free_sigma=not problem.inequality)
        warm = DualState(
            np.array([nd.sigma for nd in batch]), np.array([nd.lam for nd in batch]), None, None
        )  # type: ignore[arg-type]
        u = inc.value[[nd.rsu for nd in batch]]
        with np.errstate(invalid="ignore"):
            target = np.where(np.isfinite(u), u - gap * np.abs(u), np.inf)
        # a leaf (every alpha fixed) is convex: its dual runs to the tolerance (no early stop)
        leaf = np.array([bool(np.all(nd.rows.a_lo == nd.rows.a_hi)) for nd in batch])
        target[leaf] = np.nan
        st = maximise(
            instance,
            settings,
            problem,
            groups,
            tol=0.1 * gap,
            start=warm,
            expired=expired,
            target=target,
        )
        vals = st.values
        assert vals is not None
        primal_from_dual(instance, settings, problem, [nd.rsu for nd in batch], vals, groups, inc)
        # leaves, and a dive per RSU (its incumbent's alphas fixed): convex, so prices where
        # the points use the budgets exactly give near-optimal points
        # (a leaf whose bound already meets its RSU's incumbent cannot improve it: no recovery)
        specs = [
            (nd.rsu, nd.rows, st.sigma[i], st.lam[i])
            for i, nd in enumerate(batch)
            if leaf[i] and not _meets(float(st.bound[i]), float(inc.value[nd.rsu]), gap)
        ]
        for i, nd in enumerate(batch):
            a = inc.alpha[nd.rows.vehicle]
            key = (nd.rsu, tuple(np.nan_to_num(a).astype(int)))
            if np.all(np.isfinite(a)) and key not in dived:
                dived.add(key)
                specs.append((nd.rsu, nd.rows.with_domain(a_lo=a, a_hi=a), st.sigma[i], st.lam[i]))
        if specs and not expired():
            recover(instance, settings, problem, specs, inc, expired)
        for i, nd in enumerate(batch):
            bound = max(nd.bound, float(st.bound[i]))
            u = inc.value[nd.rsu]
            if np.isposinf(bound):  # proven infeasible (a vehicle infeasible on its ranges)
                continue
            if np.isfinite(u) and bound >= u - gap * abs(u):
                stuck[nd.rsu] = min(stuck.get(nd.rsu, np.inf), bound)  # pruned: keep its bound
                continue
            idx = np.flatnonzero(group == i)
            br = _branch_row(nd, vals, idx, (u - bound) if np.isfinite(u) else np.inf)
            if br is None:
                if nd.tries + 1 >= LEAF_TRIES:
                    stuck[nd.rsu] = min(stuck.get(nd.rsu, np.inf), bound)
                else:
                    nd.bound, nd.tries = bound, nd.tries + 1
                    nd.sigma, nd.lam = float(st.sigma[i]), float(st.lam[i])
                    heapq.heappush(heaps[nd.rsu], nd)
                continue
            for ch in _children(nd, br[0], br[1], bound, float(st.sigma[i]), float(st.lam[i]), seq):
                heapq.heappush(heaps[nd.rsu], ch)
        record()
    lower = np.zeros(instance.n_rsus)
    done = np.ones(instance.n_rsus, bool)
    infeasible = False
    for m in heaps:
        lower[m] = rsu_lower(m)
        done[m] = closed(m)
        # every branch proven infeasible (none open, none pruned by bound) and no point
        infeasible |= bool(np.isposinf(inc.value[m]) and not heaps[m] and m not in stuck)
    if not trace:
        record()
    if total_closed():
        done[:] = True  # the whole gap is within the tolerance
    return Outcome(lower, done, infeasible, nodes, trace)
