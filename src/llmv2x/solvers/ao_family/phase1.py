"""Phase 1 of the family AO under ``association=decision``: the load of an RSU and the moves
that make a priced association feasible (docs/algorithms.md#ao-for-the-problem-family,
"Association as a decision").

The load of RSU m serving the vehicles S is the smallest t with

    sum_{n in S} f_nm <= t F_m,   sum_{n in S} b_n <= t B_m,

every deadline and energy budget of S met, alpha relaxed to [1, Upsilon] (one SLSQP over
the RSU's variables, ``joint.rsu_nlp``). t <= 1 says that S fits at m (for the relaxation).
The priced associations of ``priced`` put each vehicle where the dual prices make it
cheapest and ignore whether the deadlines still fit; AO's blocks cannot repair an RSU that
is overloaded (association+deadlines instance 0 of the variants benchmark: every priced
association was infeasible, and sending vehicles home undid the move). ``load_repair``
moves vehicles out of overloaded RSUs instead: of the moves whose destination still fits,
the one the prices make cheapest (the vehicle's regret q_{n,b} - q_{n,a} at the dual's
prices).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from llmv2x.solvers.ao_family.blocks import GHZ, MHZ, Family
from llmv2x.solvers.ao_family.joint import rsu_nlp
from llmv2x.solvers.ao_family.point import Point, slsqp

#: SLSQP iterations of the load problem
LOAD_ITER = 100
#: block sweeps (blocks I and II, alpha rounded) after the load problem
LOAD_SWEEPS = 2


def rsu_load(fam: Family, pt: Point, idx: np.ndarray, m: int) -> tuple[float, Point]:
    """RSU ``m``'s load with the vehicles ``idx`` (module docstring) by SLSQP from ``pt``, and
    a point built from it: shares scaled by 1/t to fill the budgets (10c)/(10e), alpha
    rounded within the interval the limits leave (``Family.round_alpha``), then
    ``LOAD_SWEEPS`` sweeps of blocks I and II (each repairs or improves the RSU). The caller
    checks the point with ``Family.rsu_state``; only ``idx`` of it is meaningful."""
    nlp = rsu_nlp(fam, idx, m)
    k = nlp.k
    fm_g, bw_m = fam.fm[m] / GHZ, fam.bw[m] / MHZ
    lo, hi = np.r_[nlp.lo, 0.0], np.r_[nlp.hi, float(k + 1)]
    x0 = nlp.x_of(pt)
    x0 = np.r_[x0, max(np.sum(x0[2 * k : 3 * k]) / fm_g, np.sum(x0[4 * k : 5 * k]) / bw_m)]
    grad = np.zeros(5 * k + 1)
    grad[-1] = 1.0
    row_f = np.zeros((1, 5 * k + 1))
    row_f[0, 2 * k : 3 * k], row_f[0, -1] = -1.0 / fm_g, 1.0
    row_b = np.zeros((1, 5 * k + 1))
    row_b[0, 4 * k : 5 * k], row_b[0, -1] = -1.0 / bw_m, 1.0
    cons = [
        {"type": "ineq", "fun": lambda x: row_f @ x, "jac": lambda x: row_f},
        {"type": "ineq", "fun": lambda x: row_b @ x, "jac": lambda x: row_b},
    ]
    if nlp.constrained:

        def jac(x: np.ndarray) -> np.ndarray:
            j = nlp.cons_jac(x[:-1])
            return np.hstack([j, np.zeros((j.shape[0], 1))])

        cons.append({"type": "ineq", "fun": lambda x: nlp.cons(x[:-1]), "jac": jac})
    x = slsqp(lambda x: (float(x[-1]), grad), x0, lo, hi, cons, maxiter=LOAD_ITER)
    a, fv, fr, p, b = nlp.unpack(x[:-1])
    load = float(max(np.sum(fr) / fam.fm[m], np.sum(b) / fam.bw[m]))
    trial = pt.copy()
    trial.fv[idx], trial.p[idx] = fv, p
    trial.fr[idx], trial.b[idx] = fr * fam.fm[m] / np.sum(fr), b * fam.bw[m] / np.sum(b)
    tc, ec, _ = fam.comm(idx, m, trial.p[idx], trial.b[idx])
    xc = np.concatenate([a, trial.fv[idx] / GHZ, trial.fr[idx] / GHZ])
    dl, eb = fam.dl[idx], fam.eb[idx]
    trial.alpha[idx] = fam.round_alpha(
        idx, m, xc, dl - tc, eb - ec, np.clip(np.round(a), 1, fam.ups)
    )
    for _ in range(LOAD_SWEEPS):
        fam.block1(trial, idx, m, relax=False)
        fam.block2(trial, idx, m)
    return load, trial


def regrets(rows: Any, values: Any, n_vehicles: int, n_rsus: int) -> np.ndarray:
    """q[n, m]: vehicle n's lowest priced value at RSU m over the dual's rows (inf: none)."""
    q = np.full((n_vehicles, n_rsus), np.inf)
    with np.errstate(invalid="ignore"):
        np.minimum.at(q, (rows.vehicle, rows.rsu), np.asarray(values.upper, float))
    return q


def fits(fam: Family, pt: Point, m: int) -> tuple[bool, Point]:
    """Whether RSU ``m``'s vehicles at ``pt`` fit (``pt`` itself, else the load point,
    holds every constraint of m), and a point where they do (``pt`` when they do not)."""
    idx = np.flatnonzero(pt.assoc == m)
    if idx.size == 0 or fam.rsu_state(pt, idx, m)[1]:
        return True, pt
    _, trial = rsu_load(fam, pt, idx, m)  # a copy of pt in which only idx changed
    if fam.rsu_state(trial, idx, m)[1]:
        return True, trial
    return False, pt


def _shares(fam: Family, pt: Point, idx: np.ndarray, m: int) -> np.ndarray:
    """Each vehicle's share of RSU ``m``'s budgets at ``pt``: (f_nm / F_m + b_n / B_m) / 2."""
    return 0.5 * (pt.fr[idx] / fam.fm[m] + pt.b[idx] / fam.bw[m])


def _score(regret: float, share: float) -> float:
    """A move's rank (lower first): a vehicle cheaper elsewhere first, the largest share
    first among those; then regret per share freed (the greedy rule of a knapsack)."""
    return -share if regret <= 0 else regret / max(share, 1e-12)


def load_repair(
    fam: Family, pt: Point, q: np.ndarray, deadline: Any, max_moves: int | None = None
) -> Point | None:
    """A feasible point near ``pt`` (association and values), or None.

    Every RSU whose vehicles break a limit gets its load point (``rsu_load``); while one
    still breaks, one of its vehicles moves to another of its links: the first move after
    which the destination fits, in the order of the regret ``q[n, dst] - q[n, src]``
    (``regrets``) per share of the RSU the vehicle frees at its load point (``_score``);
    none fits: None. At most ``max_moves`` moves (default: the number of vehicles)."""
    from llmv2x.solvers.ao_family.association import moved

    inst = fam.inst
    max_moves = inst.n_vehicles if max_moves is None else max_moves
    for m in np.unique(pt.assoc):
        pt = fits(fam, pt, int(m))[1]
    for _ in range(max_moves + 1):
        broken = [int(m) for m in np.unique(pt.assoc) if not fits(fam, pt, int(m))[0]]
        if not broken:
            return pt
        if deadline.expired():
            return None
        src = broken[0]
        at = np.flatnonzero(pt.assoc == src)
        share = _shares(fam, rsu_load(fam, pt, at, src)[1], at, src)
        moves = sorted(
            (_score(q[n, dst] - q[n, src] if np.isfinite(q[n, src]) else q[n, dst], s), n, dst)
            for n, s in zip(at.tolist(), share, strict=True)
            for dst in map(int, inst.candidates(n))
            if dst != src and np.isfinite(q[n, dst])
        )
        best = None
        for _, n, dst in moves:
            if deadline.expired():
                return None
            ok, trial = fits(fam, moved(fam, pt, n, dst), dst)
            if ok:
                best = (n, trial)
                break
        if best is None:
            return None
        pt = best[1]
    return None
