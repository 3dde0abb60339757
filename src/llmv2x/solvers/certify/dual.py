"""Per-group Lagrangian dual of the budgets (10c), (10e): a group is an RSU (or an RSU at a
branch-and-bound node) with its rows. Prices sigma (frequency) and lambda (bandwidth) per
group; every evaluated price pair gives a valid bound (weak duality, docs/exact.md).

Maximised by Kelley cutting planes in a trust region on the scaled prices (sigma F, lambda B),
all groups at once: one oracle call per step for every row of every open group, and one
HiGHS LP holding every group's master (block diagonal).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from llmv2x.instances.schema import Instance
from llmv2x.models.constants import FEAS_TOL
from llmv2x.problem import Problem
from llmv2x.settings import SolveSettings
from llmv2x.solvers.backends.highs import new_highs
from llmv2x.solvers.certify.oracle import Rows, RowValues, row_oracle

#: Kelley steps per dual solve (cap).
DUAL_MAXIT = 60
#: Oracle tolerance of the first Kelley steps; later steps use 1/100 of the master's
#: relative gap, down to the final tolerance (any tolerance gives a valid bound).
EPS_LOOSE = 1e-5


@dataclass(frozen=True)
class Groups:
    """Rows partitioned into groups that share a frequency budget F and a bandwidth budget B."""

    rows: Rows
    group: np.ndarray  # row -> group index (0..G-1)
    F: np.ndarray  # per group
    B: np.ndarray
    free_sigma: bool  # equality budgets: the frequency price is free in sign

    @property
    def n_groups(self) -> int:
        """G."""
        return int(self.F.shape[0])


@dataclass
class DualState:
    """The best prices per group, their bound, the oracle values there and the master's cuts."""

    sigma: np.ndarray
    lam: np.ndarray
    bound: np.ndarray  # valid lower bound per group (-inf: none yet)
    estimate: np.ndarray  # the master's estimate of max D in its region (+inf: none)
    values: RowValues | None = None
    cuts: list[list[tuple[float, float, float]]] = field(default_factory=list)
    delta: np.ndarray | None = None
    steps: int = 0


def group_bound(
    groups: Groups, lower: np.ndarray, sigma: np.ndarray, lam: np.ndarray
) -> np.ndarray:
    """D_g = sum of the rows' valid lowers - sigma F - lambda B, less what the evaluator's
    1e-9 tolerance on the sums could give back (|sigma| F tol, lambda B tol)."""
    g = groups.group
    tot = np.bincount(g, weights=np.where(np.isinf(lower), 0.0, lower), minlength=groups.n_groups)
    inf = np.bincount(g, weights=np.isposinf(lower).astype(float), minlength=groups.n_groups) > 0
    d = (
        tot
        - sigma * groups.F
        - lam * groups.B
        - FEAS_TOL * (np.abs(sigma) * groups.F + lam * groups.B)
    )
    return np.where(inf, np.inf, d)


def _cut(
    groups: Groups, vals: RowValues, sigma: np.ndarray, lam: np.ndarray
) -> tuple[np.ndarray, ...]:
    """Kelley cut per group from the rows' points x: for every price pair,
    D(s, t) <= C + s (sum f_r / F - 1) + t (sum b / B - 1), s = sigma F, t = lambda B, with
    C = sum of the points' costs. Valid where every row has a point (``ok``)."""
    g, n = groups.group, groups.n_groups
    r_sig, r_lam = sigma[g], lam[g]
    ok = np.bincount(g, weights=(~np.isfinite(vals.upper)).astype(float), minlength=n) == 0
    fr = np.where(np.isfinite(vals.upper), vals.f_rsu, 0.0)
    bb = np.where(np.isfinite(vals.upper), vals.b, 0.0)
    cost = np.where(np.isfinite(vals.upper), vals.upper - r_sig * fr - r_lam * bb, 0.0)
    c = np.bincount(g, weights=cost, minlength=n)
    gs = np.bincount(g, weights=fr, minlength=n) / groups.F - 1.0
    gt = np.bincount(g, weights=bb, minlength=n) / groups.B - 1.0
    return c, gs, gt, ok


def _master(
    cuts: list[list[tuple[float, float, float]]], lo: np.ndarray, hi: np.ndarray
) -> np.ndarray:
    """max z_g s.t. z_g <= c + gs s_g + gt t_g (each cut of group g), (s, t) in [lo, hi]
    per group; one block-diagonal LP in HiGHS. Returns rows (s, t, z) per group."""
    import highspy

    ng = len(cuts)
    rows_i, cols_i, vals_i, rhs = [], [], [], []
    r = 0
    for gi, cs in enumerate(cuts):
        for c, gs, gt in cs:  # z - gs s - gt t <= c
            rows_i += [r, r, r]
            cols_i += [3 * gi, 3 * gi + 1, 3 * gi + 2]
            vals_i += [-gs, -gt, 1.0]
            rhs.append(c)
            r += 1
    a = sp.csc_matrix((vals_i, (rows_i, cols_i)), shape=(r, 3 * ng))
    inf = highspy.kHighsInf
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = 3 * ng, r
    lp.col_cost_ = np.tile([0.0, 0.0, -1.0], ng)
    zlo = np.full(ng, -inf)
    lp.col_lower_ = np.column_stack([lo[:, 0], lo[:, 1], zlo]).ravel()
    lp.col_upper_ = np.column_stack([hi[:, 0], hi[:, 1], np.full(ng, inf)]).ravel()
    lp.row_lower_ = np.full(r, -inf)
    lp.row_upper_ = np.asarray(rhs, float)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = a.indptr.astype(np.int32)
    lp.a_matrix_.index_ = a.indices.astype(np.int32)
    lp.a_matrix_.value_ = a.data.astype(float)
    h = new_highs()
    h.setOptionValue("output_flag", False)
    h.passModel(lp)
    h.run()
    return np.asarray(h.getSolution().col_value, float).reshape(ng, 3)


def maximise(
    instance: Instance,
    settings: SolveSettings,
    problem: Problem,
    groups: Groups,
    *,
    tol: float = 1e-9,
    maxit: int = DUAL_MAXIT,
    start: DualState | None = None,
    expired: object | None = None,
    target: np.ndarray | None = None,
) -> DualState:
    """Maximise every group's dual by Kelley steps in a trust region (module docstring).

    Stops a group when the master's estimate is within ``tol`` (relative) of its best bound,
    all groups after ``maxit`` steps or when ``expired()`` (a callable) says so. ``start``
    warm-starts the prices (and keeps the bounds already proven for them). ``target`` (per
    group, a branch and bound's prune level) also stops a group once its bound reaches it,
    or once the master's estimate is below it with the step inside the trust region
    (NaN: no early stop for that group).
    """
    n = groups.n_groups
    if start is None:
        st = DualState(np.zeros(n), np.zeros(n), np.full(n, -np.inf), np.full(n, np.inf))
    else:
        st = DualState(
            start.sigma.copy(), start.lam.copy(), np.full(n, -np.inf), np.full(n, np.inf)
        )
    st.cuts = [[] for _ in range(n)]
    scale_f, scale_b = groups.F, groups.B
    s_c, t_c = st.sigma * scale_f, st.lam * scale_b  # scaled centre
    s_try, t_try = s_c.copy(), t_c.copy()
    open_ = np.ones(n, bool)
    delta = np.full(n, np.nan)
    best_vals: RowValues | None = None
    warm: dict[str, np.ndarray] = {}
    eps_fin = max(1e-9, 0.01 * tol)
    eps = max(eps_fin, EPS_LOOSE)
    for _ in range(maxit):
        sig, lam = s_try / scale_f, t_try / scale_b
        vals = row_oracle(
            instance,
            settings,
            problem,
            groups.rows,
            sig[groups.group],
            lam[groups.group],
            eps=eps,
            warm=warm,
        )
        st.steps += 1
        d = group_bound(groups, vals.lower, sig, lam)
        c, gs, gt, ok = _cut(groups, vals, sig, lam)
        better = open_ & (d > st.bound)
        if np.isnan(delta).any():
            scale = np.abs(np.where(np.isfinite(c), c, 1.0))
            delta = np.where(np.isnan(delta), np.maximum(scale, 1e-12), delta)
        ratio_bad = open_ & ~better & np.isfinite(st.bound)
        delta = np.where(ratio_bad, 0.5 * delta, delta)
        st.bound = np.where(better, d, st.bound)
        st.sigma = np.where(better, sig, st.sigma)
        st.lam = np.where(better, lam, st.lam)
        s_c = np.where(better, s_try, s_c)
        t_c = np.where(better, t_try, t_c)
        best_vals = _merge(best_vals, vals, better[groups.group])
        for gi in np.flatnonzero(open_ & ok):
            st.cuts[gi].append((float(c[gi] + 0.0), float(gs[gi]), float(gt[gi])))
        if np.any(open_ & np.isposinf(d)):  # a row infeasible on its whole domain
            open_ &= ~np.isposinf(d)
        act = np.flatnonzero(open_ & np.array([len(x) > 0 for x in st.cuts]))
        if act.size == 0 or (expired is not None and expired()):
            break
        lo = np.column_stack([s_c[act] - delta[act], np.maximum(t_c[act] - delta[act], 0.0)])
        hi = np.column_stack([s_c[act] + delta[act], t_c[act] + delta[act]])
        if not groups.free_sigma:
            lo[:, 0] = np.maximum(lo[:, 0], 0.0)
        sol = _master([st.cuts[i] for i in act], lo, hi)
        est = sol[:, 2]
        st.estimate[act] = est
        on_edge = (np.abs(sol[:, 0] - s_c[act]) >= 0.999 * delta[act]) | (
            np.abs(sol[:, 1] - t_c[act]) >= 0.999 * delta[act]
        )
        gap_ok = est - st.bound[act] <= tol * np.abs(st.bound[act]) + 1e-300
        done = gap_ok  # the over-estimating model cannot beat the bound here: concave D
        if target is not None:
            tg = target[act]
            with np.errstate(invalid="ignore"):
                done |= st.bound[act] >= tg
            with np.errstate(invalid="ignore"):
                done |= (est < tg - tol * np.abs(tg)) & ~on_edge
        delta[act] = np.where(on_edge & better[act], 4.0 * delta[act], delta[act])
        open_[act[done]] = False
        with np.errstate(invalid="ignore", divide="ignore"):
            rel = (est - st.bound[act]) / np.abs(st.bound[act])
        rel = rel[~done & np.isfinite(rel)]
        eps = max(eps_fin, min(eps, 0.01 * float(rel.max()))) if rel.size else eps_fin
        s_try, t_try = s_c.copy(), t_c.copy()
        s_try[act], t_try[act] = sol[:, 0], sol[:, 1]
        if not open_.any():
            break
    st.values = best_vals
    st.delta = delta
    return st


def _merge(best: RowValues | None, new: RowValues, take: np.ndarray) -> RowValues:
    """Row values at each group's best prices so far (``take``: rows whose group improved)."""
    if best is None:
        return new
    kw = {}
    for k in RowValues.__dataclass_fields__:
        a, b = getattr(best, k), getattr(new, k)
        kw[k] = np.where(take[:, None] if a.ndim == 2 else take, b, a)
    return RowValues(**kw)
