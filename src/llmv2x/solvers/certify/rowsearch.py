"""The search of the row oracle per (row, alpha) element: the energy cap of the SNR range,
the Lagrangian of the deadline for one multiplier, the honest value of a point, and the
multiplier search (docs/exact.md, "The problem family under fixed association")."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from llmv2x.models import physics
from llmv2x.solvers.certify.rowmath import U_RTOL, Elem, comm_energy, energy_cap, fr_min, u_min

#: Cap on the multiplier-search steps of the deadline.
MU_MAXIT = 80
#: The deadline search aims this far (relative) inside the points' deadline: more than
#: clipping a point back to its stated bounds (1e-9 relative) can cost in time.
AIM = 1e-8


@dataclass(frozen=True)
class Aux:
    """Per-element data for valuing points with ``physics`` (the evaluator's formulas)."""

    alpha: np.ndarray
    off: np.ndarray  # Upsilon - alpha
    psi: np.ndarray
    cv: np.ndarray
    dv: np.ndarray
    cm: np.ndarray
    dm: np.ndarray
    gain: np.ndarray
    noise: float
    d_pt: np.ndarray
    e_pt: np.ndarray
    lam: np.ndarray  # the price as given (may be negative)
    latency: bool
    nominal: dict[str, np.ndarray]  # the bounds as stated (Elem holds them relaxed)

    def take(self, idx: np.ndarray) -> Aux:
        kw = {k: getattr(self, k) for k in self.__dataclass_fields__}
        for k, a in kw.items():
            if isinstance(a, np.ndarray):
                kw[k] = a[idx]
        kw["nominal"] = {k: a[idx] for k, a in self.nominal.items()}
        return Aux(**kw)


def _energy_cap(e: Elem) -> tuple[Elem, np.ndarray]:
    """Cut u at the largest SNR the energy budget allows with f = f_min (bisection, kept on the
    relaxed side), and flag elements with an empty domain (proven infeasible)."""
    lim = e.E - e.ev * e.fmin**2
    empty = (e.flo > e.fhi) | (e.blo > e.bhi) | ~(e.ulo <= e.uhi) | (e.fmin > e.fmax)
    with np.errstate(invalid="ignore", over="ignore"):
        empty |= comm_energy(e, np.exp(e.ulo)) > lim
        cut = np.isfinite(lim) & ~empty & (comm_energy(e, np.exp(e.uhi)) > lim)
        if cut.any():
            uhi = e.uhi.copy()
            uhi[cut] = energy_cap(e.take(cut), lim[cut])
            e = replace(e, uhi=uhi)
    return e, empty


def _lagrangian(
    e: Elem, c0: float, mu: np.ndarray, rtol: Any = U_RTOL, u0: np.ndarray | None = None
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Lower bound of min_x c0 (cost + prices) + mu time, and the minimiser found
    (``u0``: a guess of the SNR's log, per entry)."""
    fr, frl = fr_min(e, c0, mu)
    um = u_min(e, c0, mu, rtol, u0)
    g = np.exp(um.u)
    return frl + um.lower, {"f": um.at.f, "fr": fr, "b": um.at.b, "gamma": g}


def _value(
    e: Elem, x: Aux, pt: dict[str, np.ndarray]
) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray, np.ndarray]:
    """The point (p clipped to its bounds, f cut to the energy budget), its value
    c_n + sigma f_r + lambda b, whether it keeps the deadline and energy budget, its time."""
    nom = x.nominal
    b = np.clip(pt["b"], nom["blo"], nom["bhi"])
    fr = np.clip(pt["fr"], nom["flo"], nom["fhi"])
    p = np.clip(pt["gamma"] * pt["b"] / e.k, nom["pmin"], nom["pmax"])
    with np.errstate(all="ignore"):
        rate = physics.uplink_rate(b, p, x.gain, x.noise)
        e_com = physics.transmit_energy(p, e.S, rate)
        f_e = np.sqrt(np.maximum(x.e_pt - e_com, 0.0) / e.ev)
        f = np.minimum(np.minimum(pt["f"], nom["fmax"]), f_e)
        ok = f >= nom["fmin"]
        f = np.maximum(f, nom["fmin"])
        wt = e.wt
        cost = (
            x.alpha * physics.layer_cost(wt, x.psi, f, e.kv, x.cv, x.dv)
            + x.off * physics.layer_cost(wt, x.psi, fr, e.km, x.cm, x.dm)
            + physics.transmit_cost(wt, p, e.S, rate, x.latency)
        )
        time = (
            x.alpha * physics.compute_time(x.psi, f, x.cv, x.dv)
            + x.off * physics.compute_time(x.psi, fr, x.cm, x.dm)
            + physics.transmit_time(e.S, rate)
        )
    ok &= np.isfinite(cost) & ~(time > x.d_pt)
    value = cost + e.sigma * fr + x.lam * b
    return {"f": f, "fr": fr, "p": p, "b": b}, value, ok, time


def solve_elements(
    e: Elem, x: Aux, eps: float, row: np.ndarray, mu0: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray], np.ndarray, np.ndarray]:
    """Per element: (lower, upper, point, proven infeasible, deadline multiplier). ``row``
    maps elements to rows: an element whose bound reaches its row's best value is not
    refined further (its bound stays valid, the row's minimum is elsewhere). ``mu0``: warm
    multipliers per element (NaN: none)."""
    size = e.tv.shape[0]
    mu_out = np.full(size, np.nan)
    e, infeasible = _energy_cap(e)
    lower = np.full(size, np.inf)
    upper = np.full(size, np.inf)
    point = {k: np.full(size, np.nan) for k in ("f", "fr", "p", "b")}

    def keep(
        idx: np.ndarray, lo: np.ndarray, pt: dict[str, np.ndarray], val: np.ndarray, ok: np.ndarray
    ) -> None:
        lower[idx] = np.where(np.isinf(lower[idx]), lo, np.maximum(lower[idx], lo))
        better = ok & (val < upper[idx])
        upper[idx] = np.where(better, val, upper[idx])
        for k in point:
            point[k][idx] = np.where(better, pt[k], point[k][idx])

    live = np.flatnonzero(~infeasible)
    if live.size == 0:
        return lower, upper, point, infeasible, mu_out
    sub, sx = e.take(live), x.take(live)
    l0, pt0 = _lagrangian(sub, 1.0, np.zeros(live.size), _u_floor(eps))
    p0, v0, ok0, _ = _value(sub, sx, pt0)
    keep(live, l0, p0, v0, ok0)
    open_ = lower[live] < _row_best(upper, row, eps)[row[live]]
    need = live[np.isfinite(sub.D) & ~ok0 & open_]
    if need.size:
        tsub = e.take(need)
        tmin, _ = _lagrangian(tsub, 0.0, np.ones(need.size), 1e-10)  # only to prove infeasible
        infeasible[need] = tmin > tsub.D
        lower[need[tmin > tsub.D]] = np.inf
        need = need[~(tmin > tsub.D)]
    if need.size:
        m0 = None if mu0 is None else mu0[need]
        mu_out[need] = _search_mu(e, x, need, np.abs(lower[need]), eps, keep, lower, upper, row, m0)
    lower[infeasible] = np.inf
    return lower, upper, point, infeasible, mu_out


def _search_mu(
    e: Elem,
    x: Aux,
    idx: np.ndarray,
    scale: np.ndarray,
    eps: float,
    keep: Any,
    lower: np.ndarray,
    upper: np.ndarray,
    row: np.ndarray,
    mu0: np.ndarray | None = None,
) -> np.ndarray:
    """Find the deadline multiplier: bracket by growing factors (from 8, or from 1.3 around
    a warm start ``mu0``), then a secant search on log mu (Illinois) of time(mu) = deadline.
    Every mu evaluated tightens the bound (weak duality). Returns the final multipliers."""
    d_pt = x.d_pt[idx]
    mu = np.maximum(scale, 1e-300) / d_pt
    fac = np.full(idx.size, 8.0)
    fac_warm = np.zeros(idx.size, bool)
    u_prev = np.full(idx.size, np.nan)
    if mu0 is not None:
        warm = np.isfinite(mu0) & (mu0 > 0)
        mu = np.where(warm, mu0, mu)
        fac = np.where(warm, 1.3, fac)
        fac_warm = warm
    lo = np.zeros(idx.size)
    hi = np.full(idx.size, np.inf)
    h_lo = np.full(idx.size, np.nan)
    h_hi = np.full(idx.size, np.nan)
    side = np.zeros(idx.size, int)
    active = np.ones(idx.size, bool)
    for it in range(MU_MAXIT):
        a = np.flatnonzero(active)
        if a.size == 0:
            break
        gi = idx[a]
        sub, sx = e.take(gi), x.take(gi)
        # loose inner searches while the multiplier is far, exact ones near it
        # (exact from the start after a warm start: a noisy time would misplace the bracket)
        rtol = np.where(fac_warm[a], U_RTOL, max(U_RTOL, 1e-5 * 0.03**it))
        rtol = np.maximum(rtol, _u_floor(eps))
        lm, pt = _lagrangian(sub, 1.0, mu[a], rtol, u_prev[a])
        u_prev[a] = np.log(pt["gamma"])
        p, v, ok, tnow = _value(sub, sx, pt)
        keep(gi, lm - mu[a] * sub.D, p, v, ok)
        with np.errstate(all="ignore"):
            # aim inside by more than clipping a point back to its bounds (1e-9) can cost
            h = np.log(tnow / (d_pt[a] * (1.0 - AIM)))
        feas = ok
        up, lw = upper[gi], lower[gi]
        # points sit AIM inside the deadline, which costs about AIM of the value
        done = np.isfinite(up) & (up - lw <= max(eps, 3.0 * AIM) * np.abs(up) + 1e-15)
        done |= lw >= _row_best(upper, row, eps)[row[gi]]  # cannot beat the row's best
        # update the bracket
        hi_new = np.where(feas, mu[a], hi[a])
        h_hi_new = np.where(feas, h, h_hi[a])
        lo_new = np.where(feas, lo[a], mu[a])
        h_lo_new = np.where(feas, h_lo[a], h)
        s_old = side[a]
        h_lo_new = np.where(feas & (s_old == 1), 0.5 * h_lo_new, h_lo_new)  # Illinois
        h_hi_new = np.where(~feas & (s_old == -1), 0.5 * h_hi_new, h_hi_new)
        side[a] = np.where(feas, 1, -1)
        hi[a], h_hi[a], lo[a], h_lo[a] = hi_new, h_hi_new, lo_new, h_lo_new
        f = fac[a]
        with np.errstate(over="ignore"):  # a multiplier growing past 1e300 ends at inf
            up = mu[a] * f
        nxt = np.where(np.isinf(hi[a]), up, np.where(lo[a] == 0, mu[a] / f, np.nan))
        fac[a] = np.minimum(f * 4.0, 1e6)
        both = np.isnan(nxt)
        if both.any():
            with np.errstate(all="ignore"):
                llo, lhi = np.log(lo[a]), np.log(hi[a])
                sec = (llo * h_hi[a] - lhi * h_lo[a]) / (h_hi[a] - h_lo[a])
            bad = ~np.isfinite(sec) | (sec <= llo) | (sec >= lhi)
            sec = np.where(bad, 0.5 * (llo + lhi), sec)
            nxt = np.where(both, np.exp(sec), nxt)
        stuck = both & (hi[a] - lo[a] <= 1e-15 * hi[a])
        mu[a] = nxt
        active[a] = ~(done | stuck | (mu[a] <= 0) | ~np.isfinite(mu[a]))
    return np.where(np.isfinite(hi), hi, mu)


def _u_floor(eps: float) -> float:
    """Tolerance floor of the u searches for a multiplier search that stops at ``eps``:
    U_RTOL when the points must sit at the deadline (eps at most 3 AIM), else 1e-3 eps
    (a loose oracle call; its lower bounds stay valid, docs/exact.md)."""
    return U_RTOL if eps <= 3.0 * AIM else 1e-3 * eps


def _row_best(upper: np.ndarray, row: np.ndarray, eps: float) -> np.ndarray:
    """Per row, the best value found less eps relative (+inf where none)."""
    best = np.full(int(row.max(initial=-1)) + 1, np.inf)
    np.minimum.at(best, row, upper)
    fin = np.isfinite(best)
    best[fin] -= eps * np.abs(best[fin])
    return best
