"""Optimal GPU frequencies for a fixed layer split alpha: closed form on the vehicle, and each
RSU's split of its frequency, eqs. (1), (2), (7)-(11) and constraint (10e).

For fixed alpha the compute part of objective (10) (sub-problem I's objective (11)) separates:

* vehicle n contributes alpha_n a_n(f_n), a_n = omega_t T_n + omega_e E_n (eqs. (1), (2));
  alpha_n > 0 multiplies a convex function of f_n, so the minimiser does not depend on alpha;
* RSU m contributes sum_n w_n h_m(f_nm) with w_n = (Upsilon - alpha_n) psi_n and h_m the
  per-FLOP layer cost of eqs. (7), (8); the shares are tied by sum_n f_nm = F_m (10e) and the
  1 MHz floor. That is a convex separable problem with one coupling constraint, solved here
  by a one-dimensional search on its multiplier (``solve_separable``).

``solve_separable`` is the generic engine (also used for the bandwidth in
``llmv2x.solvers.comm``): minimise sum_i phi_i(x_i) subject to one sum per group, each
phi_i convex and C^2 on [lo_i, hi_i]. The proofs are in docs/exact.md.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from llmv2x.instances.schema import Instance
from llmv2x.models import physics
from llmv2x.models.constants import F_RSU_FLOOR_HZ
from llmv2x.settings import SolveSettings

EPS = float(np.finfo(float).eps)
#: Safety cap of the Newton/bisection loops; machine precision is reached in far fewer.
MAX_ITER = 200
#: A Newton step below this (relative) is in its quadratic phase: two more reach the ulps.
NEAR = 1e-9

Derivative = Callable[[np.ndarray], np.ndarray]


# ---------------------------------------------------------------------------------------------
# the generic engine: sum of convex functions of one variable each, one sum per group
# ---------------------------------------------------------------------------------------------


def _midpoint(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Bisection point of [a, b]: geometric when both ends are positive and far apart."""
    geo = (a > 0) & (b > 4.0 * a)
    with np.errstate(invalid="ignore"):
        return np.where(geo, np.sqrt(np.abs(a * b)), 0.5 * (a + b))


def argmin_shifted(
    d1: Derivative,
    d2: Derivative,
    lo: np.ndarray,
    hi: np.ndarray,
    lam: np.ndarray,
    x0: np.ndarray | None = None,
) -> np.ndarray:
    """Minimiser of phi_i(x) + lam_i x over [lo_i, hi_i] for every item i (phi_i convex).

    The first-order condition phi_i'(x) + lam_i = 0 has an increasing left-hand side, so the
    answer is ``lo`` if it is already >= 0 there, ``hi`` if it is <= 0 there, and otherwise
    its root, found by Newton's method safeguarded by bisection to machine precision.

    Parameters
    ----------
    d1, d2 : phi' and phi'' of every item, each mapping an array of x (one per item) to an
        array of the same shape.
    lo, hi : bounds of every item (lo > 0).
    lam : the price of every item (the multiplier of its group's sum).
    x0 : optional starting point (warm start).
    """
    lo = np.asarray(lo, float)
    hi = np.asarray(hi, float)
    lam = np.broadcast_to(np.asarray(lam, float), lo.shape)
    at_lo = d1(lo) + lam >= 0.0
    at_hi = (d1(hi) + lam <= 0.0) & ~at_lo
    a, b = lo.copy(), hi.copy()
    x = _midpoint(a, b) if x0 is None else np.clip(np.asarray(x0, float), lo, hi)
    x = np.where(at_lo, lo, np.where(at_hi, hi, x))
    done = at_lo | at_hi | (lo >= hi)
    near = np.zeros(lo.shape, int)
    for _ in range(MAX_ITER):
        if done.all():
            break
        r = d1(x) + lam
        a = np.where(~done & (r < 0.0), x, a)
        b = np.where(~done & (r > 0.0), x, b)
        with np.errstate(divide="ignore", invalid="ignore"):
            xn = x - r / d2(x)
        ok = np.isfinite(xn) & (xn >= a) & (xn <= b)
        # a Newton step of a few ulps means the root is found; never bisect away from it.
        # Rounding in phi' can keep steps at ~1e-15 instead: after two steps below 1e-9
        # (quadratic convergence) nothing more is to be gained.
        step = np.abs(xn - x)
        near = np.where(ok & (step <= NEAR * np.abs(x)), near + 1, 0)
        conv = (r == 0.0) | (ok & (step <= 8.0 * EPS * np.abs(x))) | (near >= 3)
        xn = np.where(ok, xn, _midpoint(a, b))
        x = np.where(done | (r == 0.0), x, xn)
        done = done | conv | (b - a <= 4.0 * EPS * b)
    return x


@dataclass(frozen=True)
class SeparableSolution:
    """Solution of ``solve_separable``: values per item, multiplier per group."""

    x: np.ndarray
    lam: np.ndarray
    iterations: int


def _group_reduce(ufunc: np.ufunc, values: np.ndarray, group: np.ndarray, k: int, init: float):
    out = np.full(k, init)
    ufunc.at(out, group, values)
    return out


def solve_separable(
    d1: Derivative,
    d2: Derivative,
    lo: np.ndarray,
    hi: np.ndarray,
    group: np.ndarray,
    total: np.ndarray,
    inequality: np.ndarray | None = None,
) -> SeparableSolution:
    """Minimise sum_i phi_i(x_i) s.t. sum_{i in g} x_i = total_g (or <= for ``inequality``).

    Each phi_i is convex on [lo_i, hi_i]; the problem is convex and separable with one
    coupling constraint per group, so x is optimal if and only if, for one multiplier lam_g
    per group, every x_i minimises phi_i(x) + lam_g x on its interval and the sums hold
    (KKT conditions, sufficient for a convex problem; lam_g >= 0 for an inequality).
    x_i(lam) is non-increasing in lam, so lam_g is found by a one-dimensional search on the
    monotone map lam -> sum_i x_i(lam): Newton's method safeguarded by bisection, to
    machine precision. The sums are then made exact by putting the residual on each
    group's largest share (a change of a few ulps).

    Parameters
    ----------
    d1, d2 : phi' and phi'' of every item (arrays in, arrays out, one entry per item).
    lo, hi : bounds of every item; sum lo <= total <= sum hi in every group.
    group : group index of every item, 0 .. len(total) - 1.
    total : right-hand side of every group's sum.
    inequality : per group, True for sum <= total (then lam_g = 0 when the unconstrained
        minimisers already fit).

    Returns
    -------
    SeparableSolution with x, the multipliers lam (one per group) and the outer iterations.
    """
    lo = np.asarray(lo, float)
    hi = np.asarray(hi, float)
    group = np.asarray(group, int)
    total = np.asarray(total, float)
    k = len(total)
    ineq = np.zeros(k, bool) if inequality is None else np.asarray(inequality, bool)

    def sums(x: np.ndarray) -> np.ndarray:
        return np.bincount(group, weights=x, minlength=k)

    # bracket: at lam_hi every item sits at lo, at lam_lo every item sits at hi
    lam_lo = _group_reduce(np.minimum, -d1(hi), group, k, np.inf)
    lam_hi = _group_reduce(np.maximum, -d1(lo), group, k, -np.inf)
    lam_lo = np.minimum(lam_lo, lam_hi)
    done = np.bincount(group, minlength=k) == 0  # an empty group has nothing to solve
    lam_lo = np.where(done, 0.0, lam_lo)
    lam_hi = np.where(done, 0.0, lam_hi)
    lam = np.zeros(k)
    if ineq.any():
        x0 = argmin_shifted(d1, d2, lo, hi, np.zeros(len(lo)))
        fits = ineq & (sums(x0) <= total)
        done |= fits
        lam_lo = np.where(ineq, np.maximum(lam_lo, 0.0), lam_lo)
        lam_hi = np.maximum(lam_hi, lam_lo)
    # start from the mean price at equal shares (inside the bracket): Newton then needs a
    # handful of steps instead of bisecting down from the price that puts all at the floor
    n_items = np.bincount(group, minlength=k)
    x_eq = np.clip((total / np.maximum(n_items, 1))[group], lo, hi)
    lam_eq = np.bincount(group, weights=-d1(x_eq), minlength=k) / np.maximum(n_items, 1)
    lam = np.where(done, 0.0, np.clip(lam_eq, lam_lo, lam_hi))
    x = argmin_shifted(d1, d2, lo, hi, lam[group], x_eq)
    it = 0
    near = np.zeros(k, int)
    for it in range(1, MAX_ITER + 1):  # noqa: B007 - the count is reported
        res = sums(x) - total
        done |= np.abs(res) <= 2.0 * EPS * n_items * total
        if done.all():
            break
        lam_lo = np.where(~done & (res > 0.0), lam, lam_lo)
        lam_hi = np.where(~done & (res < 0.0), lam, lam_hi)
        interior = (x > lo) & (x < hi)
        with np.errstate(divide="ignore", invalid="ignore"):
            slope = -sums(np.where(interior, 1.0 / d2(x), 0.0))
            lam_new = lam - res / slope
        ok = np.isfinite(lam_new) & (lam_new >= lam_lo) & (lam_new <= lam_hi)
        scale = np.maximum(np.abs(lam_lo), np.abs(lam_hi))
        step = np.abs(lam_new - lam)
        near = np.where(ok & (step <= NEAR * np.abs(lam)), near + 1, 0)
        conv = ok & ((step <= 4.0 * EPS * np.abs(lam)) | (near >= 3))
        lam_new = np.where(ok, lam_new, _midpoint(lam_lo, lam_hi))
        done |= conv | (lam_hi - lam_lo <= 4.0 * EPS * scale)
        lam = np.where(done, lam, lam_new)
        x = np.where(done[group], x, argmin_shifted(d1, d2, lo, hi, lam[group], x))
    x = _fix_sums(x, group, total, ~(ineq & (lam == 0.0)))
    return SeparableSolution(x=x, lam=lam, iterations=it)


def _fix_sums(x: np.ndarray, group: np.ndarray, total: np.ndarray, which: np.ndarray):
    """Put each group's rounding residual on its largest share (groups where ``which``)."""
    x = x.copy()
    k = len(total)
    order = np.lexsort((x, group))  # by group, then value: last of each group is its largest
    last = order[np.r_[np.flatnonzero(np.diff(group[order])), len(order) - 1]]
    present = np.zeros(k, bool)
    present[group] = True
    for _ in range(2):  # a second pass removes the residual of the first addition
        res = total - np.bincount(group, weights=x, minlength=k)
        idx = last[which[group[last]] & present[group[last]]]
        x[idx] += res[group[idx]]
    return x


# ---------------------------------------------------------------------------------------------
# the frequencies of sub-problem I for fixed alpha
# ---------------------------------------------------------------------------------------------


def best_vehicle_frequency(instance: Instance, settings: SolveSettings) -> np.ndarray:
    """Vehicle GPU frequency f_n (Hz) minimising the per-layer cost a_n(f), eqs. (1), (2), (15).

    a_n(f) = omega_t T_n(f) + omega_e E_n(f) is convex for f > 0 and the vehicle's cost is
    alpha_n a_n(f) with alpha_n >= 1 > 0, so the minimiser is the same for every alpha:
    f* = (omega_t / (2 omega_e kappa_n))^(1/3) (eq. (15) = 0) clipped to [f_min, f_max].
    omega_e = 0 gives f_max (time only), omega_t = 0 gives f_min (energy only).

    Parameters
    ----------
    instance : the instance (vehicle kappa, f_min_hz, f_max_hz).
    settings : omega_t.

    Returns
    -------
    numpy.ndarray of N frequencies in Hz.
    """
    v = instance.vehicle
    f = physics.best_frequency(settings.omega_t, v["kappa"])
    return np.clip(f, v["f_min_hz"], v["f_max_hz"])


def rsu_weights(instance: Instance, alpha: np.ndarray) -> np.ndarray:
    """w_n = (Upsilon - alpha_n) psi_n, FLOPs per layer that RSU m runs for vehicle n (eq. (9))."""
    return (instance.layers - np.asarray(alpha, float)) * instance.psi


def rsu_cost_derivatives(
    instance: Instance, settings: SolveSettings, weights: np.ndarray, idx: np.ndarray
) -> tuple[Derivative, Derivative]:
    """phi' and phi'' of phi_i(f) = w_i h_m(f) for the vehicles ``idx``, eqs. (7)-(9), (16)."""
    w = settings.omega_t
    wi = np.asarray(weights, float)
    kap = instance.rsu_of("kappa")[idx]
    cores = instance.rsu_of("gpu_cores")[idx].astype(float)
    fpc = instance.rsu_of("flops_per_cycle")[idx]

    def d1(f: np.ndarray) -> np.ndarray:
        return physics.layer_cost_df(w, wi, f, kap, cores, fpc)

    def d2(f: np.ndarray) -> np.ndarray:
        return physics.layer_cost_d2f(w, wi, f, kap, cores, fpc)

    return d1, d2


@dataclass(frozen=True)
class FrequencySplit:
    """Result of ``split_rsu_frequencies``.

    Attributes
    ----------
    f_rsu_hz : f_{n, association[n]} for every vehicle (Hz).
    sigma : multiplier of (10e) for every RSU (cost per Hz; 0 when the RSU has spare
        frequency that a vehicle with alpha_n = Upsilon absorbs, nan for an unserved RSU).
    """

    f_rsu_hz: np.ndarray
    sigma: np.ndarray


def split_rsu_frequencies(
    instance: Instance, settings: SolveSettings, alpha: np.ndarray
) -> FrequencySplit:
    """Each served RSU's optimal split of f_m^max for fixed (possibly fractional) alpha, (10e).

    Per RSU m: minimise sum_{n in m} w_n h_m(f_n), w_n = (Upsilon - alpha_n) psi_n, over
    f_n >= 1 MHz with sum f_n = F_m. Vehicles with w_n > 0 are solved by
    ``solve_separable``. Vehicles with w_n = 0 (alpha_n = Upsilon) cost nothing at any
    share: if the RSU has z > 0 of them, the others face the budget sum f_n <= F_m - z * floor
    (multiplier sigma >= 0) and the z absorb what is left in equal parts; with z = 0 the
    others share F_m exactly (equality, sigma of any sign). Each RSU's shares sum to F_m up
    to the last ulps.

    Parameters
    ----------
    instance : the instance.
    settings : omega_t.
    alpha : N layer counts in [1, Upsilon], integral or not.
    """
    alpha = np.asarray(alpha, float)
    n = instance.n_vehicles
    m_count = instance.n_rsus
    assoc = instance.association
    fmax = np.asarray(instance.rsu["f_max_hz"], float)
    w = rsu_weights(instance, alpha)
    active = w > 0.0
    counts = np.bincount(assoc, minlength=m_count)
    zero_counts = np.bincount(assoc[~active], minlength=m_count)
    f = np.zeros(n)
    sigma = np.full(m_count, np.nan)
    served = counts > 0
    sigma[served] = 0.0
    idx = np.flatnonzero(active)
    if idx.size:
        g = assoc[idx]
        budget = fmax - zero_counts * F_RSU_FLOOR_HZ
        hi = (budget - (counts - zero_counts - 1) * F_RSU_FLOOR_HZ)[g]
        d1, d2 = rsu_cost_derivatives(instance, settings, w[idx], idx)
        sol = solve_separable(
            d1, d2, np.full(idx.size, F_RSU_FLOOR_HZ), hi, g, budget, inequality=zero_counts > 0
        )
        f[idx] = sol.x
        has_active = np.bincount(g, minlength=m_count) > 0
        sigma[has_active] = sol.lam[has_active]
    idle = np.flatnonzero(~active)
    if idle.size:
        used = np.bincount(assoc, weights=np.where(active, f, 0.0), minlength=m_count)
        # the 1 MHz floor is exact for idle vehicles when the budget binds (sigma > 0)
        leftover = (fmax - used) / np.maximum(zero_counts, 1)
        f[idle] = np.maximum(leftover[assoc[idle]], F_RSU_FLOOR_HZ)
    served_idx = np.flatnonzero(served[assoc])
    f[served_idx] = _fix_sums(f[served_idx], assoc[served_idx], fmax, np.ones(m_count, bool))
    return FrequencySplit(f_rsu_hz=f, sigma=sigma)


def split_groups(
    instance: Instance,
    settings: SolveSettings,
    veh: np.ndarray,
    group: np.ndarray,
    alpha: np.ndarray,
    fmax: np.ndarray,
) -> np.ndarray:
    """The split of ``split_rsu_frequencies`` for many alpha at once: item i is vehicle
    ``veh[i]`` with layer count ``alpha[i]`` in group ``group[i]``, and each group is one RSU's
    vehicles under one candidate alpha (budget ``fmax[g]``, the RSU parameters of the
    items' vehicles). Returns the share of every item (Hz)."""
    alpha = np.asarray(alpha, float)
    veh = np.asarray(veh, int)
    k = len(fmax)
    w = (instance.layers - alpha) * instance.psi[veh]
    active = w > 0.0
    counts = np.bincount(group, minlength=k)
    zero_counts = np.bincount(group[~active], minlength=k)
    f = np.zeros(len(veh))
    idx = np.flatnonzero(active)
    if idx.size:
        g = group[idx]
        budget = fmax - zero_counts * F_RSU_FLOOR_HZ
        hi = (budget - (counts - zero_counts - 1) * F_RSU_FLOOR_HZ)[g]
        d1, d2 = rsu_cost_derivatives(instance, settings, w[idx], veh[idx])
        sol = solve_separable(
            d1, d2, np.full(idx.size, F_RSU_FLOOR_HZ), hi, g, budget, inequality=zero_counts > 0
        )
        f[idx] = sol.x
    idle = np.flatnonzero(~active)
    if idle.size:
        used = np.bincount(group, weights=np.where(active, f, 0.0), minlength=k)
        leftover = (fmax - used) / np.maximum(zero_counts, 1)
        f[idle] = np.maximum(leftover[group[idle]], F_RSU_FLOOR_HZ)
    return _fix_sums(f, group, fmax, counts > 0)


def rsu_frequency_split(
    instance: Instance, settings: SolveSettings, alpha: np.ndarray
) -> np.ndarray:
    """Optimal RSU frequency shares f_rsu_hz[n] = f_{n, association[n]} (Hz) for fixed alpha.

    The minimiser of Cost_m^R (eq. (9)) over (10e) and the 1 MHz floor, RSU by RSU; see
    ``split_rsu_frequencies``, which also returns the multipliers.
    """
    return split_rsu_frequencies(instance, settings, alpha).f_rsu_hz


def optimal_frequencies(
    instance: Instance, settings: SolveSettings, alpha: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Global minimiser (f_vehicle_hz, f_rsu_hz) of sub-problem I's objective (11) for fixed alpha.

    For fixed alpha the objective (11) is a sum of one convex function per vehicle frequency
    and one convex separable problem per RSU, so the two parts are minimised independently
    (``best_vehicle_frequency``, ``rsu_frequency_split``).
    """
    return best_vehicle_frequency(instance, settings), rsu_frequency_split(
        instance, settings, alpha
    )
