"""Kernels of the row oracle (docs/exact.md, "The problem family under fixed association"):
one entry per (row, alpha) pair; NumPy-level wrappers of the numba kernels in ``rowjit``.

With u = ln(gamma) (gamma = k p / b the SNR) and b the bandwidth, a row's problem for a fixed
alpha is convex in (f, f_r, u, ln b) when the bandwidth price is >= 0. For a multiplier mu of
the deadline (and a weight c0 of the cost: 1, or 0 for "minimise the time") the Lagrangian
splits into the RSU-frequency part (``fr_min``: a monotone root) and a convex function G(u)
of one variable (``g_value``: f and b in closed form). ``u_min`` minimises G by a bracketed
secant search and returns a tangent lower bound that is valid wherever the search stopped.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from llmv2x.solvers.certify import rowjit

# the constants live with the compiled kernels (numba freezes globals at compile time)
from llmv2x.solvers.certify.rowjit import (  # noqa: F401  (re-exported)
    FR_NEWTON,
    LN2,
    U_BISECT,
    U_MAXIT,
    U_RTOL,
    U_WARM,
    U_WIDTH,
)


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


def _f64(a: Any) -> np.ndarray:
    """A writeable float64 C array: the kernels' one compiled signature (a read-only array,
    e.g. a broadcast scalar, would compile a second one)."""
    out = np.ascontiguousarray(a, dtype=np.float64)
    return out if out.flags.writeable else out.copy()


def _g_args(e: Elem) -> tuple[np.ndarray, ...]:
    return tuple(_f64(getattr(e, k)) for k in _G_FIELDS)


_G_FIELDS = ("tv", "ev", "kv", "S", "k", "lam", "fmin", "fmax", "blo", "bhi", "pmin", "pmax", "E")


def d1(g: np.ndarray) -> np.ndarray:
    """log(1 + g) - g/(1 + g) without cancellation (a series below 1e-2)."""
    return rowjit.d1_many(_f64(np.atleast_1d(g)))


def comm_energy(e: Elem, g: np.ndarray) -> np.ndarray:
    """E^com as a function of the SNR only: S gamma / (k log2(1 + gamma))."""
    return rowjit.comm_energy_many(_f64(e.S), _f64(e.k), _f64(g))


def energy_cap(e: Elem, lim: np.ndarray) -> np.ndarray:
    """Per entry, the largest u in [ulo, uhi] with E^com(e^u) <= lim (64 bisections, the
    bracket's upper end: on the relaxed side). Compiled: ``rowjit.energy_cap_many``."""
    return rowjit.energy_cap_many(_f64(e.S), _f64(e.k), _f64(lim), _f64(e.ulo), _f64(e.uhi))


def fr_min(e: Elem, c0: float, mu: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Minimise w((c0 w_t + mu)/x + c0 w_e kappa_m x^2) + c0 sigma x over [flo, fhi].

    Returns ``(x, lower)``: the minimiser (Newton on the cubic from the right) and a valid
    lower bound of the minimum (the value at x minus the tangent's fall over the interval).
    Compiled: ``rowjit.fr_min_many``.
    """
    args = (_f64(getattr(e, k)) for k in ("w", "km", "sigma", "flo", "fhi"))
    return rowjit.fr_min_many(*args, float(e.wt), float(e.we), float(c0), _f64(mu))


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
    Compiled: ``rowjit.g_scalar`` per entry.
    """
    w = (float(e.wt), float(e.we), float(e.lt), float(c0))
    return GPoint(*rowjit.g_many(*_g_args(e), *w, _f64(mu), _f64(u)))


@dataclass
class UMin:
    """Result of ``u_min``: a valid lower bound of min G, the best u found and its point."""

    lower: np.ndarray
    u: np.ndarray
    at: GPoint


def u_min(
    e: Elem, c0: float, mu: np.ndarray, rtol: Any = U_RTOL, u0: np.ndarray | None = None
) -> UMin:
    """Minimise the convex G over [ulo, uhi] (bracketed secant with the Illinois rule).

    The lower bound is the minimum over the final bracket [a, c] of the larger of the
    tangents at a and c (their intersection): valid for a convex G wherever the search
    stopped, which is when it is within ``rtol`` (relative, scalar or per entry) of the
    best G found. At an end where the derivative points outwards the bound is G there.
    ``u0`` (per entry, NaN: none) is a guess of the minimiser (the previous multiplier's):
    G' at u0 -/+ 0.02 narrows the bracket first, and then no bisections are needed.
    Compiled: ``rowjit.u_min_many``, one element at a time.
    """
    n = e.ulo.shape[0]
    rt = _f64(np.broadcast_to(np.asarray(rtol, float), (n,)))
    guess = np.full(n, np.nan) if u0 is None else _f64(u0)
    w = (float(e.wt), float(e.we), float(e.lt), float(c0))
    lower, u, G, dG, f, b = rowjit.u_min_many(
        *_g_args(e), _f64(e.ulo), _f64(e.uhi), *w, _f64(mu), rt, guess
    )
    return UMin(lower, u, GPoint(G, dG, f, b))
