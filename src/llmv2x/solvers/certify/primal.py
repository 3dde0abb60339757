"""Incumbents of the branch and bound of ``bnb`` (docs/exact.md, "The problem family under
fixed association").

Points from the dual: each vehicle's shares of F_m and B_m at the dual prices, put onto the
budgets (``primal_from_dual``), fixed, and every vehicle re-optimised by the row oracle over
all its alphas. For groups whose alphas are fixed (leaves and dives) the RSU's problem is
convex, and its optimum is where the rows' minimisers exactly use the budgets: Newton's
method on the two scaled prices, with a finite-difference Jacobian, finds such prices
(``newton_prices``, ``recover``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from llmv2x.instances.schema import Instance
from llmv2x.models import physics
from llmv2x.models.constants import B_FLOOR_HZ, F_RSU_FLOOR_HZ
from llmv2x.problem import Problem
from llmv2x.settings import SolveSettings
from llmv2x.solvers.certify.dual import Groups
from llmv2x.solvers.certify.oracle import Rows, RowValues, row_oracle

#: Newton steps of the price recovery.
NEWTON_STEPS = 6
#: Relative finite-difference step of the Jacobian (scaled prices).
FD_STEP = 1e-6
#: Newton stops once every group's relative residual is at most this (budgets used exactly
#: up to rounding; ``primal_from_dual`` puts the points onto the budgets anyway).
NEWTON_TOL = 1e-10


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


def _residual_pair(
    instance: Instance,
    settings: SolveSettings,
    problem: Problem,
    groups: Groups,
    p1: tuple[np.ndarray, np.ndarray],
    p2: tuple[np.ndarray, np.ndarray],
) -> tuple[np.ndarray, np.ndarray]:
    """``_residual`` at two price pairs in one oracle call (the rows twice, as two copies
    of every group): an oracle call costs about the same for twice the rows."""
    n = groups.n_groups
    two = Groups(
        concat([groups.rows, groups.rows]),
        np.concatenate([groups.group, groups.group + n]),
        np.concatenate([groups.F, groups.F]),
        np.concatenate([groups.B, groups.B]),
        groups.free_sigma,
    )
    r, _ = _residual(instance, settings, problem, two, np.r_[p1[0], p2[0]], np.r_[p1[1], p2[1]])
    return r[:n], r[n:]


def newton_prices(
    instance: Instance,
    settings: SolveSettings,
    problem: Problem,
    groups: Groups,
    sigma: np.ndarray,
    lam: np.ndarray,
    *,
    steps: int = NEWTON_STEPS,
    expired: Callable[[], bool] | None = None,
) -> RowValues:
    """Row values at prices near those where every group's points use its budgets exactly.

    Inequality budgets: a price at 0 with its sum below the budget is kept at 0 (its
    component of the residual is dropped). Steps that do not lower the residual are
    halved; non-finite residuals (a row without a point) stop that group. Stops early once
    ``expired()`` says the solve's time is up (the best values so far are returned).
    """
    s, t = sigma * groups.F, lam * groups.B
    r, vals = _residual(instance, settings, problem, groups, s, t)
    best = vals
    for _ in range(steps):
        if np.all(_size(r, s, t, problem) <= NEWTON_TOL) or (expired is not None and expired()):
            break
        h_s = FD_STEP * np.maximum(np.abs(s), 1e-3 * np.maximum(np.abs(t), 1.0))
        h_t = FD_STEP * np.maximum(np.abs(t), 1e-3 * np.maximum(np.abs(s), 1.0))
        r_s, r_t = _residual_pair(instance, settings, problem, groups, (s + h_s, t), (s, t + h_t))
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


def budgets(instance: Instance, rsu: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
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
    their deadline or energy budget (``tight``) kept and the others rescaled; the vehicles
    that keep every layer (no RSU cost) at the floor, taking only a surplus; and equal
    shares (the generator's reference split: it meets deadlines drawn with tightness >= 1)."""
    b = _shares(vals.b[idx], B_FLOOR_HZ, bm, fill=True)
    f = vals.f_rsu[idx]
    out = [(_shares(f, F_RSU_FLOOR_HZ, fm, fill=fill_f), b)]
    out.append((np.full(idx.size, fm / idx.size), np.full(idx.size, bm / idx.size)))
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


def recover(
    instance: Instance,
    settings: SolveSettings,
    problem: Problem,
    specs: list[tuple[int, Rows, float, float]],
    inc: Incumbent,
    expired: Callable[[], bool] | None = None,
) -> None:
    """Newton price recovery (``primal.newton_prices``) for groups with fixed alphas, then
    their points put onto the budgets and offered to ``inc``; ``expired`` stops the Newton
    steps when the solve's time is up."""
    rows = concat([sp[1] for sp in specs])
    group = np.concatenate([np.full(len(sp[1]), i) for i, sp in enumerate(specs)])
    f_b, b_b = budgets(instance, np.array([sp[0] for sp in specs]))
    groups = Groups(rows, group, f_b, b_b, free_sigma=not problem.inequality)
    sig = np.array([sp[2] for sp in specs], float)
    lam = np.array([sp[3] for sp in specs], float)
    vals = newton_prices(instance, settings, problem, groups, sig, lam, expired=expired)
    primal_from_dual(instance, settings, problem, [sp[0] for sp in specs], vals, groups, inc)


def concat(parts: list[Rows]) -> Rows:
    return Rows(
        **{k: np.concatenate([getattr(p, k) for p in parts]) for k in Rows.__dataclass_fields__}
    )
