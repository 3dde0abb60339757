"""The row oracle: a certified lower bound, and a point, of one vehicle's priced problem.

A row is one (vehicle, RSU link) with a domain (alpha range, SNR range, share bounds). For
prices sigma (per Hz of RSU frequency) and lambda (per Hz of bandwidth) the oracle bounds

    q_r(sigma, lambda) = min  c_n + sigma f_r + lambda b

over the row's domain under the vehicle's deadline and energy budget (when the problem has
them), c_n the vehicle's full share of objective (10) or of its latency variant. Method and
proofs: docs/exact.md, "The problem family under fixed association"; kernels in ``rowmath``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from llmv2x.instances.schema import Instance
from llmv2x.models.constants import B_FLOOR_HZ, F_RSU_FLOOR_HZ, FEAS_TOL
from llmv2x.problem import VARIANT_TOL, Problem
from llmv2x.settings import SolveSettings
from llmv2x.solvers.certify.rowmath import Elem
from llmv2x.solvers.certify.rowsearch import Aux, solve_elements

#: Bounds use the deadline and energy budget times (1 + VARIANT_TOL), the evaluator's
#: tolerance, so they hold for every point it accepts; points keep them times POINT_FACTOR
#: (a few ulps inside, against rounding).
POINT_FACTOR = (1.0 + VARIANT_TOL) * (1.0 - 1e-13)


@dataclass(frozen=True)
class Rows:
    """Rows of per-vehicle problems: one per (vehicle, RSU link) considered."""

    vehicle: np.ndarray  # int, row -> vehicle index
    rsu: np.ndarray  # int, row -> RSU index
    gain: np.ndarray  # linear channel gain of that link
    f_lo: np.ndarray  # bounds on the RSU frequency share f_r (Hz)
    f_hi: np.ndarray
    b_lo: np.ndarray  # bounds on the bandwidth share b (Hz)
    b_hi: np.ndarray
    a_lo: np.ndarray  # int alpha range (1..Upsilon), for branching
    a_hi: np.ndarray
    g_lo: np.ndarray  # SNR range (gamma = k p / b), for branching
    g_hi: np.ndarray

    def __len__(self) -> int:
        return int(self.vehicle.shape[0])

    @classmethod
    def _make(
        cls,
        instance: Instance,
        veh: np.ndarray,
        rsu: np.ndarray,
        gain: np.ndarray,
        f_hi: Any,
        b_hi: Any,
    ) -> Rows:
        n = veh.shape[0]
        v = instance.vehicle
        b_lo = np.full(n, B_FLOOR_HZ)
        b_hi = np.asarray(b_hi, float)
        k = gain / instance.noise_psd_w_per_hz
        return cls(
            vehicle=np.asarray(veh, np.int64),
            rsu=np.asarray(rsu, np.int64),
            gain=np.asarray(gain, float),
            f_lo=np.full(n, F_RSU_FLOOR_HZ),
            f_hi=np.asarray(f_hi, float),
            b_lo=b_lo,
            b_hi=b_hi,
            a_lo=np.ones(n, np.int64),
            a_hi=np.full(n, int(instance.layers), np.int64),
            g_lo=k * v["p_min_w"][veh] / b_hi,
            g_hi=k * v["p_max_w"][veh] / b_lo,
        )

    @classmethod
    def fixed(cls, instance: Instance, problem: Problem) -> Rows:
        """One row per vehicle on its own RSU. Share bounds: [floor, F_m - (k_m - 1) floor]
        under equality budgets (the others keep their floors), [floor, F_m] under inequality."""
        assoc = np.asarray(instance.association, np.int64)
        fm = instance.rsu["f_max_hz"][assoc]
        bm = instance.rsu["bandwidth_hz"][assoc]
        if not problem.inequality:
            others = np.bincount(assoc, minlength=instance.n_rsus)[assoc] - 1
            fm = fm - others * F_RSU_FLOOR_HZ
            bm = bm - others * B_FLOOR_HZ
        veh = np.arange(instance.n_vehicles)
        return cls._make(instance, veh, assoc, instance.gain, fm, bm)

    @classmethod
    def links(cls, instance: Instance, problem: Problem) -> Rows:
        """One row per link of ``instance.links``; share bounds [floor, F_m] and [floor, B_m]."""
        veh, rsu, gain = instance.links
        rsu = np.asarray(rsu, np.int64)
        return cls._make(
            instance,
            veh,
            rsu,
            gain,
            instance.rsu["f_max_hz"][rsu],
            instance.rsu["bandwidth_hz"][rsu],
        )

    def take(self, idx: Any) -> Rows:
        """The rows ``idx`` (an index array or a boolean mask)."""
        return Rows(**{k: getattr(self, k)[idx] for k in self.__dataclass_fields__})

    def with_domain(self, **arrays: Any) -> Rows:
        """A copy with some of a_lo/a_hi/g_lo/g_hi/f_lo/f_hi/b_lo/b_hi replaced."""
        allowed = {"a_lo", "a_hi", "g_lo", "g_hi", "f_lo", "f_hi", "b_lo", "b_hi"}
        bad = set(arrays) - allowed
        if bad:
            raise ValueError(f"with_domain: {sorted(bad)[0]} is not a domain field")
        kw = {
            k: np.asarray(a, np.int64 if k.startswith("a_") else float) for k, a in arrays.items()
        }
        return replace(self, **kw)


@dataclass(frozen=True)
class RowValues:
    """What the oracle says about each row (arrays over rows)."""

    lower: np.ndarray  # valid lower bound of q_r (+inf when proven infeasible)
    upper: np.ndarray  # value of the returned point (+inf when none found)
    alpha: np.ndarray
    f_vehicle: np.ndarray
    f_rsu: np.ndarray
    p: np.ndarray
    b: np.ndarray
    infeasible: np.ndarray  # bool, proven infeasible on the row's domain
    alpha_lower: np.ndarray  # rows x Upsilon: valid lower bound per alpha


def _elements(
    instance: Instance,
    settings: SolveSettings,
    problem: Problem,
    rows: Rows,
    sigma: np.ndarray,
    lam: np.ndarray,
) -> tuple[Elem, Aux, np.ndarray, np.ndarray]:
    """One element per (row, alpha in the row's range): (Elem, Aux, row index, alpha)."""
    ups = int(instance.layers)
    a_lo = np.clip(rows.a_lo, 1, ups)
    a_hi = np.clip(rows.a_hi, 1, ups)
    counts = np.maximum(a_hi - a_lo + 1, 0)
    row = np.repeat(np.arange(len(rows)), counts)
    start = np.cumsum(counts) - counts
    alpha = (a_lo[row] + np.arange(row.shape[0]) - start[row]).astype(float)
    n = rows.vehicle[row]
    m = rows.rsu[row]
    v, r = instance.vehicle, instance.rsu
    psi = instance.psi[n]
    tau_v = psi / (v["gpu_cores"][n] * v["flops_per_cycle"][n])
    tau_r = psi / (r["gpu_cores"][m] * r["flops_per_cycle"][m])
    nan_inf = lambda a: np.where(np.isnan(a), np.inf, a)  # noqa: E731
    dl = nan_inf(instance.deadline_s[n]) if problem.deadlines else np.full(row.shape, np.inf)
    eb = (
        nan_inf(instance.energy_budget_j[n])
        if problem.energy_budgets
        else np.full(row.shape, np.inf)
    )
    gain = rows.gain[row]
    k = gain / instance.noise_psd_w_per_hz
    nominal = {
        "fmin": v["f_min_hz"][n],
        "fmax": v["f_max_hz"][n],
        "flo": rows.f_lo[row],
        "fhi": rows.f_hi[row],
        "blo": rows.b_lo[row],
        "bhi": rows.b_hi[row],
        "pmin": v["p_min_w"][n],
        "pmax": v["p_max_w"][n],
    }
    # bounds are relaxed by the evaluator's tolerance; points are clipped back (rowsearch)
    rel = {
        k: a * (1.0 + (FEAS_TOL if k[1:] in ("max", "hi") else -FEAS_TOL))
        for k, a in nominal.items()
    }
    pmin, pmax, blo, bhi = rel["pmin"], rel["pmax"], rel["blo"], rel["bhi"]
    with np.errstate(divide="ignore"):
        ulo = np.log(np.maximum(rows.g_lo[row], k * pmin / bhi))
        uhi = np.log(np.minimum(rows.g_hi[row], k * pmax / blo))
    wt = settings.omega_t
    e = Elem(
        tv=alpha * tau_v,
        w=(ups - alpha) * tau_r,
        ev=alpha * v["kappa"][n] * tau_v,
        kv=v["kappa"][n],
        km=r["kappa"][m],
        S=instance.bits[n],
        k=k,
        sigma=np.asarray(sigma, float)[row],
        lam=np.maximum(np.asarray(lam, float)[row], 0.0),
        **rel,
        ulo=ulo,
        uhi=uhi,
        D=dl * (1.0 + VARIANT_TOL),
        E=eb * (1.0 + VARIANT_TOL),
        wt=wt,
        we=1.0 - wt,
        lt=wt if settings.latency else 0.0,
    )
    aux = Aux(
        alpha=alpha,
        off=ups - alpha,
        psi=psi,
        cv=v["gpu_cores"][n],
        dv=v["flops_per_cycle"][n],
        cm=r["gpu_cores"][m],
        dm=r["flops_per_cycle"][m],
        gain=gain,
        noise=instance.noise_psd_w_per_hz,
        d_pt=dl * POINT_FACTOR,
        e_pt=eb * POINT_FACTOR,
        lam=np.asarray(lam, float)[row],
        latency=settings.latency,
        nominal=nominal,
    )
    return e, aux, row, alpha


def row_oracle(
    instance: Instance,
    settings: SolveSettings,
    problem: Problem,
    rows: Rows,
    sigma: np.ndarray,
    lam: np.ndarray,
    *,
    eps: float = 1e-9,
    warm: dict[str, Any] | None = None,
) -> RowValues:
    """q_r = min cost_n + sigma_r f_r + lam_r b over the row's domain (design in docs/exact.md).

    ``sigma`` and ``lam`` are per row. A negative ``lam`` is bounded by q_r(sigma, 0) +
    lam b_hi (valid, not tight): callers price bandwidth with lam >= 0 (docs/exact.md).
    ``eps`` is the relative gap at which a (row, alpha) search stops. ``warm``: a dict the
    oracle reads and updates with the deadline multipliers of its last call on the same
    rows, to warm-start the next call (prices that moved a little).
    """
    ups = int(instance.layers)
    nrows = len(rows)
    e, x, row, alpha = _elements(instance, settings, problem, rows, sigma, lam)
    mu0 = None
    if (
        warm is not None
        and np.array_equal(warm.get("row"), row)
        and np.array_equal(warm.get("alpha"), alpha)
    ):
        mu0 = warm["mu"]
    lo, up, pt, infeasible, mu = solve_elements(e, x, eps, row, mu0)
    if warm is not None:
        warm.update(
            row=row, alpha=alpha, mu=np.where(np.isfinite(mu), mu, mu0 if mu0 is not None else mu)
        )
    neg = np.minimum(x.lam, 0.0) * e.bhi
    lo = lo + neg
    alpha_lower = np.full((nrows, ups), np.inf)
    alpha_lower[row, alpha.astype(np.int64) - 1] = lo
    lower = alpha_lower.min(axis=1) if ups else np.full(nrows, np.inf)
    out = {k: np.full(nrows, np.nan) for k in ("alpha", "f", "fr", "p", "b")}
    upper = np.full(nrows, np.inf)
    if row.size:
        order = np.lexsort((up, row))  # per row, the best upper first
        first = order[np.r_[True, row[order][1:] != row[order][:-1]]]
        r0 = row[first]
        good = np.isfinite(up[first])
        upper[r0[good]] = up[first][good]
        out["alpha"][r0[good]] = alpha[first][good]
        for k in ("f", "fr", "p", "b"):
            out[k][r0[good]] = pt[k][first][good]
    inf_rows = np.isinf(lower) & (lower > 0)
    return RowValues(
        lower=lower,
        upper=upper,
        alpha=out["alpha"],
        f_vehicle=out["f"],
        f_rsu=out["fr"],
        p=out["p"],
        b=out["b"],
        infeasible=inf_rows,
        alpha_lower=alpha_lower,
    )
