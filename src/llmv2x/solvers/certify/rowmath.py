"""Vectorised kernels of the row oracle (docs/exact.md, "The problem family under fixed
association"): one entry per (row, alpha) pair, everything NumPy.

With u = ln(gamma) (gamma = k p / b the SNR) and b the bandwidth, a row's problem for a fixed
alpha is convex in (f, f_r, u, ln b) when the bandwidth price is >= 0. For a multiplier mu of
the deadline (and a weight c0 of the cost: 1, or 0 for "minimise the time") the Lagrangian
splits into the RSU-frequency part (``fr_min``: a monotone root) and a convex function G(u)
of one variable (``g_value``: f and b in closed form). ``u_min`` minimises G by a bracketed
secant search and returns a tangent lower bound that is valid wherever the search stopped.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Any

import numpy as np

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


@dataclass(frozen=True)
class Elem:
    """Data of each (row, alpha) pair (arrays of one length) and the weights (floats)."""

    tv: np.ndarray  # alpha psi/(C_n D_n): vehicle time coefficient
    w: np.ndarray  # (Upsilon - alpha) psi/(C_m D_m): RSU time coefficient
    ev: np.ndarray  # alpha kappa_n psi/(C_n D_n): vehicle energy coefficient (E = ev f^2)
    kv: np.ndarray
    km: np.ndarray
    S: np.ndarray
    k: np.ndarray  # g / sigma^2 (Hz/W)
    sigma: np.ndarray
    lam: np.ndarray  # >= 0
    fmin: np.ndarray
    fmax: np.ndarray
    flo: np.ndarray
    fhi: np.ndarray
    blo: np.ndarray
    bhi: np.ndarray
    pmin: np.ndarray
    pmax: np.ndarray
    ulo: np.ndarray
    uhi: np.ndarray
    D: np.ndarray  # deadline with the evaluator's slack (inf: none)
    E: np.ndarray  # energy budget with the evaluator's slack (inf: none)
    wt: float
    we: float
    lt: float  # omega_t for the latency objective, else 0

    def take(self, idx: np.ndarray) -> Elem:
        """The entries ``idx``."""
        # called once per step of every search: skip the dataclass machinery (frozen
        # __init__, fields()), which cost more than the indexing on small arrays
        d = self.__dict__
        out = object.__new__(Elem)
        out.__dict__.update({k: d[k][idx] for k in _ARRAYS})
        out.__dict__.update(wt=self.wt, we=self.we, lt=self.lt)
        return out


_ARRAYS = tuple(f.name for f in fields(Elem) if f.name not in ("wt", "we", "lt"))


def d1(g: np.ndarray) -> np.ndarray:
    """log(1 + g) - g/(1 + g) without cancellation (a series below 1e-2)."""
    g = np.asarray(g, float)
    small = g < 1e-2
    with np.errstate(invalid="ignore"):
        direct = np.log1p(g) - g / (1.0 + g)
    if not small.any():
        return direct
    gs = np.where(small, g, 0.0)
    series = np.zeros_like(gs)
    for n in range(10, 1, -1):  # sum_{n>=2} (-1)^n (n-1)/n g^n, Horner from the top
        series = (series + (-1) ** n * (n - 1) / n) * gs
    series *= gs
    return np.where(small, series, direct)


def comm_energy(e: Elem, g: np.ndarray) -> np.ndarray:
    """E^com as a function of the SNR only: S gamma / (k log2(1 + gamma))."""
    return e.S * g * LN2 / (e.k * np.log1p(g))


def fr_min(e: Elem, c0: float, mu: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Minimise w((c0 w_t + mu)/x + c0 w_e kappa_m x^2) + c0 sigma x over [flo, fhi].

    Returns ``(x, lower)``: the minimiser (Newton on the cubic from the right) and a valid
    lower bound of the minimum (the value at x minus the tangent's fall over the interval).
    """
    a = e.w * (c0 * e.wt + mu)
    bq = 2.0 * e.w * c0 * e.we * e.km
    s = c0 * e.sigma

    def dphi(x: np.ndarray) -> np.ndarray:
        return -a / x**2 + bq * x + s

    with np.errstate(divide="ignore", invalid="ignore"):
        c = np.cbrt(a / bq)
        up_pos = np.minimum(c, np.where(s > 0, np.sqrt(a / s), np.inf))
        x0 = np.where(bq > 0, np.where(s >= 0, up_pos, c - s / bq), np.sqrt(a / s))
        x = np.minimum(np.maximum(np.where(np.isfinite(x0), x0, e.fhi), e.flo), e.fhi)
        for _ in range(FR_NEWTON):
            p = bq * x**3 + s * x**2 - a
            dp = 3.0 * bq * x**2 + 2.0 * s * x
            step = np.where(dp > 0, p / dp, 0.0)
            x = np.minimum(np.maximum(x - step, e.flo), e.fhi)
    x = np.where(dphi(e.flo) >= 0, e.flo, np.where(dphi(e.fhi) <= 0, e.fhi, x))
    phi = a / x + 0.5 * bq * x**2 + s * x
    g = dphi(x)
    lower = phi - np.where(g >= 0, g * (x - e.flo), -g * (e.fhi - x))
    return x, lower


@dataclass
class GPoint:
    """G(u) and its derivative, with the f and b that attain it."""

    G: np.ndarray
    dG: np.ndarray
    f: np.ndarray
    b: np.ndarray


def g_value(e: Elem, c0: float, mu: np.ndarray, u: np.ndarray) -> GPoint:
    """G(u) = min over f, b of the vehicle-frequency and radio part of the Lagrangian at SNR e^u.

    f in [fmin, min(fmax, f_E(u))] (energy budget), b in [max(blo, k pmin/g), min(bhi, k pmax/g)];
    dG is a derivative (a one-sided one at a kink: a subgradient of the convex G).
    """
    g = np.exp(u)
    lp = np.log1p(g)
    L = lp / LN2
    ec = e.S * g * LN2 / (e.k * lp)
    dec = g * e.S * LN2 * d1(g) / (e.k * lp**2)
    cf = c0 * e.wt + mu
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        fe = np.sqrt(np.maximum(e.E - ec, 0.0) / e.ev)
        fup = np.maximum(np.minimum(e.fmax, fe), e.fmin)
        cw = c0 * e.we
        func = np.cbrt(cf / (2.0 * cw * e.kv)) if cw > 0 else np.full(g.shape, np.inf)
        f = np.minimum(np.maximum(func, e.fmin), fup)
        pf = e.tv * (cf / f + cw * e.kv * f**2)
        eact = (func > fup) & (fe < e.fmax)  # f = f_E(u) (f_min on the cap's last-ulp sliver)
        dpf = np.where(
            eact, e.tv * (-cf / f**2 + 2.0 * cw * e.kv * f) * (-dec / (2.0 * e.ev * f)), 0.0
        )
        cc = c0 * e.lt + mu
        lc = c0 * e.lam
        pl = e.k * e.pmin / g
        ph = e.k * e.pmax / g
        b_lo = np.maximum(e.blo, pl)
        b_hi = np.minimum(e.bhi, ph)
        bunc = np.where(lc > 0, np.sqrt(cc * e.S / (L * lc)), np.where(cc > 0, np.inf, 0.0))
        b = np.minimum(np.maximum(bunc, b_lo), b_hi)
        pb = cc * e.S / (b * L) + lc * b
        dL = g / ((1.0 + g) * LN2)
        dpb = -cc * e.S * dL / (b * L**2)
        at_hi = bunc >= b_hi  # b at its upper end: set by p_max when that is below bhi
        at_lo = (bunc <= b_lo) & ~at_hi
        at_p = (at_hi & (ph < e.bhi)) | (at_lo & (pl > e.blo))
        dpb = dpb + np.where(at_p, (-cc * e.S / (b**2 * L) + lc) * (-b), 0.0)
    return GPoint(pf + cw * ec + pb, dpf + cw * dec + dpb, f, b)


@dataclass
class UMin:
    """Result of ``u_min``: a valid lower bound of min G, the best u found and its point."""

    lower: np.ndarray
    u: np.ndarray
    at: GPoint


def _pick(mask: np.ndarray, a: GPoint, b: GPoint) -> GPoint:
    return GPoint(*(np.where(mask, getattr(a, k), getattr(b, k)) for k in ("G", "dG", "f", "b")))


def u_min(
    e: Elem, c0: float, mu: np.ndarray, rtol: Any = U_RTOL, u0: np.ndarray | None = None
) -> UMin:
    """Minimise the convex G over [ulo, uhi] (bracketed secant with the Illinois rule).

    The lower bound is the minimum over the final bracket [a, c] of the larger of the
    tangents at a and c (their intersection): valid for a convex G wherever the search
    stopped, which is when it is within ``rtol`` (relative, scalar or per entry) of the
    best G found. At an end where the derivative points outwards the bound is G there.
    Each step evaluates G only where the search is still open. ``u0`` (per entry, NaN: none)
    is a guess of the minimiser (the previous multiplier's): G' at u0 -/+ 0.02 narrows the
    bracket first, and then no bisections are needed.
    """
    ua, uc = e.ulo.copy(), e.uhi.copy()
    pa, pc = g_value(e, c0, mu, ua), g_value(e, c0, mu, uc)
    left = pa.dG >= 0
    right = (pc.dG <= 0) & ~left
    inner = ~left & ~right
    rtol = np.broadcast_to(np.asarray(rtol, float), ua.shape)
    warm = np.zeros(ua.shape, bool)
    if u0 is not None:
        w = np.flatnonzero(inner & np.isfinite(u0))
        for sgn in (-1.0, 1.0):
            if w.size == 0:
                break
            x = np.clip(u0[w] + sgn * U_WARM, ua[w], uc[w])
            inside = (x > ua[w]) & (x < uc[w])
            w, x = w[inside], x[inside]
            px = g_value(e.take(w), c0, mu[w], x)
            go_a = px.dG < 0
            ua[w[go_a]], uc[w[~go_a]] = x[go_a], x[~go_a]
            _put(pa, w[go_a], px, go_a)
            _put(pc, w[~go_a], px, ~go_a)
            warm[w] = True
    sa, sc = pa.dG.copy(), pc.dG.copy()  # secant weights (Illinois halves a stale end)
    side = np.zeros(ua.shape, int)
    lower = np.where(left, pa.G, pc.G)
    open_ = np.flatnonzero(inner)
    for it in range(U_MAXIT):
        if open_.size == 0:
            break
        a, c = _sub(pa, open_), _sub(pc, open_)
        lo_b = _tangent_bound(ua[open_], uc[open_], a, c)
        best = np.minimum(a.G, c.G)
        wide = uc[open_] - ua[open_] > U_WIDTH * (1.0 + np.abs(ua[open_]))
        # at the tight tolerance also a narrow bracket: the point's time depends on u to
        # first order while G is flat at its minimum
        keep = (best - lo_b > rtol[open_] * np.abs(best) + 1e-300) | (
            (rtol[open_] <= U_RTOL) & wide
        )
        keep &= uc[open_] > ua[open_]
        open_ = open_[keep]
        if open_.size == 0:
            break
        xa, xc, wa, wc = ua[open_], uc[open_], sa[open_], sc[open_]
        with np.errstate(divide="ignore", invalid="ignore"):
            x = (xa * wc - xc * wa) / (wc - wa)
        # a few bisections first: G' grows like e^u on the right, a secant from a wide
        # bracket would crawl along the flat end
        bad = ~np.isfinite(x) | (x <= xa) | (x >= xc) | ((it < U_BISECT) & ~warm[open_])
        x = np.where(bad, 0.5 * (xa + xc), x)
        px = g_value(e.take(open_), c0, mu[open_], x)
        go_a = px.dG < 0
        st = side[open_]
        sc[open_] = np.where(go_a & (st == -1), 0.5 * wc, np.where(go_a, wc, px.dG))
        sa[open_] = np.where(~go_a & (st == 1), 0.5 * wa, np.where(go_a, px.dG, wa))
        ua[open_] = np.where(go_a, x, xa)
        uc[open_] = np.where(go_a, xc, x)
        ia, ic = open_[go_a], open_[~go_a]
        _put(pa, ia, px, go_a)
        _put(pc, ic, px, ~go_a)
        side[open_] = np.where(go_a, -1, 1)
    lower = np.where(inner, _tangent_bound(ua, uc, pa, pc), lower)
    use_a = left | (inner & (pa.G <= pc.G))
    return UMin(lower, np.where(use_a, ua, uc), _pick(use_a, pa, pc))


def _sub(p: GPoint, idx: np.ndarray) -> GPoint:
    return GPoint(p.G[idx], p.dG[idx], p.f[idx], p.b[idx])


def _put(p: GPoint, idx: np.ndarray, src: GPoint, mask: np.ndarray) -> None:
    for k in ("G", "dG", "f", "b"):
        getattr(p, k)[idx] = getattr(src, k)[mask]


def _tangent_bound(ua: np.ndarray, uc: np.ndarray, pa: GPoint, pc: GPoint) -> np.ndarray:
    """min over [ua, uc] of max(tangent at ua, tangent at uc), for dG(ua) < 0 < dG(uc)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        x = (pc.G - pa.G + pa.dG * ua - pc.dG * uc) / (pa.dG - pc.dG)
    x = np.minimum(np.maximum(np.where(np.isfinite(x), x, ua), ua), uc)
    with np.errstate(invalid="ignore"):  # an infinite slope at its own end point: inf * 0
        out = np.minimum(pa.G + pa.dG * (x - ua), pc.G + pc.dG * (x - uc))
    # no tangent information there: -inf is the only bound that is valid for sure
    return np.where(np.isnan(out), -np.inf, out)
