"""Sub-problem II (40) by fractional programming: Theorem 1 and Jong's method, eqs. (41)-(46).

Vehicle n's communication cost is the ratio N_n(p)/r_n(p, b) with N_n = S_n (omega_e p_n +
omega_t [latency]) affine and r_n jointly concave (Lemma 1). Jong (2012), Lemma 2.1: if
(p*, b*) minimises sum_n N_n/r_n, there are beta_n = N_n/r_n (44) and nu_n = 1/r_n (45) such
that (p*, b*) minimises the convex problem (46) sum_n nu_n (N_n - beta_n r_n). Conversely, a
point where (46)'s solution satisfies (44)-(45) is a global optimum.

Outer loop (Jong's algorithm): the residuals phi1_n = -N_n + beta_n r_n, phi2_n = -1 + nu_n r_n
at the inner solution x(beta, nu) are driven to zero by the modified Newton step
d = (N_n/r_n - beta_n, 1/r_n - nu_n), damped as in Jong: the step length is lambda^j for the
smallest j with ||phi(new)|| <= (1 - eps lambda^j) ||phi(old)||. Inner loop: the Pyomo model (46)
(``build_subproblem2_parametric``, beta and nu mutable Params) solved by the NLP backend.
Residuals are measured per bit and relative (phi1/N, phi2), so the tolerance is unit-free.

Before that loop, ``solve`` takes a safeguarded Newton-type step (``_newton_step``, on by
default): IPOPT on (40) itself, whose stationary points are the roots of Jong's phi, then one
inner solve of (46) to measure phi there. When it passes the test, no damped iteration runs
(docs/algorithms.md, section 3).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyomo.environ as pyo

from llmv2x.errors import SolveError
from llmv2x.instances.schema import Instance
from llmv2x.models import physics
from llmv2x.models.allocation import Allocation
from llmv2x.models.constants import HZ_PER_MHZ
from llmv2x.models.evaluator import rates
from llmv2x.models.projection import project
from llmv2x.models.subproblem2 import (
    build_subproblem2,
    build_subproblem2_parametric,
    numerator_per_bit,
)
from llmv2x.settings import SolveSettings
from llmv2x.solvers.comm import best_power
from llmv2x.solvers.deadline import Deadline, no_deadline

#: Residual of (44)-(45) (relative) under which the Newton-type step's point is accepted, the
#: same test as after the polish: IPOPT's tol 1e-10 on two solves leaves residuals ~1e-8.
NEWTON_TOL = 1e-6


class _OutOfTime(Exception):
    """The solve's deadline stops the outer loop (caught in ``FractionalSolver.solve``)."""


@dataclass
class FractionalResult:
    """(p, b) found by the fractional method and the outer loop's trace."""

    p_w: np.ndarray
    b_hz: np.ndarray
    objective: float
    residual: float
    iterations: int
    inner_solves: int
    status: str
    history: pd.DataFrame = field(repr=False)
    time_s: float = 0.0


def _ratio_parts(
    instance: Instance, settings: SolveSettings, p_w: np.ndarray, b_hz: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(N_n / S_n, r_n / S_n): per-bit numerator and rate of every vehicle."""
    num = numerator_per_bit(settings, np.asarray(p_w, float))
    num = np.broadcast_to(num, (instance.n_vehicles,)).astype(float)
    return num, rates(instance, p_w, b_hz) / instance.bits


def residual_vector(
    num: np.ndarray, rate: np.ndarray, beta: np.ndarray, nu: np.ndarray
) -> np.ndarray:
    """(phi1, phi2) of Jong's residual equations, per bit: phi1_n = -N_n + beta_n r_n (44),
    phi2_n = -1 + nu_n r_n (45) (``beta`` and ``nu`` per bit, so both are dimension-free up
    to the constant S_n). Jong's damping test uses the Euclidean norm of this vector."""
    return np.concatenate([-num + beta * rate, -1.0 + nu * rate])


def relative_residual(num: np.ndarray, rate: np.ndarray, beta: np.ndarray, nu: np.ndarray) -> float:
    """max over n of |phi1_n| / N_n and |phi2_n|: the stopping test, free of units."""
    active = num > 0
    phi1 = np.abs(-num + beta * rate)[active] / num[active]
    phi2 = np.abs(-1.0 + nu * rate)[active]
    return float(max(np.max(phi1, initial=0.0), np.max(phi2, initial=0.0)))


class FractionalSolver:
    """Jong's method on one instance; the Pyomo model (46) is built once (on first use) and
    reused.

    ``deadline`` (default: none) is the whole solve's: every NLP call gets the time left,
    an NLP call is not started when the previous one took longer than the time left (its
    model writing cannot be interrupted), and the outer loop stops once it has passed.
    """

    def __init__(
        self,
        instance: Instance,
        settings: SolveSettings,
        nlp_backend: Any,
        deadline: Deadline | None = None,
    ) -> None:
        self.instance = instance
        self.settings = settings
        self.backend = nlp_backend
        self.deadline = deadline or no_deadline()
        self._model: pyo.ConcreteModel | None = None
        self.ratio_model: pyo.ConcreteModel | None = None
        self.inner_solves = 0
        self.last_call_s = 0.0
        self.nlp_options = {"tol": 1e-10, **settings.options.get("nlp_options", {})}

    @property
    def model(self) -> pyo.ConcreteModel:
        """The parametric model (46), built on first use."""
        if self._model is None:
            t = time.perf_counter()
            self._model = build_subproblem2_parametric(self.instance, self.settings)
            # until a call has been timed, guess its cost: translating the model for IPOPT
            # walks the same expressions as building it, about twice over (measured on large)
            self.last_call_s = max(self.last_call_s, 2.0 * (time.perf_counter() - t))
        return self._model

    def _call(self, model: pyo.ConcreteModel, options: dict[str, Any]) -> Any:
        """One NLP solve within the deadline; _OutOfTime when it does not fit or was cut."""
        dl = self.deadline
        if dl.limited and (dl.expired() or not dl.affords(self.last_call_s)):
            raise _OutOfTime
        t = time.perf_counter()
        out = self.backend.solve(
            model, time_limit=dl.budget(), options=options, tee=self.settings.verbose
        )
        self.last_call_s = time.perf_counter() - t
        if dl.limited and out.status == "time_limit":
            dl.hit = True
            raise _OutOfTime
        return out

    def polish(self, p: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        """A local NLP solve of (40) itself from (p, b); None if the backend gives no point."""
        inst = self.instance
        if self.deadline.expired():
            raise _OutOfTime
        if self.ratio_model is None:
            self.ratio_model = build_subproblem2(inst, self.settings)
        m = self.ratio_model
        for n in range(inst.n_vehicles):
            m.p_w[n].set_value(float(p[n]), skip_validation=True)
            m.b_mhz[n].set_value(float(b[n]) / HZ_PER_MHZ, skip_validation=True)
        out = self._call(m, {"max_iter": 500, **self.nlp_options})
        if not out.has_point:
            return None
        p_new = np.array([pyo.value(m.p_w[n]) for n in range(inst.n_vehicles)])
        b_new = np.array([pyo.value(m.b_mhz[n]) for n in range(inst.n_vehicles)]) * HZ_PER_MHZ
        return p_new, b_new

    def _inner(
        self, beta: np.ndarray, nu: np.ndarray, prev: tuple[np.ndarray, np.ndarray], rho: float
    ) -> tuple[np.ndarray, np.ndarray]:
        if self.deadline.expired():
            raise _OutOfTime
        m, inst = self.model, self.instance
        m.rho = float(rho)
        for n in range(inst.n_vehicles):
            m.beta[n] = float(beta[n])
            m.nu[n] = float(nu[n])
            m.p_prev[n] = float(prev[0][n])
            m.b_prev[n] = float(prev[1][n]) / HZ_PER_MHZ
            m.p_w[n].set_value(float(prev[0][n]), skip_validation=True)
            m.b_mhz[n].set_value(float(prev[1][n]) / HZ_PER_MHZ, skip_validation=True)
        out = self._call(m, self.nlp_options)
        self.inner_solves += 1
        if not out.has_point:
            raise SolveError(f"fractional: inner problem (46) failed: {out.message}")
        p = np.array([pyo.value(m.p_w[n]) for n in range(inst.n_vehicles)])
        b = np.array([pyo.value(m.b_mhz[n]) for n in range(inst.n_vehicles)]) * HZ_PER_MHZ
        return p, b

    def _newton_step(
        self,
        p: np.ndarray,
        b: np.ndarray,
        start: Allocation,
        rho: float,
        comm: Any,
    ) -> tuple[np.ndarray, np.ndarray, float]:
        """(p, b, relative residual) after one Newton-type step from (p, b).

        IPOPT on (40) from (p*(b), b) is Newton's method on (40)'s stationarity system; at its
        root, beta = N/r and nu = 1/r (44)-(45) make the same point stationary for (46), so it
        is the candidate root of Jong's phi. One inner solve of (46) at those beta, nu
        measures phi there (Theorem 1: phi = 0 certifies a global optimum of (40)). Safeguard:
        a point that raises sum N/r, or no point, leaves (p, b) unchanged (residual nan).
        """
        inst, st = self.instance, self.settings
        # IPOPT starts from the power that minimises each vehicle's ratio for its current b
        # (a one-variable closed form): from p midway in its bounds it took 239 iterations
        # on `large`, from there 9
        polished = self.polish(best_power(inst, st, b), b)
        if polished is None:
            return p, b, np.nan
        p2, b2 = self._project(*polished, start)
        if comm(p2, b2) > comm(p, b):
            return p, b, np.nan
        num, rate = _ratio_parts(inst, st, p2, b2)
        beta, nu = num / rate, 1.0 / rate
        p_c, b_c = self._inner(beta, nu, (p2, b2), rho)
        num_c, rate_c = _ratio_parts(inst, st, p_c, b_c)
        return p2, b2, relative_residual(num_c, rate_c, beta, nu)

    def _project(self, p: np.ndarray, b: np.ndarray, start: Allocation) -> tuple[np.ndarray, ...]:
        """Clip p, rescale each RSU's bandwidth shares so (10c) holds to float precision."""
        alloc, _ = project(self.instance, start.replace(p_w=p, b_hz=b))
        return alloc.p_w, alloc.b_hz

    def solve(
        self,
        start: Allocation,
        *,
        tol: float = 1e-9,
        max_iter: int = 50,
        shrink: float = 0.5,
        eps: float = 0.1,
        max_backtracks: int = 8,
        prox: float | None = None,
        update: str = "linesearch",
        polish: bool = True,
        newton: bool = True,
    ) -> FractionalResult:
        """Run the outer loop from ``start``'s (p, b).

        Parameters
        ----------
        start : current allocation; its p and b give the first beta (44) and nu (45).
        tol : stop when the relative residual of (44)-(45) is below this.
        shrink, eps : Jong's damping constants lambda and epsilon (both in (0, 1)).
        max_backtracks : most step halvings per outer iteration.
        prox : weight of the proximal term of the inner model (default 1e-4 for ``latency``,
            whose inner problem is degenerate; 0 for ``paper``).
        update : ``linesearch`` (default: beta, nu from (44)-(45) at a point found by an Armijo
            search on sum N/r towards the inner solution) or ``jong`` (Jong's damped step on
            beta, nu with his test on ||phi||).
        polish : if the loop has not converged after ``max_iter``, finish with a local NLP
            solve of (40) and re-check the residuals of (44)-(45) there.
        newton : first take the safeguarded Newton-type step (``_newton_step``); when its
            point passes the test of (44)-(45) (relative residual <= max(tol, 1e-6)) no damped
            iteration is needed, otherwise the ``update`` loop goes on from the better point.

        Status ``time_limit`` when the solver's deadline stopped the loop; (p, b) is then
        the last point the loop accepted (no NLP point cut short by the limit is used).
        """
        t0 = time.perf_counter()
        inst, st = self.instance, self.settings
        p, b = np.array(start.p_w, float), np.array(start.b_hz, float)
        rows: list[dict[str, float]] = []

        def comm(p_: np.ndarray, b_: np.ndarray) -> float:
            return float(
                np.sum(
                    physics.transmit_cost(
                        st.omega_t, p_, inst.bits, rates(inst, p_, b_), st.latency
                    )
                )
            )

        num, rate = _ratio_parts(inst, st, p, b)
        if not np.any(num > 0):
            # omega_e = 0 under `paper`: every (p, b) costs nothing. Keep the start's b and
            # break the tie in p towards p_min, the least transmit energy (and the p that
            # every other omega_t gives under `paper`)
            p = np.array(inst.vehicle["p_min_w"], float)
            return FractionalResult(p, b, 0.0, 0.0, 0, 0, "converged", pd.DataFrame(), 0.0)
        if prox is None:
            prox = 1e-4 if st.latency else 0.0
        beta, nu = num / rate, 1.0 / rate
        rho = prox * float(np.mean(nu * num))
        f = comm(p, b)
        status = "iteration_limit"
        it = 0
        res = np.nan
        try:
            if newton:
                # safeguarded Newton-type step (docs/algorithms.md): a local solve of (40),
                # i.e. Newton's method on the stationarity system whose root is the root of
                # Jong's phi, then one inner solve of (46) at beta, nu of its point to check
                # phi = 0 there; kept only if it does not raise sum N/r
                p, b, res = self._newton_step(p, b, start, rho, comm)
                # the same columns as the damped loop's rows; its point is IPOPT's on (40),
                # i.e. a polish
                rows.append(
                    {
                        "iteration": 0,
                        "objective": comm(p, b),
                        "residual": res,
                        "step": np.nan,
                        "polish": True,
                        "newton": True,
                    }
                )
                if res <= max(tol, NEWTON_TOL):
                    status = "converged"
                else:
                    num, rate = _ratio_parts(inst, st, p, b)
                    beta, nu, f = num / rate, 1.0 / rate, comm(p, b)
            if status != "converged":
                if update == "jong":
                    p, b = self._inner(beta, nu, (p, b), rho)
                    num, rate = _ratio_parts(inst, st, p, b)
                    norm = float(np.linalg.norm(residual_vector(num, rate, beta, nu)))
                    res = relative_residual(num, rate, beta, nu)
                for it in range(1, max_iter + 1):
                    if update == "jong":
                        # Jong's damped modified Newton step on (beta, nu); the test is on ||phi||
                        rows.append({"iteration": it, "objective": comm(p, b), "residual": res})
                        if res <= tol:
                            status = "converged"
                            break
                        d_beta, d_nu = num / rate - beta, 1.0 / rate - nu
                        lam = 1.0
                        for _ in range(max_backtracks + 1):
                            beta_t, nu_t = beta + lam * d_beta, nu + lam * d_nu
                            p_t, b_t = self._inner(beta_t, nu_t, (p, b), rho)
                            num_t, rate_t = _ratio_parts(inst, st, p_t, b_t)
                            norm_t = float(
                                np.linalg.norm(residual_vector(num_t, rate_t, beta_t, nu_t))
                            )
                            if norm_t <= (1.0 - eps * lam) * norm:
                                break
                            lam *= shrink
                        rows[-1]["step"] = lam
                        beta, nu, p, b, num, rate, norm = (
                            beta_t,
                            nu_t,
                            p_t,
                            b_t,
                            num_t,
                            rate_t,
                            norm_t,
                        )
                        res = relative_residual(num, rate, beta, nu)
                        continue
                    # default: beta, nu from (44)-(45) at the current point; inner solve of
                    # (46); the step towards the inner solution is damped by an Armijo
                    # search on sum N_n/r_n
                    p_new, b_new = self._inner(beta, nu, (p, b), rho)
                    num_new, rate_new = _ratio_parts(inst, st, p_new, b_new)
                    res = relative_residual(num_new, rate_new, beta, nu)
                    rows.append({"iteration": it, "objective": f, "residual": res})
                    if res <= tol:
                        p, b, f = p_new, b_new, comm(p_new, b_new)
                        status = "converged"
                        rows[-1]["step"] = 1.0
                        break
                    lam = 1.0
                    for _ in range(max_backtracks + 1):
                        p_t, b_t = p + lam * (p_new - p), b + lam * (b_new - b)
                        f_t = comm(p_t, b_t)
                        if f_t <= f:
                            break
                        lam *= shrink
                    else:
                        status = "stalled"
                        break
                    rows[-1]["step"] = lam
                    p, b, f = p_t, b_t, f_t
                    num, rate = _ratio_parts(inst, st, p, b)
                    beta, nu = num / rate, 1.0 / rate
        except _OutOfTime:
            # the deadline: (p, b) is the last accepted point, a feasible one
            status = "time_limit"
        p, b = self._project(p, b, start)
        if polish and status not in ("converged", "time_limit"):
            try:
                # Jong's loop converges only linearly here (docs/algorithms.md); finish with a
                # local solve of (40) from its point and keep whichever point is better
                polished = self.polish(p, b)
                if polished is not None:
                    p2, b2 = self._project(*polished, start)
                    f2 = comm(p2, b2)
                    if f2 <= comm(p, b):
                        p, b = p2, b2
                        rows.append(
                            {
                                "iteration": it + 1,
                                "objective": f2,
                                "residual": np.nan,
                                "step": np.nan,
                                "polish": True,
                            }
                        )
                # Jong's residuals at the final point: beta, nu from it, one more inner solve
                num, rate = _ratio_parts(inst, st, p, b)
                beta, nu = num / rate, 1.0 / rate
                p_c, b_c = self._inner(beta, nu, (p, b), rho)
                num_c, rate_c = _ratio_parts(inst, st, p_c, b_c)
                res = relative_residual(num_c, rate_c, beta, nu)
                status = "converged" if res <= max(tol, 1e-6) else "polished"
            except _OutOfTime:
                status = "time_limit"
        return FractionalResult(
            p_w=p,
            b_hz=b,
            objective=comm(p, b),
            residual=res,
            iterations=it,
            inner_solves=self.inner_solves,
            status=status,
            history=pd.DataFrame(rows),
            time_s=time.perf_counter() - t0,
        )
