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
from llmv2x.models import physics
from llmv2x.models.constants import B_FLOOR_HZ, F_RSU_FLOOR_HZ
from llmv2x.problem import Problem
from llmv2x.settings import SolveSettings
from llmv2x.solvers.certify.dual import DualState, Groups, maximise
from llmv2x.solvers.certify.oracle import Rows, RowValues, row_oracle
from llmv2x.solvers.certify.primal import newton_prices

#: Nodes per RSU bounded in one batch.
BATCH_PER_RSU = 4
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
class Incumbent:
    """The best point per vehicle (arrays over vehicles) and its value per RSU."""

    value: np.ndarray  # per RSU (+inf: none)
    alpha: np.ndarray
    f_vehicle: np.ndarray
    f_rsu: np.ndarray
    p: np.ndarray
    b: np.ndarray

    @classmethod
    def empty(cls, n: int, m: int) -> Incumbent:
        """No point yet."""
        nan = np.full(n, np.nan)
        return cls(np.full(m, np.inf), nan.copy(), nan.copy(), nan.copy(), nan.copy(), nan.copy())

    def offer(
        self, rsu: int, veh: np.ndarray, value: float, vals: RowValues, idx: np.ndarray
    ) -> bool:
        """Keep RSU ``rsu``'s point (rows ``idx`` of ``vals``, vehicles ``veh``) if better."""
        if not value < self.value[rsu]:
            return False
        self.value[rsu] = value
        self.alpha[veh] = vals.alpha[idx]
        self.f_vehicle[veh] = vals.f_vehicle[idx]
        self.f_rsu[veh] = vals.f_rsu[idx]
        self.p[veh] = vals.p[idx]
        self.b[veh] = vals.b[idx]
        return True


@dataclass
class Outcome:
    """What the search proved: per RSU bound and whether its gap closed; nodes; infeasible."""

    lower: np.ndarray  # per RSU
    closed: np.ndarray  # per RSU
    infeasible: bool
    nodes: int
    trace: list[dict[str, float]]


def _budgets(instance: Instance, rsu: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return (
        instance.rsu["f_max_hz"][rsu].astype(float),
        instance.rsu["bandwidth_hz"][rsu].astype(float),
    )


def _shares(x: np.ndarray, floor: float, total: float, fill: bool) -> np.ndarray:
    """Shares >= floor summing to ``total`` (or at most ``total`` when not ``fill``)."""
    x = np.where(np.isfinite(x), np.maximum(x, floor), floor)
    s = float(np.sum(x))
    if not fill and s <= total:
        return x
    room = total - floor * x.size
    extra = x - floor
    if room < 0:
        return np.full(x.size, total / x.size)
    if float(np.sum(extra)) <= 0:
        return np.full(x.size, floor + room / x.size)
    return floor + extra * (room / float(np.sum(extra)))


def _protected(
    x: np.ndarray, floor: float, total: float, fill: bool, keep: np.ndarray
) -> np.ndarray:
    """``_shares`` where the rows ``keep`` (at their deadline or energy budget) keep their
    share and the others absorb the difference; plain ``_shares`` when they cannot."""
    x = np.where(np.isfinite(x), np.maximum(x, floor), floor)
    if not keep.any() or keep.all():
        return _shares(x, floor, total, fill)
    rest = total - float(np.sum(x[keep]))
    if rest < floor * (~keep).sum():
        return _shares(x, floor, total, fill)
    out = x.copy()
    out[~keep] = _shares(x[~keep], floor, rest, fill)
    return out


def _share_variants(
    vals: RowValues,
    idx: np.ndarray,
    ups: int,
    fm: float,
    bm: float,
    fill_f: bool,
    tight: np.ndarray,
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Ways to put the dual points' shares onto the budgets: all rescaled alike; the rows at
    their deadline or energy budget (``tight``) kept and the others rescaled; and the
    vehicles that keep every layer (no RSU cost) at the floor, taking only a surplus."""
    b = _shares(vals.b[idx], B_FLOOR_HZ, bm, fill=True)
    f = vals.f_rsu[idx]
    out = [(_shares(f, F_RSU_FLOOR_HZ, fm, fill=fill_f), b)]
    t = tight[idx]
    if t.any():
        out.append(
            (
                _protected(f, F_RSU_FLOOR_HZ, fm, fill_f, t),
                _protected(vals.b[idx], B_FLOOR_HZ, bm, True, t),
            )
        )
    local = vals.alpha[idx] == ups
    if local.any() and (~local).any():
        g = np.full(idx.size, F_RSU_FLOOR_HZ)
        g[~local] = _shares(
            f[~local], F_RSU_FLOOR_HZ, fm - F_RSU_FLOOR_HZ * local.sum(), fill=False
        )
        surplus = fm - float(np.sum(g))
        if fill_f and surplus > 0:
            g[local] += surplus / local.sum()
        out.append((g, b))
    return out


def _tight(instance: Instance, problem: Problem, rows: Rows, vals: RowValues) -> np.ndarray:
    """Rows whose point is at its deadline or energy budget (within 1e-7 relative)."""
    n, m = rows.vehicle, rows.rsu
    v, r = instance.vehicle, instance.rsu
    a, ups = vals.alpha, instance.layers
    with np.errstate(all="ignore"):
        rate = physics.uplink_rate(vals.b, vals.p, rows.gain, instance.noise_psd_w_per_hz)
        t = (
            a
            * physics.compute_time(
                instance.psi[n], vals.f_vehicle, v["gpu_cores"][n], v["flops_per_cycle"][n]
            )
            + (ups - a)
            * physics.compute_time(
                instance.psi[n], vals.f_rsu, r["gpu_cores"][m], r["flops_per_cycle"][m]
            )
            + physics.transmit_time(instance.bits[n], rate)
        )
        e = a * physics.compute_energy(
            instance.psi[n],
            vals.f_vehicle,
            v["kappa"][n],
            v["gpu_cores"][n],
            v["flops_per_cycle"][n],
        ) + physics.transmit_energy(vals.p, instance.bits[n], rate)
        out = np.zeros(len(rows), bool)
        if problem.deadlines:
            out |= t >= instance.deadline_s[n] * (1.0 - 1e-7)
        if problem.energy_budgets:
            out |= e >= instance.energy_budget_j[n] * (1.0 - 1e-7)
    return out


def primal_from_dual(
    instance: Instance,
    settings: SolveSettings,
    problem: Problem,
    rsus: list[int],
    vals: RowValues,
    groups: Groups,
    inc: Incumbent,
) -> None:
    """For each group (RSU ``rsus[i]``): the dual points' shares put onto the budgets
    (``_share_variants``), fixed, and every vehicle re-optimised over all its alphas; the
    RSU's value is offered to ``inc``."""
    ups = int(instance.layers)
    tight = _tight(instance, problem, groups.rows, vals)
    parts, f_s, b_s, who, src = [], [], [], [], []
    for i in range(len(rsus)):
        idx = np.flatnonzero(groups.group == i)
        fm, bm = float(groups.F[i]), float(groups.B[i])
        for fs, bs in _share_variants(vals, idx, ups, fm, bm, not problem.inequality, tight):
            f_s.append(fs)
            b_s.append(bs)
            start = sum(len(x) for x in parts)
            parts.append(np.arange(start, start + idx.size))
            who.append(i)
            src.append(idx)
    fs, bs = np.concatenate(f_s), np.concatenate(b_s)
    base = groups.rows.take(np.concatenate(src))
    rows = base.with_domain(
        f_lo=fs,
        f_hi=fs,
        b_lo=bs,
        b_hi=bs,
        a_lo=np.ones(len(fs), np.int64),
        a_hi=np.full(len(fs), ups),
    )
    rows = _natural_snr(instance, rows)
    pv = row_oracle(instance, settings, problem, rows, np.zeros(len(fs)), np.zeros(len(fs)))
    for part, i in zip(parts, who, strict=True):
        if np.all(np.isfinite(pv.upper[part])):
            inc.offer(rsus[i], rows.vehicle[part], float(np.sum(pv.upper[part])), pv, part)


def _natural_snr(instance: Instance, rows: Rows) -> Rows:
    """SNR range implied by the p bounds and the (new) b bounds."""
    v = instance.vehicle
    k = rows.gain / instance.noise_psd_w_per_hz
    return rows.with_domain(
        g_lo=k * v["p_min_w"][rows.vehicle] / rows.b_hi,
        g_hi=k * v["p_max_w"][rows.vehicle] / rows.b_lo,
    )


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
        rows = _concat([nd.rows for nd in batch])
        group = np.concatenate([np.full(len(nd.rows), i) for i, nd in enumerate(batch)])
        f_b, b_b = _budgets(instance, np.array([nd.rsu for nd in batch]))
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
        specs = [(nd.rsu, nd.rows, st.sigma[i], st.lam[i]) for i, nd in enumerate(batch) if leaf[i]]
        for i, nd in enumerate(batch):
            a = inc.alpha[nd.rows.vehicle]
            key = (nd.rsu, tuple(np.nan_to_num(a).astype(int)))
            if np.all(np.isfinite(a)) and key not in dived:
                dived.add(key)
                specs.append((nd.rsu, nd.rows.with_domain(a_lo=a, a_hi=a), st.sigma[i], st.lam[i]))
        if specs and not expired():
            _recover(instance, settings, problem, specs, inc)
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


def _recover(
    instance: Instance,
    settings: SolveSettings,
    problem: Problem,
    specs: list[tuple[int, Rows, float, float]],
    inc: Incumbent,
) -> None:
    """Newton price recovery (``primal.newton_prices``) for groups with fixed alphas, then
    their points put onto the budgets and offered to ``inc``."""
    rows = _concat([sp[1] for sp in specs])
    group = np.concatenate([np.full(len(sp[1]), i) for i, sp in enumerate(specs)])
    f_b, b_b = _budgets(instance, np.array([sp[0] for sp in specs]))
    groups = Groups(rows, group, f_b, b_b, free_sigma=not problem.inequality)
    sig = np.array([sp[2] for sp in specs], float)
    lam = np.array([sp[3] for sp in specs], float)
    vals = newton_prices(instance, settings, problem, groups, sig, lam)
    primal_from_dual(instance, settings, problem, [sp[0] for sp in specs], vals, groups, inc)


def _concat(parts: list[Rows]) -> Rows:
    return Rows(
        **{k: np.concatenate([getattr(p, k) for p in parts]) for k in Rows.__dataclass_fields__}
    )
