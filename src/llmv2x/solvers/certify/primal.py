"""Primal recovery for groups whose alphas are fixed (leaves and dives of ``bnb``): the RSU's
problem is then convex, and its optimum is where the rows' minimisers exactly use the
budgets. Newton's method on the two scaled prices, with a finite-difference Jacobian, finds
prices whose points sum to F_m and B_m (docs/exact.md); the points there, put onto the
budgets, are near-optimal feasible points.
"""

from __future__ import annotations

import numpy as np

from llmv2x.instances.schema import Instance
from llmv2x.problem import Problem
from llmv2x.settings import SolveSettings
from llmv2x.solvers.certify.dual import Groups
from llmv2x.solvers.certify.oracle import RowValues, row_oracle

#: Newton steps of the price recovery.
NEWTON_STEPS = 6
#: Relative finite-difference step of the Jacobian (scaled prices).
FD_STEP = 1e-6


def _residual(
    instance: Instance,
    settings: SolveSettings,
    problem: Problem,
    groups: Groups,
    s: np.ndarray,
    t: np.ndarray,
) -> tuple[np.ndarray, RowValues]:
    """(sum f_r / F - 1, sum b / B - 1) per group at scaled prices (s, t), and the values."""
    g = groups.group
    sig, lam = s / groups.F, t / groups.B
    vals = row_oracle(instance, settings, problem, groups.rows, sig[g], lam[g])
    n = groups.n_groups
    fr = np.where(np.isfinite(vals.upper), vals.f_rsu, np.nan)
    bb = np.where(np.isfinite(vals.upper), vals.b, np.nan)
    r = np.column_stack(
        [
            np.bincount(g, weights=fr, minlength=n) / groups.F - 1.0,
            np.bincount(g, weights=bb, minlength=n) / groups.B - 1.0,
        ]
    )
    return r, vals


def newton_prices(
    instance: Instance,
    settings: SolveSettings,
    problem: Problem,
    groups: Groups,
    sigma: np.ndarray,
    lam: np.ndarray,
    *,
    steps: int = NEWTON_STEPS,
) -> RowValues:
    """Row values at prices near those where every group's points use its budgets exactly.

    Inequality budgets: a price at 0 with its sum below the budget is kept at 0 (its
    component of the residual is dropped). Steps that do not lower the residual are
    halved; non-finite residuals (a row without a point) stop that group.
    """
    s, t = sigma * groups.F, lam * groups.B
    r, vals = _residual(instance, settings, problem, groups, s, t)
    best = vals
    for _ in range(steps):
        h_s = FD_STEP * np.maximum(np.abs(s), 1e-3 * np.maximum(np.abs(t), 1.0))
        h_t = FD_STEP * np.maximum(np.abs(t), 1e-3 * np.maximum(np.abs(s), 1.0))
        r_s, _ = _residual(instance, settings, problem, groups, s + h_s, t)
        r_t, _ = _residual(instance, settings, problem, groups, s, t + h_t)
        js = (r_s - r) / h_s[:, None]
        jt = (r_t - r) / h_t[:, None]
        det = js[:, 0] * jt[:, 1] - jt[:, 0] * js[:, 1]
        with np.errstate(all="ignore"):
            ds = -(r[:, 0] * jt[:, 1] - jt[:, 0] * r[:, 1]) / det
            dt = -(js[:, 0] * r[:, 1] - r[:, 0] * js[:, 1]) / det
            # a price at 0 whose sum is below its budget stays there (inequality, bandwidth)
            off_f = (s <= 0) & (r[:, 0] < 0) & problem.inequality
            off_b = (t <= 0) & (r[:, 1] < 0)
            ds = np.where(off_b, -r[:, 0] / js[:, 0], ds)
            dt = np.where(off_f, -r[:, 1] / jt[:, 1], dt)
            ds = np.where(off_f, 0.0, ds)
            dt = np.where(off_b, 0.0, dt)
        ok = np.isfinite(ds) & np.isfinite(dt) & np.all(np.isfinite(r), axis=1)
        ds, dt = np.where(ok, ds, 0.0), np.where(ok, dt, 0.0)
        s_new, t_new = s + ds, np.maximum(t + dt, 0.0)
        if problem.inequality:
            s_new = np.maximum(s_new, 0.0)
        r_new, v_new = _residual(instance, settings, problem, groups, s_new, t_new)
        better = _size(r_new, s_new, t_new, problem) < _size(r, s, t, problem)
        better &= np.all(np.isfinite(r_new), axis=1)
        s, t = np.where(better, s_new, s), np.where(better, t_new, t)
        r = np.where(better[:, None], r_new, r)
        take = better[groups.group]
        best = _pick(best, v_new, take)
        if not better.any():
            break
    return best


def _size(r: np.ndarray, s: np.ndarray, t: np.ndarray, problem: Problem) -> np.ndarray:
    """|residual| per group, without the components a zero price leaves below budget."""
    rf = np.where(problem.inequality & (s <= 0) & (r[:, 0] < 0), 0.0, r[:, 0])
    rb = np.where((t <= 0) & (r[:, 1] < 0), 0.0, r[:, 1])
    return np.abs(rf) + np.abs(rb)


def _pick(a: RowValues, b: RowValues, take: np.ndarray) -> RowValues:
    kw = {}
    for k in RowValues.__dataclass_fields__:
        x, y = getattr(a, k), getattr(b, k)
        kw[k] = np.where(take[:, None] if x.ndim == 2 else take, y, x)
    return RowValues(**kw)
