"""The communication part of P1, globally: transmit power and bandwidth, eqs. (3), (4), (40)-(46).

The communication part of objective (10) is sum_n S_n (omega_e p_n + omega_t [latency]) / r_n
with r_n = b_n log2(1 + g_n p_n / (sigma^2 b_n)) (eqs. (3), (4)), over p_min <= p_n <= p_max
(10b), b_n >= 1 kHz and sum_{n in m} b_n = B_m (10c). It does not involve alpha or the GPU
frequencies, and RSUs are independent, so it is solved RSU by RSU:

1. for fixed b_n the cost is quasi-convex in p_n with a closed-form stationary point (paper
   variant: increasing, so p_n = p_min), which gives phi_n(b) = min_p cost_n(p, b);
2. phi_n is convex in b in both variants (docs/exact.md, "Communication"), so
   sum_n phi_n(b_n) subject to sum b_n = B_m is a convex separable problem with one coupling
   constraint, solved to machine precision by a multiplier search
   (``llmv2x.solvers.frequencies.solve_separable``); its Lagrangian dual value at the
   multiplier found is a lower bound.

Notation: k_n = g_n / sigma^2 (Hz/W), x = k_n p / b the SNR, c = omega_t k_n / (omega_e b).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from scipy.special import lambertw

from llmv2x.instances.schema import Instance
from llmv2x.models import physics
from llmv2x.models.constants import B_FLOOR_HZ
from llmv2x.settings import SolveSettings
from llmv2x.solvers.frequencies import EPS, MAX_ITER, argmin_shifted, solve_separable

LN2 = math.log(2.0)
#: Below this L = ln(1 + x), c(L) is summed from its Taylor series (no cancellation).
_SERIES_L = 0.5
#: Terms of that series: the first one left out is below 1e-30 at L = 0.5.
_SERIES_TERMS = 26


# ---------------------------------------------------------------------------------------------
# power for a fixed bandwidth
# ---------------------------------------------------------------------------------------------


def _c_of_log_snr(L: np.ndarray) -> np.ndarray:
    """c(L) = e^L (L - 1) + 1 = (1 + x) ln(1 + x) - x with L = ln(1 + x), accurate for small L."""
    L = np.asarray(L, float)
    big = L * np.exp(L) - np.expm1(L)
    # sum_{j>=2} (j - 1) L^j / j!, Horner form, where L e^L - (e^L - 1) would cancel
    series = np.zeros_like(L)
    for j in range(_SERIES_TERMS, 1, -1):
        series = (series + (j - 1) / math.factorial(j)) * L
    series *= L
    return np.where(L < _SERIES_L, series, big)


def optimal_snr(c: np.ndarray) -> np.ndarray:
    """SNR x* >= 0 minimising (x + c) / ln(1 + x): the root of (1 + x) ln(1 + x) - x = c.

    This is the stationarity condition of the latency-variant cost in p for fixed b (x = k p /
    b, c = omega_t k / (omega_e b)); the left-hand side is convex and increasing with slope
    ln(1 + x), so Newton's method on L = ln(1 + x) from the Lambert-W estimate
    L = 1 + W((c - 1) / e) converges monotonically. c = 0 gives 0 and c = inf gives inf.
    """
    c = np.asarray(c, float)
    out = np.zeros_like(c)
    pos = (c > 0) & np.isfinite(c)
    out[np.isinf(c)] = np.inf
    if not pos.any():
        return out
    cc = c[pos]
    guess = 1.0 + np.real(lambertw((cc - 1.0) / math.e))
    L = np.where(cc < 1e-3, np.sqrt(2.0 * cc), guess)
    L = np.maximum(L, 1e-300)
    done = np.zeros(cc.shape, bool)
    for _ in range(MAX_ITER):
        step = (_c_of_log_snr(L) - cc) / (L * np.exp(L))
        Ln = np.maximum(L - step, 0.5 * L)
        done = np.abs(Ln - L) <= 16.0 * EPS * L
        L = Ln
        if done.all():
            break
    out[pos] = np.expm1(L)
    return out


def _rate_slope(y: np.ndarray) -> np.ndarray:
    """ln(1 + y) - y / (1 + y) (= ln2 dr/db at fixed p), summed as a series for small y."""
    u = y / (1.0 + y)
    direct = np.log1p(y) - u
    # -ln(1 - u) - u = sum_{j>=2} u^j / j; at u < 0.1 the first term left out is < 1e-19
    series = np.zeros_like(u)
    for j in range(18, 1, -1):
        series = (series + 1.0 / j) * u
    series *= u
    return np.where(u < 0.1, series, direct)


class _Radio:
    """Per-vehicle constants of the communication part, for a subset ``idx`` of vehicles."""

    def __init__(self, instance: Instance, settings: SolveSettings, idx: np.ndarray) -> None:
        v = instance.vehicle
        self.bits = instance.bits[idx]
        self.k = instance.gain[idx] / instance.noise_psd_w_per_hz
        self.p_min = v["p_min_w"][idx]
        self.p_max = v["p_max_w"][idx]
        self.omega_t = settings.omega_t
        self.omega_e = settings.omega_e
        self.time = settings.omega_t if settings.latency else 0.0  # omega_t [latency]
        self.gain = instance.gain[idx]
        self.noise = instance.noise_psd_w_per_hz
        self._last: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None  # d1, d2 cache

    @property
    def free(self) -> bool:
        """True when the communication part is zero whatever p and b (paper, omega_e = 0)."""
        return self.omega_e == 0.0 and self.time == 0.0

    def _snr(self, b: np.ndarray) -> np.ndarray:
        """x*(c) at c = omega_t k / (omega_e b) (latency variant with omega_e > 0 only)."""
        return optimal_snr(self.time * self.k / (self.omega_e * b))

    def power(self, b: np.ndarray, snr: np.ndarray | None = None) -> np.ndarray:
        """Optimal p_n for bandwidth b: the clipped stationary point (or p_min, p_max)."""
        if self.time == 0.0:
            return np.array(self.p_min, float)
        if self.omega_e == 0.0:
            return np.array(self.p_max, float)
        x = self._snr(b) if snr is None else snr
        return np.clip(b * x / self.k, self.p_min, self.p_max)

    def cost(self, p: np.ndarray, b: np.ndarray) -> np.ndarray:
        """cost_n(p, b) = S_n (omega_e p + omega_t [latency]) / r_n (eqs. (3), (4), (40))."""
        r = physics.uplink_rate(b, p, self.gain, self.noise)
        return self.bits * (self.omega_e * p + self.time) / r

    def phi(self, b: np.ndarray) -> np.ndarray:
        """phi_n(b) = min_p cost_n(p, b)."""
        return self.cost(self.power(b), b)

    def derivatives(self, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """phi_n'(b) and phi_n''(b), piece by piece (p clipped at a bound, or stationary)."""
        b = np.asarray(b, float)
        if self._last is not None and self._last[0].shape == b.shape:
            if np.array_equal(self._last[0], b):
                return self._last[1], self._last[2]
        stationary = self.time > 0.0 and self.omega_e > 0.0
        x = self._snr(b) if stationary else None
        p = self.power(b, x)
        num = self.bits * (self.omega_e * p + self.time)
        y = self.k * p / b
        r = b * np.log1p(y) / LN2
        r1 = _rate_slope(y) / LN2
        r2 = -(y**2) / (b * (1.0 + y) ** 2) / LN2
        d1 = -num * r1 / r**2
        d2 = num * (2.0 * r1**2 / r**3 - r2 / r**2)
        if stationary:
            # where p is the stationary point: phi = S ln2 (omega_e / k)(1 + x*(c)), dx*/dc = 1/L
            c = self.time * self.k / (self.omega_e * b)
            p_free = b * x / self.k
            inside = (p_free > self.p_min) & (p_free < self.p_max)
            L = np.log1p(x)
            a = self.bits * LN2 * self.omega_e / self.k
            d1 = np.where(inside, -a * c / (b * L), d1)
            d2 = np.where(inside, a * (2.0 * c / (b**2 * L) - c**2 / (b**2 * L**3 * (1.0 + x))), d2)
        self._last = (b.copy(), d1, d2)
        return d1, d2


def best_power(instance: Instance, settings: SolveSettings, b_hz: np.ndarray) -> np.ndarray:
    """Transmit power p_n (W) minimising vehicle n's communication cost for fixed b_n, eq. (40).

    Paper variant: S_n omega_e p / r_n(p) increases with p (p / ln(1 + k p / b) does), so
    p_min. Latency variant: S_n (omega_e p + omega_t) / r_n(p) is quasi-convex in p with one
    stationary point, p = b x* / k with x* = ``optimal_snr`` (omega_t k / (omega_e b)),
    clipped to [p_min, p_max]; omega_e = 0 gives p_max.

    Parameters
    ----------
    instance : the instance (gains, noise, power bounds, activation bits).
    settings : omega_t and the objective variant.
    b_hz : N bandwidth shares (Hz).
    """
    radio = _Radio(instance, settings, np.arange(instance.n_vehicles))
    return radio.power(np.asarray(b_hz, float))


# ---------------------------------------------------------------------------------------------
# bandwidth: convex separable allocation per RSU
# ---------------------------------------------------------------------------------------------


class CommSolution(NamedTuple):
    """Global optimum of the communication part (unpacks as ``p_w, b_hz, certified, lower_bound``).

    Attributes
    ----------
    p_w, b_hz : N powers (W) and bandwidth shares (Hz).
    certified : True when the point is a KKT point of the convex problem of every RSU and the
        dual bound closes the gap to 1e-9 relative.
    lower_bound : the Lagrangian dual value sum_m [sum_n min_b (phi_n(b) + lam_m b) - lam_m B_m],
        a lower bound on the communication part by weak duality.
    """

    p_w: np.ndarray
    b_hz: np.ndarray
    certified: bool
    lower_bound: float


def optimal_comm(instance: Instance, settings: SolveSettings) -> CommSolution:
    """Globally optimal (p, b) of the communication part of (10), sub-problem II (40)-(42).

    Per served RSU m: minimise sum_n phi_n(b_n), phi_n(b) = min_{p in [p_min, p_max]}
    S_n (omega_e p + omega_t [latency]) / r_n(p, b), over b_n >= 1 kHz with sum b_n = B_m
    (10c). phi_n is convex and decreasing (proof in docs/exact.md), so the multiplier search
    of ``solve_separable`` finds the global optimum; the Lagrangian dual value at its
    multipliers is returned as a lower bound. The paper variant with omega_e = 0 costs
    nothing: equal shares and p_min are returned.

    Parameters
    ----------
    instance : the instance.
    settings : omega_t and the objective variant (``paper`` or ``latency``).

    Returns
    -------
    CommSolution (p_w, b_hz, certified, lower_bound).
    """
    n = instance.n_vehicles
    assoc = instance.association
    bw = np.asarray(instance.rsu["bandwidth_hz"], float)
    counts = np.bincount(assoc, minlength=instance.n_rsus)
    radio = _Radio(instance, settings, np.arange(n))
    if radio.free:
        b = (bw / np.maximum(counts, 1))[assoc]
        return CommSolution(np.array(radio.p_min, float), b, True, 0.0)
    lo = np.full(n, B_FLOOR_HZ)
    hi = (bw - (counts - 1) * B_FLOOR_HZ)[assoc]

    def d1(b: np.ndarray) -> np.ndarray:
        return radio.derivatives(b)[0]

    def d2(b: np.ndarray) -> np.ndarray:
        return radio.derivatives(b)[1]

    sol = solve_separable(d1, d2, lo, hi, assoc, bw)
    b = sol.x
    p = radio.power(b)
    primal = float(np.sum(radio.cost(p, b)))
    # weak duality: q(lam) = sum_n min_b [phi_n(b) + lam b] - sum_m lam_m B_m <= primal
    lam = np.where(counts > 0, sol.lam, 0.0)
    b_lam = argmin_shifted(d1, d2, lo, hi, lam[assoc], b)
    dual = float(np.sum(radio.phi(b_lam) + lam[assoc] * b_lam) - np.sum(lam * bw))
    certified = bool(np.isfinite(dual) and primal - dual <= 1e-9 * abs(primal))
    return CommSolution(p, b, certified, min(dual, primal))


def comm_value(instance: Instance, settings: SolveSettings, b_hz: np.ndarray) -> float:
    """sum_n phi_n(b_n): the communication part at bandwidth b with the best power for it."""
    radio = _Radio(instance, settings, np.arange(instance.n_vehicles))
    b = np.asarray(b_hz, float)
    return float(np.sum(radio.cost(radio.power(b), b)))
