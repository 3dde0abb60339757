"""Alpha-move step of the family AO: local search over single-vehicle alpha changes, per RSU
(docs/algorithms.md#ao-for-the-problem-family, "Alpha moves").

Block I relaxes alpha and rounds it; for fixed (f, p, b) the cost and every constraint are
linear in alpha_n (equation (7): alpha T^cmp + (Upsilon - alpha) T_nm^cmp, alpha E^cmp), and
once the frequencies follow alpha the cost is close to concave in it, so the rounding never
leaves the extreme it started near (a vehicle computing all layers locally stays there even
when offloading with a larger share of the RSU's frequency is cheaper). A move sets one
vehicle's alpha to another integer (1, Upsilon, or alpha +/- 1) and re-solves the RSU's
continuous variables with the alphas fixed (the joint step with ``keep_alpha``, then one
sweep of blocks I and II); it is kept only if the RSU's constraints hold
(``Family.rsu_state``) and its cost falls, so the objective sequence stays monotone and
every iterate feasible.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from llmv2x.models.constants import F_RSU_FLOOR_HZ
from llmv2x.solvers.ao_family.blocks import Family
from llmv2x.solvers.ao_family.joint import joint_step
from llmv2x.solvers.ao_family.point import Point

#: points of the 1-D grids on which ``candidates`` prices a vehicle's frequencies
GRID = 48
#: SLSQP iterations of a trial's joint step (alpha fixed) and block re-solves after it
#: (measured on the variants benchmark: 40 and 1 find the same moves as 100 and 2, faster)
TRIAL_ITER = 40
TRIAL_SWEEPS = 1
#: a sweep over RSU m's candidates stops after this many infeasible trials in a row (the
#: dearest: SLSQP runs to its iteration limit) ...
MAX_FAILS = 2
#: ... or after this many feasible trials in a row that were no cheaper
MAX_WORSE = 6
#: score added to a change that the grids of ``candidates`` cannot fit into the vehicle's
#: limits at the current communication (it is tried after those that fit)
UNFIT = 1e9
#: try swaps (``swaps``) when no single move pays
SWAPS = True


def candidates(fam: Family, pt: Point, idx: np.ndarray, m: int) -> list[tuple[float, int, float]]:
    """(score, vehicle, new alpha) of every single-vehicle alpha change at RSU ``m``, best
    (lowest) score first.

    The candidates are the extremes 1 and Upsilon (for fixed continuous variables the cost
    and the constraints are linear in alpha_n, so an optimum in alpha sits at an end of the
    interval the constraints leave) and alpha_n +/- 1 (small moves when the re-optimised
    frequencies make the cost curve in alpha). The score estimates the change of vehicle n's
    own compute cost, equation (7) of docs/formulation.md, with its frequencies re-chosen
    on a grid and the RSU frequency charged at the RSU's marginal price ``lam`` (the cost
    decrease per Hz the other offloading vehicles would lose). Deadlines are ignored: the
    score only orders the trials.
    """
    w, ups, cdr, kr = fam.w, fam.ups, fam.cdr[m], fam.kr[m]
    a, fr = pt.alpha[idx], pt.fr[idx]
    psi = fam.psi[idx]
    # marginal price of RSU m's frequency (per Hz) from the vehicles that offload layers
    tr, er = psi / (fr * cdr), kr * fr**2 * psi / cdr
    gain = (ups - a) * (w * tr - 2 * (1 - w) * er) / fr
    off = (ups - a) > 0
    lam = max(float(np.mean(gain[off])), 0.0) if off.any() else 0.0
    fr_grid = np.geomspace(F_RSU_FLOOR_HZ, fam.fm[m], GRID)
    lr = w * psi[:, None] / (fr_grid * cdr) + (1 - w) * kr * fr_grid**2 * psi[:, None] / cdr
    fv_grid = np.geomspace(fam.fmin[idx], fam.fmax[idx], GRID).T
    cdv, kv = fam.cdv[idx][:, None], fam.kv[idx][:, None]
    lv = np.min(
        w * psi[:, None] / (fv_grid * cdv) + (1 - w) * kv * fv_grid**2 * psi[:, None] / cdv,
        axis=1,
    )

    # with the deadline and energy budget left by the current communication: the cheapest
    # (f_n, f_nm) pair on the grids that meets them (inf when none does)
    tc, ec, _ = fam.comm(idx, m, pt.p[idx], pt.b[idx])
    dres, eres = fam.dl[idx] - tc, fam.eb[idx] - ec
    tvg = psi[:, None] / (fv_grid * cdv)
    evg = kv * fv_grid**2 * psi[:, None] / cdv
    lvg = w * tvg + (1 - w) * evg
    trg = psi[:, None] / (fr_grid * cdr)

    def est_free(alpha: np.ndarray) -> np.ndarray:
        remote = np.min((ups - alpha)[:, None] * lr + lam * fr_grid, axis=1)
        return alpha * lv + np.where(alpha < ups, remote, 0.0)

    def est_limited(alpha: np.ndarray) -> np.ndarray:
        al, ra = alpha[:, None, None], (ups - alpha)[:, None, None]
        cost = al * lvg[:, :, None] + ra * lr[:, None, :] + (ra > 0) * lam * fr_grid
        t = al * tvg[:, :, None] + ra * trg[:, None, :]
        ok = (np.isnan(dres)[:, None, None] | (t <= dres[:, None, None])) & (
            np.isnan(eres)[:, None, None] | (al * evg[:, :, None] <= eres[:, None, None])
        )
        return np.min(np.where(ok, cost, np.inf), axis=(1, 2))

    # per vehicle: limited where the grids hold a point meeting its limits at its alpha
    lim_now = est_limited(a)
    limited = np.isfinite(lim_now)

    free_now = est_free(a)

    def est(alpha: np.ndarray) -> np.ndarray:
        # a change the grids cannot fit into the limits at the current communication still
        # gets a trial (the trial re-solves p and b too), after the others
        with np.errstate(invalid="ignore"):
            lim = est_limited(alpha) - lim_now
        free = est_free(alpha) - free_now
        return np.where(~limited, free, np.where(np.isfinite(lim), lim, UNFIT + free))

    now = np.zeros_like(a)
    out = []
    for step, new in enumerate((np.ones_like(a), np.full_like(a, ups), a - 1, a + 1)):
        new = np.clip(new, 1.0, ups)
        delta = est(new) - now
        for j in np.flatnonzero(new != a):
            out.append((step >= 2 and new[j] not in (1.0, ups), float(delta[j]), int(j), new[j]))
    seen: set[tuple[int, float]] = set()
    uniq = []
    for c in sorted(out):
        if (c[2], c[3]) not in seen:
            seen.add((c[2], c[3]))
            uniq.append((c[1], c[2], float(c[3])))
    return uniq


def swaps(
    cands: list[tuple[float, int, float]], pt: Point, idx: np.ndarray, ups: float
) -> list[tuple[float, tuple[tuple[int, float], ...]]]:
    """Pairs of moves at one RSU, one vehicle from Upsilon to 1 (it starts offloading) and one
    from 1 to Upsilon (it frees the RSU's frequency and bandwidth), best summed score first:
    tried when no single move pays (a swap keeps the RSU's load, so both singles may fail
    under the deadlines while the pair pays)."""
    a = pt.alpha[idx]
    down = [(s, j) for s, j, new in cands if a[j] == ups and new == 1.0]
    up = [(s, j) for s, j, new in cands if a[j] == 1.0 and new == ups]
    pairs = [(s1 + s2, ((j1, 1.0), (j2, ups))) for s1, j1 in down for s2, j2 in up]
    return sorted(pairs)


def trial(
    fam: Family, pt: Point, idx: np.ndarray, m: int, changes: tuple[tuple[int, float], ...]
) -> Point:
    """``pt`` with the alphas of ``changes`` ((position in ``idx``, new alpha) pairs) set and
    RSU ``m``'s continuous variables re-solved with the alphas fixed: the joint step
    (``joint_step`` with ``keep_alpha``: f, p, b in one SLSQP, so a vehicle that starts
    offloading can take frequency and bandwidth while the others' deadlines hold), then
    ``TRIAL_SWEEPS`` block re-solves. May be infeasible: the caller checks."""
    out = pt.copy()
    for j, alpha in changes:
        out.alpha[idx[j]] = alpha
    joint_step(fam, out, idx, m, keep_alpha=True, maxiter=TRIAL_ITER, sweeps=TRIAL_SWEEPS)
    return out


def _search(
    fam: Family,
    pt: Point,
    idx: np.ndarray,
    m: int,
    moves: list[tuple[float, tuple[tuple[int, float], ...]]],
    cost: float,
    deadline: Any,
    best: bool,
    failed: set,
) -> tuple[Point | None, float]:
    """The first (``best``: the cheapest) of ``moves`` whose trial keeps RSU ``m`` feasible
    and lowers its cost below ``cost``, within the ``MAX_FAILS`` / ``MAX_WORSE`` limits.
    Changes in ``failed`` are skipped; those whose trial ends infeasible are added to it."""
    found: Point | None = None
    fails = worse = 0
    for _, changes in moves:
        if deadline.expired() or fails >= MAX_FAILS or worse >= MAX_WORSE:
            break
        if changes in failed:
            continue
        t = trial(fam, pt, idx, m, changes)
        c, ok = fam.rsu_state(t, idx, m)
        if ok and c < cost * (1 - 1e-9):
            found, cost, fails, worse = t, c, 0, 0
            if not best:
                break
        elif ok:
            worse += 1
        else:
            fails += 1
            failed.add(changes)
    return found, cost


def rsu_moves(
    fam: Family, pt: Point, idx: np.ndarray, m: int, deadline: Any, best: bool = False
) -> int:
    """Alpha moves at RSU ``m`` until none lowers its cost (or ``deadline`` expires).

    First improvement (default): the single moves are tried in score order and the first
    one that keeps RSU ``m`` feasible and lowers its cost is taken, then the scores are
    recomputed; when no single move pays, the ``swaps`` are tried the same way. ``best=True``
    tries every candidate and takes the cheapest. Returns the number of moves kept; ``pt`` is
    changed in place (RSU ``m``'s vehicles only)."""
    cost, ok = fam.rsu_state(pt, idx, m)
    key = (m, fam._key(pt, idx))
    if not ok or key in fam.alpha_stuck:  # the trials are deterministic: same failures
        return 0
    kept = 0
    # changes whose trial ended infeasible: skipped in the later sweeps (the moves kept
    # meanwhile mostly load the RSU more, so they would fail again at the same cost: an
    # infeasible trial runs SLSQP to its iteration limit)
    failed: set[tuple[tuple[int, float], ...]] = set()
    while not deadline.expired():
        cands = candidates(fam, pt, idx, m)
        singles = [(s, ((j, a),)) for s, j, a in cands]
        found, cost = _search(fam, pt, idx, m, singles, cost, deadline, best, failed)
        if found is None and SWAPS:
            pairs = swaps(cands, pt, idx, fam.ups)
            found, cost = _search(fam, pt, idx, m, pairs, cost, deadline, best, failed)
        if found is None:
            if not deadline.expired():
                fam.alpha_stuck.add((m, fam._key(pt, idx)))
            break
        for x, y in zip(
            (pt.alpha, pt.fv, pt.fr, pt.p, pt.b),
            (found.alpha, found.fv, found.fr, found.p, found.b),
            strict=True,
        ):
            x[idx] = y[idx]
        kept += 1
    return kept


def alpha_pass(fam: Family, pt: Point, deadline: Any, best: bool = False) -> int:
    """``rsu_moves`` on every RSU of ``pt``; the number of moves kept."""
    return sum(rsu_moves(fam, pt, idx, m, deadline, best) for m, idx in fam.members(pt).items())
