"""Joint per-RSU step of the family AO: (alpha relaxed, f, p, b) in one SLSQP
(docs/algorithms.md#ao-for-the-problem-family)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from llmv2x.models.constants import B_FLOOR_HZ, F_RSU_FLOOR_HZ
from llmv2x.solvers.ao_family.blocks import GHZ, MHZ, Family
from llmv2x.solvers.ao_family.point import Point, slsqp


def joint_step(
    fam: Family,
    pt: Point,
    idx: np.ndarray,
    m: int,
    keep_alpha: bool = False,
    maxiter: int = 100,
    sweeps: int = 2,
) -> None:
    """Replace RSU ``m``'s block in ``pt`` by a better feasible one from the joint relaxation.

    SLSQP on all of RSU ``m``'s variables at once (alpha relaxed), so compute time and
    transmission time trade against each other under the deadlines; alpha is then rounded
    within the interval the limits leave and blocks I (alpha fixed) and II re-solve. Kept
    only if RSU ``m``'s constraints hold and its cost falls.

    ``keep_alpha=True`` (the alpha-move step's trials, ``alpha_moves``): alpha stays at
    ``pt``'s integers (fixed bounds, no rounding) and, when ``pt`` breaks a constraint at
    RSU ``m``, any feasible result is kept (a repair, as in blocks I and II). ``maxiter``:
    SLSQP's iteration limit; ``sweeps``: block re-solves after it.
    """
    k = len(idx)
    base_cost, base_ok = fam.rsu_state(pt, idx, m)
    if not base_ok and not keep_alpha:
        return
    scale = max(abs(base_cost), 1e-12)
    nlp = rsu_nlp(fam, idx, m)
    lo, hi, unpack = nlp.lo, nlp.hi, nlp.unpack
    if keep_alpha:
        lo[:k] = hi[:k] = pt.alpha[idx]
    dl, eb = fam.dl[idx], fam.eb[idx]
    fm_g, bw_m = fam.fm[m] / GHZ, fam.bw[m] / MHZ

    def obj(x):
        val, g = nlp.cost(x)
        return val / scale, g / scale

    sum_f = np.concatenate([np.zeros(2 * k), -np.ones(k) / fm_g, np.zeros(2 * k)])[None, :]
    sum_b = np.concatenate([np.zeros(4 * k), -np.ones(k) / bw_m])[None, :]
    kind = "ineq" if fam.problem.inequality else "eq"
    c = [
        {
            "type": kind,
            "fun": lambda x: np.array([(fm_g - np.sum(x[2 * k : 3 * k])) / fm_g]),
            "jac": lambda x: sum_f,
        },
        {
            "type": kind,
            "fun": lambda x: np.array([(bw_m - np.sum(x[4 * k :])) / bw_m]),
            "jac": lambda x: sum_b,
        },
    ]
    if nlp.constrained:
        c.append({"type": "ineq", "fun": nlp.cons, "jac": nlp.cons_jac})
    x = slsqp(obj, nlp.x_of(pt), lo, hi, c, maxiter=maxiter)
    a, fv, fr, p, b = unpack(x)
    trial = pt.copy()
    trial.fv[idx], trial.fr[idx], trial.p[idx], trial.b[idx] = fv, fr, p, b
    if not fam.problem.inequality:
        trial.fr[idx] *= fam.fm[m] / np.sum(fr)
        trial.b[idx] *= fam.bw[m] / np.sum(b)
    tc, ec, _ = fam.comm(idx, m, trial.p[idx], trial.b[idx])
    xc = np.concatenate([a, trial.fv[idx] / GHZ, trial.fr[idx] / GHZ])
    if not keep_alpha:
        trial.alpha[idx] = fam.round_alpha(idx, m, xc, dl - tc, eb - ec, np.round(a))
    # integer alpha: re-solve the blocks (each repairs or improves RSU m)
    for _ in range(sweeps):
        fam.block1(trial, idx, m, relax=False, keep_alpha=keep_alpha)
        fam.block2(trial, idx, m)
    cost, ok = fam.rsu_state(trial, idx, m)
    if ok and (cost < base_cost or not base_ok):
        pt.alpha[idx], pt.fv[idx], pt.fr[idx] = trial.alpha[idx], trial.fv[idx], trial.fr[idx]
        pt.p[idx], pt.b[idx] = trial.p[idx], trial.b[idx]


def rsu_nlp(fam: Family, idx: np.ndarray, m: int) -> SimpleNamespace:
    """RSU ``m``'s continuous problem in the scaled variables x = (alpha, f_n [GHz],
    f_nm [GHz], p_n / p_max, b_n [MHz]) of its vehicles ``idx``: box ``lo``/``hi``,
    ``unpack(x)``, ``x_of(pt)`` (``pt``'s values), ``cost(x)`` (the RSU's share of (11a),
    value and gradient) and ``cons(x)``/``cons_jac(x)`` (the deadlines and energy budgets as
    relative slacks >= 0, and their Jacobian); the budgets (10c)/(10e) are the caller's.
    Shared by the joint step and the phase-1 load (``phase1``)."""
    k = len(idx)
    pmax = fam.pmax[idx]
    lo = np.concatenate(
        [
            np.ones(k),
            fam.fmin[idx] / GHZ,
            np.full(k, F_RSU_FLOOR_HZ / GHZ),
            fam.pmin[idx] / pmax,
            np.full(k, B_FLOOR_HZ / MHZ),
        ]
    )
    hi = np.concatenate(
        [
            np.full(k, fam.ups),
            fam.fmax[idx] / GHZ,
            np.full(k, fam.fm[m] / GHZ),
            np.ones(k),
            np.full(k, fam.bw[m] / MHZ),
        ]
    )
    dl, eb = fam.dl[idx], fam.eb[idx]
    has_d, has_e = ~np.isnan(dl), ~np.isnan(eb)

    def unpack(x):
        return (
            x[:k],
            x[k : 2 * k] * GHZ,
            x[2 * k : 3 * k] * GHZ,
            x[3 * k : 4 * k] * pmax,
            x[4 * k :] * MHZ,
        )

    psi, cdv, kv, cdr, kr, w = fam.psi[idx], fam.cdv[idx], fam.kv[idx], fam.cdr[m], fam.kr[m], fam.w
    g_n, bits, lat, ln2 = (
        fam.gain(idx, m),
        fam.bits[idx],
        fam.w if fam.latency else 0.0,
        np.log(2.0),
    )
    ups = fam.ups

    def pieces(x):
        a, fv, fr, p, b = unpack(x)
        tv, tr = psi / (fv * cdv), psi / (fr * cdr)
        ev, er = kv * fv**2 * psi / cdv, kr * fr**2 * psi / cdr
        z = g_n * p / (fam.noise * b)
        r = b * np.log1p(z) / ln2
        dr_dp = g_n / (fam.noise * ln2 * (1 + z)) * pmax
        dr_db = (np.log1p(z) - z / (1 + z)) / ln2 * MHZ
        return a, fv, fr, p, tv, tr, ev, er, r, dr_dp, dr_db

    def cost(x):
        a, fv, fr, p, tv, tr, ev, er, r, dr_dp, dr_db = pieces(x)
        lv, lr = w * tv + (1 - w) * ev, w * tr + (1 - w) * er
        num = (1 - w) * p + lat
        val = np.sum(a * lv + (ups - a) * lr) + np.sum(num * bits / r)
        g = np.concatenate(
            [
                lv - lr,
                a * (-w * tv / fv + 2 * (1 - w) * ev / fv) * GHZ,
                (ups - a) * (-w * tr / fr + 2 * (1 - w) * er / fr) * GHZ,
                (1 - w) * pmax * bits / r - num * bits / r**2 * dr_dp,
                -num * bits / r**2 * dr_db,
            ]
        )
        return float(val), g

    rows_d, rows_e = np.flatnonzero(has_d), np.flatnonzero(has_e)
    dld, ebe = dl[has_d], eb[has_e]

    def cons(x):
        a, fv, fr, p, tv, tr, ev, er, r, _, _ = pieces(x)
        t = a * tv + (ups - a) * tr + bits / r
        e = a * ev + p * bits / r
        return np.concatenate([(dld - t[has_d]) / dld, (ebe - e[has_e]) / ebe])

    def cons_jac(x):
        a, fv, fr, p, tv, tr, ev, er, r, dr_dp, dr_db = pieces(x)
        jac = np.zeros((len(rows_d) + len(rows_e), 5 * k))
        q = bits / r**2
        i, n = np.arange(len(rows_d)), rows_d
        jac[i, n] = -(tv - tr)[n] / dld
        jac[i, k + n] = (a * tv / fv)[n] * GHZ / dld
        jac[i, 2 * k + n] = ((ups - a) * tr / fr)[n] * GHZ / dld
        jac[i, 3 * k + n] = (q * dr_dp)[n] / dld
        jac[i, 4 * k + n] = (q * dr_db)[n] / dld
        i, n = len(rows_d) + np.arange(len(rows_e)), rows_e
        jac[i, n] = -ev[n] / ebe
        jac[i, k + n] = -(2 * a * ev / fv)[n] * GHZ / ebe
        jac[i, 3 * k + n] = -(pmax * bits / r - p * q * dr_dp)[n] / ebe
        jac[i, 4 * k + n] = (p * q * dr_db)[n] / ebe
        return jac

    return SimpleNamespace(
        k=k,
        lo=lo,
        hi=hi,
        unpack=unpack,
        pieces=pieces,
        cost=cost,
        cons=cons,
        cons_jac=cons_jac,
        constrained=bool(has_d.any() or has_e.any()),
        x_of=lambda pt: np.concatenate(
            [pt.alpha[idx], pt.fv[idx] / GHZ, pt.fr[idx] / GHZ, pt.p[idx] / pmax, pt.b[idx] / MHZ]
        ),
    )
