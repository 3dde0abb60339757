"""Compiled (numba) scalar kernels of the row oracle (docs/exact.md, "The problem family under
fixed association", 11.2-11.4 and 11.8): G(u) and its derivative, the minimisation of G over
u = ln SNR, and the RSU-frequency root, one (row, alpha) element at a time.

``rowmath`` wraps them for NumPy arrays. Every kernel is compiled once per process for one
signature (float64 C arrays and float scalars; the wrappers convert) and cached next to this
module (``cache=True``). ``error_model="numpy"``: a division by zero gives inf or nan, as in
NumPy; min and max here propagate nan as ``np.minimum`` and ``np.maximum`` do.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

LN2 = math.log(2.0)
#: Newton steps of the RSU-frequency root (started within a factor 2 of it, from the right).
FR_NEWTON = 8
#: Cap on the secant steps of the minimisation over u.
U_MAXIT = 80
#: Width of the u bracket (relative to 1 + |u|) asked at the tight tolerance.
U_WIDTH = 1e-10
#: Half-width of the warm bracket around a guess of the minimiser (in u = ln gamma).
U_WARM = 0.02
#: Bisection steps before the secant steps of the u search.
U_BISECT = 8
#: The u search stops when its bracket's tangent bound is this close (relative) to G.
U_RTOL = 1e-13

_JIT = {"cache": True, "error_model": "numpy", "nogil": True}


@njit(**_JIT)
def _mn(a: float, b: float) -> float:
    """np.minimum of two floats (nan if either is nan)."""
    return a if (a < b or a != a) else b


@njit(**_JIT)
def _mx(a: float, b: float) -> float:
    """np.maximum of two floats (nan if either is nan)."""
    return a if (a > b or a != a) else b


@njit(**_JIT)
def d1_scalar(g: float) -> float:
    """log(1 + g) - g/(1 + g) without cancellation (a series below 1e-2)."""
    if g < 1e-2:
        series = 0.0
        for n in range(10, 1, -1):  # sum_{n>=2} (-1)^n (n-1)/n g^n, Horner from the top
            series = (series + (-1.0) ** n * (n - 1) / n) * g
        return series * g
    return math.log1p(g) - g / (1.0 + g)


@njit(**_JIT)
def comm_energy_scalar(S: float, k: float, g: float) -> float:
    """E^com as a function of the SNR only: S gamma / (k log2(1 + gamma))."""
    return S * g * LN2 / (k * math.log1p(g))


@njit(**_JIT)
def g_consts(
    kv: float, lam: float, wt: float, we: float, lt: float, c0: float, mu: float
) -> tuple[float, float, float, float, float]:
    """The parts of G that do not depend on u (docs/exact.md 11.3): the weights of the time
    (cf) and energy (cw) of computing, the unconstrained vehicle frequency (func), the
    weights of the transmit time (cc) and of the bandwidth (lc)."""
    cf = c0 * wt + mu
    cw = c0 * we
    func = np.cbrt(cf / (2.0 * cw * kv)) if cw > 0 else np.inf
    return cf, cw, func, c0 * lt + mu, c0 * lam


@njit(**_JIT)
def g_scalar(
    tv: float,
    ev: float,
    kv: float,
    S: float,
    k: float,
    fmin: float,
    fmax: float,
    blo: float,
    bhi: float,
    pmin: float,
    pmax: float,
    E: float,
    cf: float,
    cw: float,
    func: float,
    cc: float,
    lc: float,
    u: float,
) -> tuple[float, float, float, float]:
    """(G(u), dG(u), f, b): docs/exact.md 11.3, the vehicle-frequency and radio part of the
    Lagrangian at SNR e^u minimised over f in [fmin, min(fmax, f_E(u))] and
    b in [max(blo, k pmin/g), min(bhi, k pmax/g)]; dG is one-sided at a kink. cf, cw, func,
    cc, lc: ``g_consts``."""
    g = math.exp(u)
    lp = math.log1p(g)
    L = lp / LN2
    ec = comm_energy_scalar(S, k, g)
    dec = g * S * LN2 * d1_scalar(g) / (k * lp * lp)
    fe = math.sqrt(_mx(E - ec, 0.0) / ev)
    fup = _mx(_mn(fmax, fe), fmin)
    f = _mn(_mx(func, fmin), fup)
    pf = tv * (cf / f + cw * kv * f * f)
    dpf = 0.0
    if func > fup and fe < fmax:  # f = f_E(u) (f_min on the cap's last-ulp sliver)
        dpf = tv * (-cf / (f * f) + 2.0 * cw * kv * f) * (-dec / (2.0 * ev * f))
    pl = k * pmin / g
    ph = k * pmax / g
    b_lo = _mx(blo, pl)
    b_hi = _mn(bhi, ph)
    if lc > 0:
        bunc = math.sqrt(cc * S / (L * lc))
    else:
        bunc = np.inf if cc > 0 else 0.0
    b = _mn(_mx(bunc, b_lo), b_hi)
    pb = cc * S / (b * L) + lc * b
    dL = g / ((1.0 + g) * LN2)
    dpb = -cc * S * dL / (b * L * L)
    at_hi = bunc >= b_hi  # b at its upper end: set by p_max when that is below bhi
    at_lo = bunc <= b_lo and not at_hi
    if (at_hi and ph < bhi) or (at_lo and pl > blo):
        dpb += (-cc * S / (b * b * L) + lc) * (-b)
    return pf + cw * ec + pb, dpf + cw * dec + dpb, f, b


@njit(**_JIT)
def g_many(tv, ev, kv, S, k, lam, fmin, fmax, blo, bhi, pmin, pmax, E, wt, we, lt, c0, mu, u):
    """``g_scalar`` per element: arrays (G, dG, f, b)."""
    n = u.shape[0]
    G, dG, f, b = np.empty(n), np.empty(n), np.empty(n), np.empty(n)
    for i in range(n):
        cf, cw, func, cc, lc = g_consts(kv[i], lam[i], wt, we, lt, c0, mu[i])
        G[i], dG[i], f[i], b[i] = g_scalar(
            tv[i], ev[i], kv[i], S[i], k[i], fmin[i], fmax[i], blo[i], bhi[i], pmin[i],
            pmax[i], E[i], cf, cw, func, cc, lc, u[i],
        )  # fmt: skip
    return G, dG, f, b


@njit(**_JIT)
def tangent_bound(ua: float, uc: float, Ga: float, da: float, Gc: float, dc: float) -> float:
    """min over [ua, uc] of max(tangent at ua, tangent at uc), for dG(ua) < 0 < dG(uc)."""
    x = (Gc - Ga + da * ua - dc * uc) / (da - dc)
    if not math.isfinite(x):
        x = ua
    x = _mn(_mx(x, ua), uc)
    out = _mn(Ga + da * (x - ua), Gc + dc * (x - uc))  # inf * 0 at an end: nan
    # no tangent information there: -inf is the only bound that is valid for sure
    return -np.inf if out != out else out


@njit(**_JIT)
def u_min_many(
    tv, ev, kv, S, k, lam, fmin, fmax, blo, bhi, pmin, pmax, E, ulo, uhi, wt, we, lt, c0, mu,
    rtol, u0,
):  # fmt: skip
    """Minimise the convex G over [ulo, uhi] per element (docs/exact.md 11.4): bracket, warm
    start around ``u0`` (nan: none), U_BISECT bisections (none after a warm start), then
    secant steps with the Illinois rule, until the bracket's tangent bound is within ``rtol``
    (relative) of the best G (and, at rtol <= U_RTOL, the bracket is narrow). Returns arrays
    (lower bound, best u, its G, dG, f, b)."""
    n = mu.shape[0]
    lower, ubest = np.empty(n), np.empty(n)
    Gb, dGb, fb, bb = np.empty(n), np.empty(n), np.empty(n), np.empty(n)
    for i in range(n):
        a_tv, a_ev, a_kv, a_S, a_k, a_lam = tv[i], ev[i], kv[i], S[i], k[i], lam[i]
        a_fmin, a_fmax, a_blo, a_bhi = fmin[i], fmax[i], blo[i], bhi[i]
        a_pmin, a_pmax, a_E, tol = pmin[i], pmax[i], E[i], rtol[i]
        cf, cw, func, cc, lc = g_consts(a_kv, a_lam, wt, we, lt, c0, mu[i])
        ua, uc = ulo[i], uhi[i]
        Ga, da, fa, ba = g_scalar(
            a_tv, a_ev, a_kv, a_S, a_k, a_fmin, a_fmax, a_blo, a_bhi, a_pmin, a_pmax,
            a_E, cf, cw, func, cc, lc, ua,
        )  # fmt: skip
        Gc, dc, fc, bc = g_scalar(
            a_tv, a_ev, a_kv, a_S, a_k, a_fmin, a_fmax, a_blo, a_bhi, a_pmin, a_pmax,
            a_E, cf, cw, func, cc, lc, uc,
        )  # fmt: skip
        left = da >= 0
        right = dc <= 0 and not left
        if left or right:  # the derivative points outwards at an end: G there is the minimum
            use_a = left
            lower[i] = Ga if left else Gc
        else:
            warm = False
            if math.isfinite(u0[i]):
                for sgn in (-1.0, 1.0):
                    x = _mn(_mx(u0[i] + sgn * U_WARM, ua), uc)
                    if not (x > ua and x < uc):
                        break
                    Gx, dx, fx, bx = g_scalar(
                        a_tv, a_ev, a_kv, a_S, a_k, a_fmin, a_fmax, a_blo, a_bhi,
                        a_pmin, a_pmax, a_E, cf, cw, func, cc, lc, x,
                    )  # fmt: skip
                    if dx < 0:
                        ua, Ga, da, fa, ba = x, Gx, dx, fx, bx
                    else:
                        uc, Gc, dc, fc, bc = x, Gx, dx, fx, bx
                    warm = True
            sa, sc = da, dc  # secant weights (Illinois halves a stale end)
            side = 0
            for it in range(U_MAXIT):
                lo_b = tangent_bound(ua, uc, Ga, da, Gc, dc)
                best = _mn(Ga, Gc)
                wide = uc - ua > U_WIDTH * (1.0 + abs(ua))
                # at the tight tolerance also a narrow bracket: the point's time depends on u
                # to first order while G is flat at its minimum
                keep = (best - lo_b > tol * abs(best) + 1e-300) or (tol <= U_RTOL and wide)
                if not (keep and uc > ua):
                    break
                x = (ua * sc - uc * sa) / (sc - sa)
                # a few bisections first: G' grows like e^u on the right, a secant from a wide
                # bracket would crawl along the flat end
                if not math.isfinite(x) or x <= ua or x >= uc or (it < U_BISECT and not warm):
                    x = 0.5 * (ua + uc)
                Gx, dx, fx, bx = g_scalar(
                    a_tv, a_ev, a_kv, a_S, a_k, a_fmin, a_fmax, a_blo, a_bhi, a_pmin,
                    a_pmax, a_E, cf, cw, func, cc, lc, x,
                )  # fmt: skip
                if dx < 0:
                    sc = 0.5 * sc if side == -1 else sc
                    sa = dx
                    ua, Ga, da, fa, ba = x, Gx, dx, fx, bx
                    side = -1
                else:
                    sa = 0.5 * sa if side == 1 else sa
                    sc = dx
                    uc, Gc, dc, fc, bc = x, Gx, dx, fx, bx
                    side = 1
            lower[i] = tangent_bound(ua, uc, Ga, da, Gc, dc)
            use_a = Ga <= Gc
        if use_a:
            ubest[i], Gb[i], dGb[i], fb[i], bb[i] = ua, Ga, da, fa, ba
        else:
            ubest[i], Gb[i], dGb[i], fb[i], bb[i] = uc, Gc, dc, fc, bc
    return lower, ubest, Gb, dGb, fb, bb


@njit(**_JIT)
def _dphi(a: float, bq: float, s: float, x: float) -> float:
    return -a / (x * x) + bq * x + s


@njit(**_JIT)
def fr_min_many(w, km, sigma, flo, fhi, wt, we, c0, mu):
    """Per element, minimise w((c0 w_t + mu)/x + c0 w_e kappa_m x^2) + c0 sigma x over
    [flo, fhi] (docs/exact.md 11.3): Newton on the cubic from the right, and a valid lower
    bound (the value at x minus the tangent's fall over the interval). Arrays (x, lower)."""
    n = mu.shape[0]
    xs, lower = np.empty(n), np.empty(n)
    for i in range(n):
        a = w[i] * (c0 * wt + mu[i])
        bq = 2.0 * w[i] * c0 * we * km[i]
        s = c0 * sigma[i]
        lo, hi = flo[i], fhi[i]
        c = np.cbrt(a / bq)
        if bq > 0:
            x0 = _mn(c, np.sqrt(a / s) if s > 0 else np.inf) if s >= 0 else c - s / bq
        else:
            x0 = np.sqrt(a / s)
        x = _mn(_mx(x0 if math.isfinite(x0) else hi, lo), hi)
        for _ in range(FR_NEWTON):
            p = bq * x**3 + s * x * x - a
            dp = 3.0 * bq * x * x + 2.0 * s * x
            step = p / dp if dp > 0 else 0.0
            x = _mn(_mx(x - step, lo), hi)
        if _dphi(a, bq, s, lo) >= 0:
            x = lo
        elif _dphi(a, bq, s, hi) <= 0:
            x = hi
        phi = a / x + 0.5 * bq * x * x + s * x
        g = _dphi(a, bq, s, x)
        xs[i] = x
        lower[i] = phi - (g * (x - lo) if g >= 0 else -g * (hi - x))
    return xs, lower


@njit(**_JIT)
def d1_many(g):
    """``d1_scalar`` per element."""
    out = np.empty(g.shape[0])
    for i in range(g.shape[0]):
        out[i] = d1_scalar(g[i])
    return out


@njit(**_JIT)
def comm_energy_many(S, k, g):
    """``comm_energy_scalar`` per element."""
    out = np.empty(g.shape[0])
    for i in range(g.shape[0]):
        out[i] = comm_energy_scalar(S[i], k[i], g[i])
    return out


@njit(**_JIT)
def energy_cap_many(S, k, lim, ulo, uhi):
    """Per element, the largest u in [ulo, uhi] with E^com(e^u) <= lim, by 64 bisections
    kept on the relaxed side (the upper end of the final bracket). The loop over elements is
    the inner one: their steps are independent and overlap in the processor."""
    lo, hi = ulo.copy(), uhi.copy()
    for _ in range(64):
        for i in range(lo.shape[0]):
            mid = 0.5 * (lo[i] + hi[i])
            over = comm_energy_scalar(S[i], k[i], math.exp(mid)) > lim[i]
            hi[i] = mid if over else hi[i]
            lo[i] = lo[i] if over else mid
    return hi
