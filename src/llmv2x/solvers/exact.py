"""Method ``exact``: a certified global optimum of P1 (10) computed from the problem's structure.

The argument (proved in docs/exact.md, each step tested in tests/solvers/test_exact.py):

1. Objective (10) is a compute part in (alpha, f^V, f^R) plus a communication part in (p, b),
   and no constraint links the two groups, so they are minimised separately. The
   communication part is solved globally by ``llmv2x.solvers.comm.optimal_comm``.
2. The best vehicle frequency does not depend on alpha (closed form); for fixed alpha each
   RSU's frequency split is a convex separable problem
   (``llmv2x.solvers.frequencies``).
3. For fixed frequencies the compute part is affine in alpha, so after minimising over the
   frequencies it is concave in relaxed alpha in [1, Upsilon]^N: some optimum has every
   alpha_n in {1, Upsilon}. RSUs are independent given the association.
4. Per RSU, the set S of vehicles that keep all layers (alpha_n = Upsilon; the others
   offload, alpha_n = 1) is found by branch and bound. S empty means the offloaders share
   F_m exactly; S non-empty means the offloaders face sum f_n <= F_m - |S| * floor. A node's
   lower bound is the Lagrangian dual of that budget, maximised over a grid of prices
   sigma >= 0 (weak duality makes every sigma valid); leaves are evaluated exactly.

The bound returned is sum over RSUs of each RSU's proven bound plus the communication
part's dual bound; status ``optimal`` (with lower_bound = objective) only when every RSU's
search closed and the communication certificate holds.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from llmv2x.instances.schema import Instance
from llmv2x.models import physics
from llmv2x.models.allocation import Allocation
from llmv2x.models.constants import F_RSU_FLOOR_HZ
from llmv2x.models.evaluator import evaluate, vehicle_layer_cost
from llmv2x.results import Result, make_result
from llmv2x.settings import SolveSettings
from llmv2x.solvers.comm import optimal_comm
from llmv2x.solvers.deadline import Deadline, no_deadline
from llmv2x.solvers.frequencies import (
    argmin_shifted,
    best_vehicle_frequency,
    rsu_cost_derivatives,
    rsu_frequency_split,
    solve_separable,
)

METHOD = "exact"
#: Relative gap at which an RSU's search counts as closed (well inside the 1e-9 feasibility
#: tolerance).
GAP_TOL = 1e-12
#: Prices sigma >= 0 per RSU at which the Lagrangian bound is evaluated: 0 and a geometric
#: grid over GRID_DECADES decades below the price at which every share sits at the floor.
GRID_POINTS = 96
GRID_DECADES = 12.0
#: Prices per RSU once a branch and bound starts (same range, finer: the bound is tighter).
SEARCH_GRID_POINTS = 385
#: An RSU is enumerated when its up-sets times its vehicles stay below this (a chain of k
#: vehicles has k + 1 up-sets, so chains up to k = 64); larger ones are searched.
ENUMERATE_MAX_PAIRS = 4160
#: Up-sets of a partial order are found by filtering all 2^k subsets, up to this k.
ENUMERATE_MAX_K_PARTIAL = 14


@dataclass(frozen=True)
class _Problem:
    """Per-vehicle data of the compute part once the vehicle frequency is fixed at its best."""

    instance: Instance
    settings: SolveSettings
    offload_fixed: np.ndarray  # A_n = a_n(f*): the vehicle's cost with alpha_n = 1
    unit: np.ndarray  # u_n = A_n / psi_n, the vehicle's cost per FLOP (from its hardware alone)
    local: np.ndarray  # Upsilon A_n: the vehicle's cost with alpha_n = Upsilon
    weight: np.ndarray  # w_n = (Upsilon - 1) psi_n: FLOPs the RSU runs if n offloads
    f_max: np.ndarray  # F_m per vehicle
    count: np.ndarray  # vehicles at n's RSU
    hi: np.ndarray  # largest share any vehicle can get, F_m - (k_m - 1) floor

    @classmethod
    def build(cls, instance: Instance, settings: SolveSettings) -> _Problem:
        """Collect A_n, Upsilon A_n, w_n and the share bounds."""
        f = best_vehicle_frequency(instance, settings)
        a = vehicle_layer_cost(instance, settings.omega_t, f)
        v = instance.vehicle
        # per FLOP from the hardware alone, so identical vehicles get bit-identical u_n
        unit = physics.layer_cost(
            settings.omega_t, 1.0, f, v["kappa"], v["gpu_cores"], v["flops_per_cycle"]
        )
        counts = np.bincount(instance.association, minlength=instance.n_rsus)
        count = counts[instance.association].astype(float)
        f_max = instance.rsu_of("f_max_hz").astype(float)
        return cls(
            instance=instance,
            settings=settings,
            offload_fixed=a,
            unit=np.asarray(unit, float),
            local=instance.layers * a,
            weight=(instance.layers - 1.0) * instance.psi,
            f_max=f_max,
            count=count,
            hi=f_max - (count - 1.0) * F_RSU_FLOOR_HZ,
        )

    def rsu_cost(self, idx: np.ndarray, f: np.ndarray) -> np.ndarray:
        """w_n h_m(f): the RSU's cost of offloaded vehicles ``idx`` at shares f, eqs. (7)-(9)."""
        inst = self.instance
        return physics.layer_cost(
            self.settings.omega_t,
            self.weight[idx],
            f,
            inst.rsu_of("kappa")[idx],
            inst.rsu_of("gpu_cores")[idx],
            inst.rsu_of("flops_per_cycle")[idx],
        )

    def prices(self, idx: np.ndarray, sigma: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """v_n(sigma) = min_{floor <= f <= hi} w_n h(f) + sigma f, and its minimiser, per pair.

        ``idx`` and ``sigma`` have the same shape (one vehicle and one price per entry).
        """
        idx = np.asarray(idx)
        d1, d2 = rsu_cost_derivatives(self.instance, self.settings, self.weight[idx], idx)
        lo = np.full(idx.shape, F_RSU_FLOOR_HZ)
        f = argmin_shifted(d1, d2, lo, self.hi[idx], sigma)
        return self.rsu_cost(idx, f) + sigma * f, f

    def leaf_values(
        self, idx: np.ndarray, group: np.ndarray, offload: np.ndarray, n_groups: int
    ) -> np.ndarray:
        """Exact compute cost of each group (one RSU and one choice of S each), eq. (11).

        ``idx`` lists the RSU's vehicles once per group, ``offload`` says which offload. A
        group with no local vehicle shares F_m exactly among its offloaders; otherwise the
        offloaders face sum f <= F_m - |S| floor and the local vehicles absorb the rest.
        """
        value = np.bincount(
            group,
            weights=np.where(offload, self.offload_fixed[idx], self.local[idx]),
            minlength=n_groups,
        )
        n_local = np.bincount(group, weights=~offload, minlength=n_groups)
        fm = np.zeros(n_groups)
        fm[group] = self.f_max[idx]
        off = np.flatnonzero(offload)
        if off.size == 0:
            return value
        oi, og = idx[off], group[off]
        budget = fm - n_local * F_RSU_FLOOR_HZ
        n_off = np.bincount(og, minlength=n_groups)
        hi = (budget - (n_off - 1) * F_RSU_FLOOR_HZ)[og]
        d1, d2 = rsu_cost_derivatives(self.instance, self.settings, self.weight[oi], oi)
        sol = solve_separable(
            d1, d2, np.full(oi.size, F_RSU_FLOOR_HZ), hi, og, budget, inequality=n_local > 0
        )
        return value + np.bincount(og, weights=self.rsu_cost(oi, sol.x), minlength=n_groups)


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


def _dominance(p: _Problem, idx: np.ndarray) -> np.ndarray:
    """[i, j] True when vehicle i dominates j: if j offloads in an optimum, i may offload too.

    With u_n = A_n / psi_n the vehicle's cost per FLOP, i dominates j when psi_i >= psi_j and
    u_i >= u_j (ties broken by index so the relation is a strict order); docs/exact.md proves
    that some optimum with S non-empty never has j offloading while i keeps all layers.
    """
    psi = p.instance.psi[idx]
    u = p.unit[idx]
    k = len(idx)
    ge = (psi[:, None] >= psi[None, :]) & (u[:, None] >= u[None, :])
    strict = (psi[:, None] > psi[None, :]) | (u[:, None] > u[None, :])
    first = np.arange(k)[:, None] < np.arange(k)[None, :]
    return ge & (strict | first)


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


@dataclass(frozen=True)
class ComputeSolution:
    """Optimal layer split of the compute part and its certificate.

    Attributes
    ----------
    alpha : N layer counts, each 1 or Upsilon.
    value : the compute part (11) at alpha with optimal frequencies.
    lower_bound : proven lower bound on the compute part over all integral alpha.
    certified : every RSU's search closed within GAP_TOL.
    nodes : branch-and-bound nodes explored (one root per served RSU included).
    """

    alpha: np.ndarray
    value: float
    lower_bound: float
    certified: bool
    nodes: int


def optimal_split(
    instance: Instance, settings: SolveSettings, deadline: Deadline | None = None
) -> ComputeSolution:
    """Globally optimal alpha for the compute part of (10) (sub-problem I (11), alpha integral).

    By concavity in relaxed alpha (docs/exact.md) alpha_n is 1 or Upsilon, and RSUs are
    independent. Within an RSU, vehicle i dominates j when psi_i >= psi_j and u_i >= u_j
    (u the vehicle's cost per FLOP): some optimum never offloads j while i keeps all layers.

    * RSUs whose vehicles are totally ordered by dominance (identical vehicle hardware, as in
      the default scenario) have k + 1 candidate sets, "the t most dominant offload": for
      k(k + 1) <= ENUMERATE_MAX_PAIRS all are evaluated exactly, every RSU and every t in one
      vectorised multiplier search (longer chains go to the search below).
    * Other RSUs: the all-offload leaf and the Lagrangian bound of the S non-empty branch on a
      grid of prices, all RSUs at once; those not closed by it get a depth-first branch and
      bound with dominance propagation (``_search``).

    Parameters
    ----------
    instance : the instance.
    settings : omega_t.
    deadline : the solve's deadline (default: none); once it passes, open nodes are left
        unexplored (the bound then covers them and ``certified`` is False).
    """
    deadline = deadline or no_deadline()
    n = instance.n_vehicles
    ups = instance.layers
    if ups == 1:  # alpha = 1 = Upsilon for everyone: no choice, no RSU cost
        f = best_vehicle_frequency(instance, settings)
        total = float(np.sum(vehicle_layer_cost(instance, settings.omega_t, f)))
        return ComputeSolution(np.ones(n), total, total, True, 0)
    p = _Problem.build(instance, settings)
    served = instance.served_rsus
    pos_of_rsu = np.full(instance.n_rsus, -1)
    pos_of_rsu[served] = np.arange(len(served))
    n_srv = len(served)
    # vehicles grouped by RSU, most dominant first: psi, then u descending, then index
    vid = np.arange(n)
    order = np.lexsort((vid, -p.unit, -instance.psi, pos_of_rsu[instance.association]))
    grp = pos_of_rsu[instance.association[order]]
    starts = _starts(grp)
    sizes = np.diff(np.r_[starts, n])
    same = grp[1:] == grp[:-1]
    chain = np.ones(n_srv, bool)
    chain[grp[1:][same & (p.unit[order][1:] > p.unit[order][:-1])]] = False
    best = np.zeros(n_srv)
    lower = np.zeros(n_srv)
    offload = np.ones(n, bool)  # in ``order``
    nodes = 0
    certified = True
    # candidates (up-sets of the dominance order) of every RSU small enough to enumerate
    cands: dict[int, np.ndarray] = {}
    for g in range(n_srv):
        k = int(sizes[g])
        if chain[g] and k * (k + 1) <= ENUMERATE_MAX_PAIRS:
            cands[g] = np.arange(k)[None, :] < np.arange(k + 1)[:, None]  # top t offload
        elif not chain[g] and k <= ENUMERATE_MAX_K_PARTIAL:
            ups_sets = _upsets(_dominance(p, order[starts[g] : starts[g] + k]))
            if ups_sets.size <= ENUMERATE_MAX_PAIRS:
                cands[g] = ups_sets
    enum = np.zeros(n_srv, bool)
    enum[list(cands)] = True
    if cands:
        _enumerate(p, order, starts, cands, best, offload)
        lower[enum] = best[enum]
        nodes += sum(len(c) for c in cands.values())  # every candidate is a leaf evaluated
    others = np.flatnonzero(~enum)
    if others.size:
        extra, closed = _branch_and_bound(
            p, order, grp, starts, sizes, others, best, lower, offload, deadline
        )
        nodes += extra + others.size  # one root per RSU, then the search's nodes
        certified = closed
    alpha = np.empty(n)
    alpha[order] = np.where(offload, 1.0, float(ups))
    return ComputeSolution(alpha, float(np.sum(best)), float(np.sum(lower)), certified, nodes)


#: Largest number of (vehicle, candidate) pairs evaluated in one vectorised call.
_BATCH_PAIRS = 2_000_000


def _upsets(dominates: np.ndarray) -> np.ndarray:
    """Every up-set of a dominance order on k vehicles, as rows of a (count, k) offload mask."""
    k = len(dominates)
    masks = ((np.arange(2**k)[:, None] >> np.arange(k)[None, :]) & 1).astype(bool)
    # j offloads while some i dominating j does not: not an up-set
    blocked = (~masks).astype(np.int64) @ dominates.astype(np.int64) > 0
    return masks[~np.any(masks & blocked, axis=1)]


def _enumerate(p, order, starts, cands: dict[int, np.ndarray], best, offload) -> None:
    """Exact minimum over the given candidate offload sets of each RSU (leaf values, §5).

    ``cands[g]`` is a (count, k) boolean array over RSU g's vehicles in ``order``; the
    all-offload row is evaluated with the equality split, the others with the inequality.
    All candidates of all RSUs go through one vectorised multiplier search (in batches).
    Fills ``best`` and ``offload`` (indexed like ``order``) for those RSUs.
    """
    batch: list[int] = []
    pairs = 0

    def flush() -> None:
        if not batch:
            return
        counts = np.array([len(cands[g]) for g in batch])
        ks = np.array([cands[g].shape[1] for g in batch])
        n_groups = int(np.sum(counts))
        group = np.repeat(np.arange(n_groups), np.repeat(ks, counts))
        member_pos = np.concatenate(
            [
                np.tile(np.arange(starts[g], starts[g] + k), c)
                for g, k, c in zip(batch, ks, counts, strict=True)
            ]
        )
        mask = np.concatenate([cands[g].reshape(-1) for g in batch])
        values = p.leaf_values(order[member_pos], group, mask, n_groups)
        first = np.r_[0, np.cumsum(counts)[:-1]]
        for g, k, c, f0 in zip(batch, ks, counts, first, strict=True):
            i = int(np.argmin(values[f0 : f0 + c]))
            best[g] = values[f0 + i]
            offload[starts[g] : starts[g] + k] = cands[g][i]
        batch.clear()

    for g, c in cands.items():
        if batch and pairs + c.size > _BATCH_PAIRS:
            flush()
            pairs = 0
        batch.append(g)
        pairs += c.size
    flush()


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


def _starts(group_sorted: np.ndarray) -> np.ndarray:
    """First position of each group in a sorted group-index array."""
    return np.r_[0, np.flatnonzero(np.diff(group_sorted)) + 1]


def solve_exact(instance: Instance, settings: SolveSettings) -> Result:
    """Certified global optimum of P1, objective (10) or its latency variant (method ``exact``).

    Combines ``optimal_split`` (alpha in {1, Upsilon}, branch and bound per RSU, exact
    frequency splits) with ``llmv2x.solvers.comm.optimal_comm`` (convex bandwidth
    allocation, best power). Status ``optimal`` and lower_bound = objective when every
    certificate holds; otherwise ``feasible`` (or ``time_limit``) with the proven bound.

    Parameters
    ----------
    instance : the instance.
    settings : omega_t, objective variant, time_limit (seconds, for the subset search).

    Returns
    -------
    Result verified by the evaluator; iterations = branch-and-bound nodes explored.
    """
    t0 = time.perf_counter()
    deadline = Deadline(settings.time_limit, start=t0)
    comp = optimal_split(instance, settings, deadline)
    comm = optimal_comm(instance, settings)
    alloc = Allocation(
        alpha=comp.alpha,
        p_w=comm.p_w,
        b_hz=comm.b_hz,
        f_vehicle_hz=best_vehicle_frequency(instance, settings),
        f_rsu_hz=rsu_frequency_split(instance, settings, comp.alpha),
    )
    certified = comp.certified and comm.certified
    timed_out = deadline.hit and not comp.certified
    status = "optimal" if certified else ("time_limit" if timed_out else "feasible")
    ev = evaluate(instance, alloc, settings)
    lower_bound = None
    if ev.feasible:
        # the bound is the objective itself once every certificate holds (ties up to rounding)
        bound = comp.lower_bound + comm.lower_bound
        lower_bound = ev.objective if certified else min(bound, ev.objective)
    return make_result(
        instance,
        settings,
        METHOD,
        alloc,
        status,
        time.perf_counter() - t0,
        lower_bound=lower_bound,
        solvers={"exact": "llmv2x structure"},
        iterations=comp.nodes,
        message="" if certified else "search stopped before closing; lower_bound is the proven one",
    )
