"""Blocks I and II of the family AO, per RSU (docs/algorithms.md#ao-for-the-problem-family)."""

from __future__ import annotations

from typing import Any

import numpy as np

from llmv2x.instances.schema import Instance
from llmv2x.models import physics
from llmv2x.models.constants import B_FLOOR_HZ, F_RSU_FLOOR_HZ
from llmv2x.problem import Problem
from llmv2x.settings import SolveSettings
from llmv2x.solvers.ao_family.point import Point, slsqp

GHZ, MHZ = 1.0e9, 1.0e6
#: relative margin kept inside deadlines and energy budgets (none: the start may sit on them;
#: the evaluator allows 1e-6 and every block result is checked)
MARGIN = 0.0


class Family:
    """The per-vehicle and per-RSU pieces of a problem-family instance, NumPy only."""

    def __init__(self, instance: Instance, settings: SolveSettings, problem: Problem) -> None:
        self.inst, self.settings, self.problem = instance, settings, problem
        v = instance.vehicle
        self.w = settings.omega_t
        self.latency = settings.latency
        self.ups = float(instance.layers)
        self.psi, self.bits = np.asarray(instance.psi, float), np.asarray(instance.bits, float)
        self.cdv = np.asarray(v["gpu_cores"] * v["flops_per_cycle"], float)
        self.kv = np.asarray(v["kappa"], float)
        self.fmin, self.fmax = np.asarray(v["f_min_hz"], float), np.asarray(v["f_max_hz"], float)
        self.pmin, self.pmax = np.asarray(v["p_min_w"], float), np.asarray(v["p_max_w"], float)
        r = instance.rsu
        self.cdr = np.asarray(r["gpu_cores"] * r["flops_per_cycle"], float)
        self.kr, self.bw = np.asarray(r["kappa"], float), np.asarray(r["bandwidth_hz"], float)
        self.fm = np.asarray(r["f_max_hz"], float)
        self.noise = instance.noise_psd_w_per_hz
        self._gains: dict[tuple[bytes, int], np.ndarray] = {}
        nan = np.full(instance.n_vehicles, np.nan)
        self.dl = np.asarray(instance.deadline_s, float) if problem.deadlines else nan
        self.eb = np.asarray(instance.energy_budget_j, float) if problem.energy_budgets else nan
        #: (block, RSU, point of its vehicles) on which that block changed nothing: the blocks
        #: are deterministic, so ``round_`` skips them there
        self._fixed: set[tuple[str, int, bytes]] = set()
        #: (RSU, point of its vehicles) where the alpha-move step found no move
        #: (``alpha_moves.rsu_moves`` skips it there)
        self.alpha_stuck: set[tuple[int, bytes]] = set()

    # ---- per-vehicle physics at RSU m (vectorised over the vehicles ``idx``)
    def gain(self, idx: np.ndarray, m: int) -> np.ndarray:
        """Gains of the vehicles ``idx`` to RSU ``m`` (cached per vehicle and RSU)."""
        key = (idx.tobytes(), m)
        if key not in self._gains:
            self._gains[key] = np.array([self.inst.link_gain(int(n), m) for n in idx])
        return self._gains[key]

    def comm(self, idx, m, p, b) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(T^com, E^com, communication cost) of vehicles ``idx`` at RSU ``m``."""
        rate = physics.uplink_rate(b, p, self.gain(idx, m), self.noise)
        t = self.bits[idx] / rate
        cost = physics.transmit_cost(self.w, p, self.bits[idx], rate, self.latency)
        return t, p * t, cost

    def compute(self, idx, m, alpha, fv, fr) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(compute time, vehicle compute energy, compute cost) of vehicles ``idx`` at ``m``."""
        psi, w = self.psi[idx], self.w
        tv, tr = psi / (fv * self.cdv[idx]), psi / (fr * self.cdr[m])
        ev, er = self.kv[idx] * fv**2 * psi / self.cdv[idx], self.kr[m] * fr**2 * psi / self.cdr[m]
        ra = self.ups - alpha
        cost = alpha * (w * tv + (1 - w) * ev) + ra * (w * tr + (1 - w) * er)
        return alpha * tv + ra * tr, alpha * ev, cost

    def rsu_state(self, pt: Point, idx: np.ndarray, m: int) -> tuple[float, bool]:
        """Cost of the vehicles ``idx`` at RSU ``m`` and whether their constraints hold."""
        with np.errstate(all="ignore"):
            tc, ec, cc = self.comm(idx, m, pt.p[idx], pt.b[idx])
            tk, ek, ck = self.compute(idx, m, pt.alpha[idx], pt.fv[idx], pt.fr[idx])
        cost = float(np.sum(cc) + np.sum(ck))
        ok = bool(np.all(np.isfinite([cost])))
        d, e = self.dl[idx], self.eb[idx]
        ok &= bool(np.all(np.isnan(d) | (tk + tc <= d * (1 + 1e-7))))
        ok &= bool(np.all(np.isnan(e) | (ek + ec <= e * (1 + 1e-7))))
        for x, tot in ((pt.b[idx], self.bw[m]), (pt.fr[idx], self.fm[m])):
            s = float(np.sum(x))
            ok &= s <= tot * (1 + 1e-10) and (self.problem.inequality or s >= tot * (1 - 1e-10))
        return cost, ok

    # ---- block I: (alpha, f) of RSU m, communication fixed
    def block1(
        self, pt: Point, idx: np.ndarray, m: int, relax: bool = True, keep_alpha: bool = False
    ) -> None:
        """Replace RSU ``m``'s (alpha, f) in ``pt`` by a better feasible one, if found (or by
        a feasible one when ``pt`` breaks a constraint there). ``relax=False`` skips the
        relaxation in alpha (alpha rounded at the current frequencies only);
        ``keep_alpha=True`` keeps ``pt``'s alpha and solves the frequencies only (the trials
        of the alpha-move step, ``alpha_moves``)."""
        k = len(idx)
        tc, ec, _ = self.comm(idx, m, pt.p[idx], pt.b[idx])
        dres, eres = self.dl[idx] - tc, self.eb[idx] - ec
        has_d, has_e = ~np.isnan(dres), ~np.isnan(eres)
        base_cost, base_ok = self.rsu_state(pt, idx, m)
        scale = max(abs(base_cost), 1e-12)
        lo = np.concatenate([np.ones(k), self.fmin[idx] / GHZ, np.full(k, F_RSU_FLOOR_HZ / GHZ)])
        hi = np.concatenate(
            [np.full(k, self.ups), self.fmax[idx] / GHZ, np.full(k, self.fm[m] / GHZ)]
        )

        psi, cdv, kv, cdr, kr, w = (
            self.psi[idx],
            self.cdv[idx],
            self.kv[idx],
            self.cdr[m],
            self.kr[m],
            self.w,
        )
        rows_d, rows_e = np.flatnonzero(has_d), np.flatnonzero(has_e)
        dl, eb = self.dl[idx][has_d], self.eb[idx][has_e]

        def parts(x):
            a, fv, fr = x[:k], x[k : 2 * k] * GHZ, x[2 * k :] * GHZ
            tv, tr = psi / (fv * cdv), psi / (fr * cdr)
            ev, er = kv * fv**2 * psi / cdv, kr * fr**2 * psi / cdr
            return a, fv, fr, tv, tr, ev, er

        def obj(x):
            a, fv, fr, tv, tr, ev, er = parts(x)
            lv, lr = w * tv + (1 - w) * ev, w * tr + (1 - w) * er
            val = np.sum(a * lv + (self.ups - a) * lr) / scale
            g = (
                np.concatenate(
                    [
                        lv - lr,
                        a * (-w * tv / fv + 2 * (1 - w) * ev / fv) * GHZ,
                        (self.ups - a) * (-w * tr / fr + 2 * (1 - w) * er / fr) * GHZ,
                    ]
                )
                / scale
            )
            return float(val), g

        def cons(x):
            a, fv, fr, tv, tr, ev, er = parts(x)
            t = a * tv + (self.ups - a) * tr
            return np.concatenate([(dres[has_d] - t[has_d]) / dl, (eres - a * ev)[has_e] / eb])

        def cons_jac(x):
            a, fv, fr, tv, tr, ev, er = parts(x)
            jac = np.zeros((len(rows_d) + len(rows_e), 3 * k))
            r = np.arange(len(rows_d))
            jac[r, rows_d] = -(tv - tr)[rows_d] / dl
            jac[r, k + rows_d] = (a * tv / fv)[rows_d] * GHZ / dl
            jac[r, 2 * k + rows_d] = ((self.ups - a) * tr / fr)[rows_d] * GHZ / dl
            r = len(rows_d) + np.arange(len(rows_e))
            jac[r, rows_e] = -ev[rows_e] / eb
            jac[r, k + rows_e] = -(2 * a * ev / fv)[rows_e] * GHZ / eb
            return jac

        fm_g = self.fm[m] / GHZ
        bud_jac = np.concatenate([np.zeros(2 * k), -np.ones(k) / fm_g])[None, :]

        def solve(x0, alpha):
            free = slice(0, 3 * k) if alpha is None else slice(k, 3 * k)

            def full(y):
                return y if alpha is None else np.concatenate([alpha, y])

            kind = "ineq" if self.problem.inequality else "eq"
            c = [
                {
                    "type": kind,
                    "fun": lambda y: np.array([(fm_g - np.sum(y[-k:])) / fm_g]),
                    "jac": lambda y: bud_jac[:, free],
                }
            ]
            if has_d.any() or has_e.any():
                c.append(
                    {
                        "type": "ineq",
                        "fun": lambda y: cons(full(y)),
                        "jac": lambda y: cons_jac(full(y))[:, free],
                    }
                )
            y0 = np.clip(x0, lo, hi)[free]

            def f(y):
                val, g = obj(full(y))
                return val, g[free]

            y = slsqp(f, y0, lo[free], hi[free], c, maxiter=200)
            return np.clip(full(y), lo, hi)

        x0 = np.concatenate([pt.alpha[idx], pt.fv[idx] / GHZ, pt.fr[idx] / GHZ])
        cands = [solve(x0, pt.alpha[idx].copy())] if keep_alpha else []
        for xr in () if keep_alpha else (solve(x0, None), x0) if relax else (x0,):
            alpha = self.round_alpha(idx, m, xr, dres, eres, pt.alpha[idx])
            cands.append(solve(np.concatenate([alpha, xr[k:]]), alpha))
        for x in cands:
            trial = pt.copy()
            trial.alpha[idx], trial.fv[idx], trial.fr[idx] = (
                x[:k],
                x[k : 2 * k] * GHZ,
                x[2 * k :] * GHZ,
            )
            if not self.problem.inequality:  # exact sum
                trial.fr[idx] *= self.fm[m] / np.sum(trial.fr[idx])
            cost, ok = self.rsu_state(trial, idx, m)
            if ok and (cost <= base_cost or not base_ok):
                base_ok = True
                pt.alpha[idx], pt.fv[idx], pt.fr[idx] = (
                    trial.alpha[idx],
                    trial.fv[idx],
                    trial.fr[idx],
                )
                base_cost = cost

    def round_alpha(self, idx, m, x, dres, eres, prev) -> np.ndarray:
        """Best integer alpha per vehicle at the frequencies of ``x``, within the interval the
        deadline and energy budget leave (linear in alpha); ``prev`` where it is empty."""
        k = len(idx)
        fv, fr = x[k : 2 * k] * GHZ, x[2 * k :] * GHZ
        t1, e1, c1 = self.compute(idx, m, np.ones(k), fv, fr)
        t0, e0, c0 = self.compute(idx, m, np.zeros(k), fv, fr)
        lo, hi = np.ones(k), np.full(k, self.ups)
        with np.errstate(all="ignore"):
            for slope, const, lim in (
                (t1 - t0, t0, dres * (1 - MARGIN)),
                (e1 - e0, e0, eres * (1 - MARGIN)),
            ):
                has = ~np.isnan(lim)
                bound = (lim - const) / slope
                up = has & (slope > 0)
                dn = has & (slope < 0)
                hi[up] = np.minimum(hi[up], np.floor(bound[up] + 1e-9))
                lo[dn] = np.maximum(lo[dn], np.ceil(bound[dn] - 1e-9))
                bad = has & (slope == 0) & (const > lim)
                lo[bad], hi[bad] = 2, 1
        slope_c = c1 - c0
        alpha = np.where(slope_c > 0, lo, hi)
        return np.where(lo <= hi, alpha, prev)

    # ---- block II: (p, b) of RSU m, compute fixed
    def block2(self, pt: Point, idx: np.ndarray, m: int) -> None:
        """Replace RSU ``m``'s (p, b) in ``pt`` by a better feasible one, if found."""
        k = len(idx)
        tk, ek, _ = self.compute(idx, m, pt.alpha[idx], pt.fv[idx], pt.fr[idx])
        dres, eres = self.dl[idx] - tk, self.eb[idx] - ek
        has_d, has_e = ~np.isnan(dres), ~np.isnan(eres)
        base_cost, base_ok = self.rsu_state(pt, idx, m)
        scale = max(abs(base_cost), 1e-12)
        pmax = self.pmax[idx]
        lo = np.concatenate([self.pmin[idx] / pmax, np.full(k, B_FLOOR_HZ / MHZ)])
        hi = np.concatenate([np.ones(k), np.full(k, self.bw[m] / MHZ)])

        g_n, bits, w = self.gain(idx, m), self.bits[idx], self.w
        lat = w if self.latency else 0.0
        rows_d, rows_e = np.flatnonzero(has_d), np.flatnonzero(has_e)
        dl, eb = self.dl[idx][has_d], self.eb[idx][has_e]
        ln2 = np.log(2.0)

        def parts(x):
            p, b = x[:k] * pmax, x[k:] * MHZ
            z = g_n * p / (self.noise * b)
            r = b * np.log1p(z) / ln2
            dr_dp = g_n / (self.noise * ln2 * (1 + z)) * pmax
            dr_db = (np.log1p(z) - z / (1 + z)) / ln2 * MHZ
            return p, r, dr_dp, dr_db

        def obj(x):
            p, r, dr_dp, dr_db = parts(x)
            num = (1 - w) * p + lat
            val = np.sum(num * bits / r) / scale
            g = (
                np.concatenate(
                    [
                        ((1 - w) * pmax * bits / r - num * bits / r**2 * dr_dp),
                        -num * bits / r**2 * dr_db,
                    ]
                )
                / scale
            )
            return float(val), g

        def cons(x):
            p, r, _, _ = parts(x)
            t = bits / r
            return np.concatenate(
                [(dres[has_d] - t[has_d]) / dl, (eres[has_e] - (p * t)[has_e]) / eb]
            )

        def cons_jac(x):
            p, r, dr_dp, dr_db = parts(x)
            jac = np.zeros((len(rows_d) + len(rows_e), 2 * k))
            q = bits / r**2
            i = np.arange(len(rows_d))
            jac[i, rows_d] = (q * dr_dp)[rows_d] / dl
            jac[i, k + rows_d] = (q * dr_db)[rows_d] / dl
            i = len(rows_d) + np.arange(len(rows_e))
            jac[i, rows_e] = -(pmax * bits / r - p * q * dr_dp)[rows_e] / eb
            jac[i, k + rows_e] = (p * q * dr_db)[rows_e] / eb
            return jac

        bw_m = self.bw[m] / MHZ
        bud_jac = np.concatenate([np.zeros(k), -np.ones(k) / bw_m])[None, :]
        kind = "ineq" if self.problem.inequality else "eq"
        c = [
            {
                "type": kind,
                "fun": lambda x: np.array([(bw_m - np.sum(x[k:])) / bw_m]),
                "jac": lambda x: bud_jac,
            }
        ]
        if has_d.any() or has_e.any():
            c.append({"type": "ineq", "fun": cons, "jac": cons_jac})
        x0 = np.concatenate([pt.p[idx] / pmax, pt.b[idx] / MHZ])
        x = slsqp(obj, x0, lo, hi, c, maxiter=200)
        trial = pt.copy()
        trial.p[idx], trial.b[idx] = x[:k] * pmax, x[k:] * MHZ
        if not self.problem.inequality:
            trial.b[idx] *= self.bw[m] / np.sum(trial.b[idx])
        cost, ok = self.rsu_state(trial, idx, m)
        if ok and (cost <= base_cost or not base_ok):
            pt.p[idx], pt.b[idx] = trial.p[idx], trial.b[idx]

    # ---- whole-point helpers
    def members(self, pt: Point) -> dict[int, np.ndarray]:
        """RSU -> the vehicles it serves at ``pt``."""
        return {int(m): np.flatnonzero(pt.assoc == m) for m in np.unique(pt.assoc)}

    def total(self, pt: Point) -> float:
        """Objective at ``pt``."""
        return sum(self.rsu_state(pt, idx, m)[0] for m, idx in self.members(pt).items())

    def round_(self, pt: Point, rsus: Any = None, deadline: Any = None) -> None:
        """One AO round (block I then block II) on the RSUs ``rsus`` (default all).

        A block is skipped on an RSU whose vehicles sit exactly where that block last left
        them unchanged (it would change nothing again: e.g. a second round after a block
        converged, or an RSU whose constraints no block can repair). ``deadline``: checked
        before each block of each RSU (a round at N = 200 takes seconds; every block keeps
        the point feasible, so a round cut short is a valid point)."""
        groups = self.members(pt)
        for name, block in (("I", self.block1), ("II", self.block2)):
            for m in groups if rsus is None else rsus:
                if deadline is not None and deadline.expired():
                    return
                if m in groups:
                    idx = groups[m]
                    key = (name, int(m), self._key(pt, idx))
                    if key in self._fixed:
                        continue
                    block(pt, idx, m)
                    if self._key(pt, idx) == key[2]:
                        self._fixed.add(key)

    @staticmethod
    def _key(pt: Point, idx: np.ndarray) -> bytes:
        """The exact point of the vehicles ``idx`` (all their variables), as bytes."""
        return idx.tobytes() + b"".join(
            x[idx].tobytes() for x in (pt.alpha, pt.fv, pt.fr, pt.p, pt.b)
        )
