"""Method ``exact``, step 2: per-RSU Lagrangian bounds and the branch and bound over S.

For RSUs too large to enumerate (``llmv2x.solvers.exact_enumerate``), the all-offload leaf
and the Lagrangian bound of the S non-empty branch on a grid of prices are computed for all
RSUs at once; those not closed by it get a depth-first branch and bound with dominance
propagation. The method's entry point is ``llmv2x.solvers.exact``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from llmv2x.models.constants import F_RSU_FLOOR_HZ
from llmv2x.solvers.deadline import Deadline
from llmv2x.solvers.exact_problem import _dominance, _Problem, _starts
from llmv2x.solvers.frequencies import rsu_cost_derivatives

#: Relative gap at which an RSU's search counts as closed (well inside the 1e-9 feasibility
#: tolerance).
GAP_TOL = 1e-12
#: Prices sigma >= 0 per RSU at which the Lagrangian bound is evaluated: 0 and a geometric
#: grid over GRID_DECADES decades below the price at which every share sits at the floor.
GRID_POINTS = 96
GRID_DECADES = 12.0
#: Prices per RSU once a branch and bound starts (same range, finer: the bound is tighter).
SEARCH_GRID_POINTS = 385


@dataclass
class _RsuSearch:
    """One RSU's subset search: the Lagrangian tables, the incumbent and the proven bound."""

    idx: np.ndarray  # the RSU's vehicles
    sigma: np.ndarray  # (J,) prices
    off: np.ndarray  # (k, J): A_n + v_n(sigma_j), cost of offloading at price sigma_j
    loc: np.ndarray  # (k, J): Upsilon A_n + sigma_j floor, cost of keeping all layers
    f_max: float
    best_value: float
    best_offload: np.ndarray
    bound: float = -np.inf
    nodes: int = 1
    closed: bool = False

    def node_bound(self, state: np.ndarray) -> tuple[float, int]:
        """Lagrangian bound of a node (state: -1 undecided, 0 offload, 1 local), best column.

        q(sigma) = -sigma F + sum_fixed + sum_undecided min(off, loc) (+ the cheapest switch
        to local when no vehicle is local yet), a lower bound for every sigma >= 0.
        """
        return _bound(self.sigma, self.off, self.loc, self.f_max, state)


def _bound(sigma, off, loc, f_max, state) -> tuple[float, int]:
    und = state < 0
    q = -sigma * f_max
    q = q + off[state == 0].sum(axis=0) + loc[state == 1].sum(axis=0)
    if und.any():
        q = q + np.minimum(off[und], loc[und]).sum(axis=0)
        if not np.any(state == 1):
            q = q + np.maximum(loc[und] - off[und], 0.0).min(axis=0)
    elif not np.any(state == 1):
        return np.inf, 0  # everyone offloads: the equality leaf, evaluated on its own
    j = int(np.argmax(q))
    return float(q[j]), j


def _sigma_grid(p: _Problem, idx: np.ndarray, rsu_of: np.ndarray, n_rsu: int) -> np.ndarray:
    """(n_rsu, J) prices: 0, then geometric up to the price that puts every share at the floor."""
    d1, _ = rsu_cost_derivatives(p.instance, p.settings, p.weight[idx], idx)
    top = np.full(n_rsu, 0.0)
    np.maximum.at(top, rsu_of, -d1(np.full(idx.size, F_RSU_FLOOR_HZ)))
    top = np.maximum(top, 1e-300)
    frac = np.concatenate([[0.0], np.logspace(-GRID_DECADES, 0.0, GRID_POINTS - 1)])
    return top[:, None] * frac[None, :]


def _tables(p: _Problem, idx: np.ndarray, sigma_rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """off and loc tables (len(idx), J) for vehicles ``idx`` at their RSU's prices."""
    j = sigma_rows.shape[1]
    vi = np.repeat(idx, j)
    sig = sigma_rows.reshape(-1)
    v, _ = p.prices(vi, sig)
    off = p.offload_fixed[idx][:, None] + v.reshape(len(idx), j)
    loc = p.local[idx][:, None] + sigma_rows * F_RSU_FLOOR_HZ
    return off, loc


def _fix(state: np.ndarray, n: int, local: bool, dominates: np.ndarray) -> np.ndarray | None:
    """state with vehicle n fixed, dominance propagated; None when that contradicts a fixing."""
    out = state.copy()
    if local:  # n keeps all layers, so does every vehicle n dominates
        tied = dominates[n] | (np.arange(len(state)) == n)
        if np.any(out[tied] == 0):
            return None
        out[tied] = 1
    else:  # n offloads, so does every vehicle that dominates n
        tied = dominates[:, n] | (np.arange(len(state)) == n)
        if np.any(out[tied] == 1):
            return None
        out[tied] = 0
    return out


def _search(p: _Problem, rs: _RsuSearch, deadline: Deadline) -> None:
    """Depth-first branch and bound over S for one RSU (S empty was evaluated already)."""
    k = len(rs.idx)
    dom = _dominance(p, rs.idx)
    top = float(rs.sigma[-1])
    frac = np.concatenate([[0.0], np.logspace(-GRID_DECADES, 0.0, SEARCH_GRID_POINTS - 1)])
    rs.sigma = top * frac
    rs.off, rs.loc = _tables(p, rs.idx, np.broadcast_to(rs.sigma, (k, len(frac))))
    tol = GAP_TOL * abs(rs.best_value)
    seen: dict[bytes, float] = {}
    open_bounds: list[float] = []
    stack = [np.full(k, -1, dtype=np.int8)]
    while stack:
        if deadline.expired():
            open_bounds.extend(_bound(rs.sigma, rs.off, rs.loc, rs.f_max, s)[0] for s in stack)
            break
        state = stack.pop()
        rs.nodes += 1
        bound, j = rs.node_bound(state)
        if bound >= rs.best_value - tol:
            continue
        und = np.flatnonzero(state < 0)
        # the node's Lagrangian choice at its best price, completed, is a candidate leaf
        choice = state.copy()
        choice[und] = (rs.loc[und, j] < rs.off[und, j]).astype(np.int8)
        if not np.any(choice == 1):
            choice[und[np.argmin(rs.loc[und, j] - rs.off[und, j])]] = 1
        key = choice.tobytes()
        if key not in seen:
            offload = choice == 0
            val = float(p.leaf_values(rs.idx, np.zeros(k, int), offload, 1)[0])
            seen[key] = val
            if val < rs.best_value:
                rs.best_value, rs.best_offload = val, offload
        if und.size == 0:
            continue
        # branch on the undecided vehicle whose two options are closest at this price
        gap = np.abs(rs.loc[und, j] - rs.off[und, j])
        n = und[int(np.argmin(gap))]
        prefer_local = bool(rs.loc[n, j] < rs.off[n, j])
        for child in (_fix(state, n, not prefer_local, dom), _fix(state, n, prefer_local, dom)):
            if child is not None:
                stack.append(child)
    rs.bound = min([rs.best_value, *open_bounds])
    rs.closed = not open_bounds


def _branch_and_bound(
    p, order, grp, starts, sizes, rsus, best, lower, offload, deadline
) -> tuple[int, bool]:
    """Lagrangian root bound for the RSUs ``rsus`` at once, then branch and bound where needed.

    Fills ``best``, ``lower`` and ``offload`` for those RSUs; returns (extra nodes, closed).
    """
    inst = p.instance
    sel = np.concatenate([np.arange(starts[g], starts[g] + sizes[g]) for g in rsus])
    idx = order[sel]
    local_pos = np.repeat(np.arange(len(rsus)), sizes[rsus])
    r = len(rsus)
    fm = inst.rsu_of("f_max_hz")[idx][_starts(local_pos)]
    # all-offload leaf (S empty: equality) of every RSU, in one vectorised solve
    all_off = p.leaf_values(idx, local_pos, np.ones(idx.size, bool), r)
    grid = _sigma_grid(p, idx, local_pos, r)
    off, loc = _tables(p, idx, grid[local_pos])
    diff = loc - off
    q = -grid * fm[:, None]
    q += np.add.reduceat(np.minimum(off, loc), _starts(local_pos), axis=0)
    flip = np.full(grid.shape, np.inf)
    np.minimum.at(flip, local_pos, np.maximum(diff, 0.0))
    q += flip
    jbest = np.argmax(q, axis=1)
    root = q[np.arange(r), jbest]
    # the Lagrangian's choice at the best price is a candidate (at least one local vehicle)
    choose_local = diff[np.arange(idx.size), jbest[local_pos]] < 0.0
    none_local = np.bincount(local_pos, weights=choose_local, minlength=r) == 0
    for g in np.flatnonzero(none_local):
        rows = np.flatnonzero(local_pos == g)
        choose_local[rows[np.argmin(diff[rows, jbest[g]])]] = True
    cand = p.leaf_values(idx, local_pos, ~choose_local, r)
    use_cand = cand < all_off
    val = np.where(use_cand, cand, all_off)
    off_choice = np.where(use_cand[local_pos], ~choose_local, True)
    bound = np.minimum(all_off, root)
    closed_all = True
    nodes = 0
    rstart = _starts(local_pos)
    for i in range(r):
        rows = np.arange(rstart[i], rstart[i] + sizes[rsus[i]])
        if bound[i] < val[i] - GAP_TOL * abs(val[i]):
            rs = _RsuSearch(
                idx=idx[rows],
                sigma=grid[i],
                off=off[rows],
                loc=loc[rows],
                f_max=float(fm[i]),
                best_value=float(val[i]),
                best_offload=off_choice[rows].copy(),
            )
            _search(p, rs, deadline)
            nodes += rs.nodes - 1
            val[i], off_choice[rows] = rs.best_value, rs.best_offload
            bound[i] = min(rs.bound, all_off[i])
            closed_all &= rs.closed
        g = rsus[i]
        best[g] = val[i]
        lower[g] = min(bound[i], val[i])
        offload[sel[rows]] = off_choice[rows]
    return nodes, closed_all
