"""Sub-problem I (11) by sequential quadratic programming, eqs. (12)-(39).

The relaxed sub-problem I has variables x = (alpha, f^V in GHz, f^R in GHz), 3N of them,
a nonconvex objective F (11), box bounds (11a), (10d), the RSU frequency floor, and one
linear equality (10e) per served RSU. All constraints are linear, so their linearisations
(35a)-(35d) are exact, every iterate stays feasible and the l1 merit function reduces to F.

Each iteration builds the QP (35) from the gradient (14)-(16) and the Hessian (21)-(34),
solves it with the QP backend (a persistent session: only H, g and the bounds change), and
globalises with a box trust region on the step d. Departures from the paper's text (see
docs/algorithms.md):

* the Hessian is indefinite (the alpha-f products); each vehicle's 3x3 block is made positive
  definite by eigenvalue modification (|lambda|, floored at delta) and checked by a Cholesky
  factorisation before every QP solve (HiGHS only checks the diagonal's signs);
* the step is accepted or refused by the ratio of actual to predicted decrease, and the
  radius adapted; the new multipliers are the QP's duals (not x + d as (37)-(39) write);
* termination on a scaled KKT residual or a step below tolerance.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from llmv2x.instances.schema import Instance
from llmv2x.models import physics
from llmv2x.models.constants import F_RSU_FLOOR_HZ, HZ_PER_GHZ
from llmv2x.settings import SolveSettings
from llmv2x.solvers.deadline import Deadline, no_deadline
from llmv2x.solvers.qp import QPOutcome
from llmv2x.solvers.sqp_qp import (
    QP_DROP_ABS,
    SeparableQP,
    _scaled,
    check_positive_definite,
    clean_blocks,
    convexify,
)

__all__ = [
    "QP_DROP_ABS",
    "SQPResult",
    "SeparableQP",
    "SubproblemIData",
    "check_positive_definite",
    "clean_blocks",
    "convexify",
    "kkt_residual",
    "multiplier_estimate",
    "solve_sqp",
]


@dataclass(frozen=True)
class SubproblemIData:
    """Vectors of sub-problem I in the SQP's variable order x = (alpha, f^V GHz, f^R GHz)."""

    n: int
    layers: int
    omega_t: float
    psi: np.ndarray
    veh: tuple[np.ndarray, np.ndarray, np.ndarray]  # kappa, cores, flops/cycle
    rsu: tuple[np.ndarray, np.ndarray, np.ndarray]  # per vehicle, at its RSU
    lb: np.ndarray
    ub: np.ndarray
    A: sp.csr_matrix
    b: np.ndarray

    @classmethod
    def build(cls, instance: Instance, settings: SolveSettings) -> SubproblemIData:
        """Collect the data of (11), (11a), (10d), (10e) for ``instance``."""
        n = instance.n_vehicles
        v = instance.vehicle
        fr_max = instance.rsu_of("f_max_hz")
        lb = np.concatenate(
            [np.ones(n), v["f_min_hz"] / HZ_PER_GHZ, np.full(n, F_RSU_FLOOR_HZ / HZ_PER_GHZ)]
        )
        ub = np.concatenate(
            [np.full(n, float(instance.layers)), v["f_max_hz"] / HZ_PER_GHZ, fr_max / HZ_PER_GHZ]
        )
        served = list(instance.served_rsus)
        row_of = {m: i for i, m in enumerate(served)}
        rows = np.array([row_of[int(a)] for a in instance.association])
        A = sp.csr_matrix((np.ones(n), (rows, 2 * n + np.arange(n))), shape=(len(served), 3 * n))
        b = np.array([instance.rsu["f_max_hz"][m] / HZ_PER_GHZ for m in served])
        return cls(
            n=n,
            layers=instance.layers,
            omega_t=settings.omega_t,
            psi=np.asarray(instance.psi, float),
            veh=(v["kappa"], v["gpu_cores"].astype(float), v["flops_per_cycle"]),
            rsu=(
                instance.rsu_of("kappa"),
                instance.rsu_of("gpu_cores").astype(float),
                instance.rsu_of("flops_per_cycle"),
            ),
            lb=lb,
            ub=ub,
            A=A,
            b=b,
        )

    def restore(self, x: np.ndarray) -> np.ndarray:
        """Clip x to its bounds and put each RSU's frequency shares back on their sum (10e).

        A residual is spread over the shares in proportion to their room to the bound it
        moves towards, so bounds stay satisfied.
        """
        x = np.clip(np.asarray(x, float), self.lb, self.ub)
        n = self.n
        fr, lo, hi = x[2 * n :], self.lb[2 * n :], self.ub[2 * n :]
        row_of = self._row_of_vehicle
        for _ in range(3):
            resid = self.b - np.bincount(row_of, weights=fr, minlength=len(self.b))
            room = np.where(resid[row_of] > 0, hi - fr, fr - lo)
            total = np.bincount(row_of, weights=room, minlength=len(self.b))
            share = np.divide(room, total[row_of], out=np.zeros(n), where=total[row_of] > 0)
            fr = np.clip(fr + resid[row_of] * share, lo, hi)
        x[2 * n :] = fr
        return x

    @cached_property
    def _row_of_vehicle(self) -> np.ndarray:
        """Index of the (10e) row of each vehicle's RSU."""
        return self.A.tocsc()[:, 2 * self.n :].indices

    def split(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(alpha, f^V in Hz, f^R in Hz) from x."""
        n = self.n
        return x[:n], x[n : 2 * n] * HZ_PER_GHZ, x[2 * n :] * HZ_PER_GHZ

    def _terms(self, x: np.ndarray, fn: Any) -> tuple[np.ndarray, np.ndarray]:
        _, fv, fr = self.split(x)
        w = self.omega_t
        return fn(w, self.psi, fv, *self.veh), fn(w, self.psi, fr, *self.rsu)

    def objective(self, x: np.ndarray) -> float:
        """F(alpha, f^V, f^R) of eq. (11)."""
        a = x[: self.n]
        cv, cr = self._terms(x, physics.layer_cost)
        return float(np.sum(a * cv + (self.layers - a) * cr))

    def gradient(self, x: np.ndarray) -> np.ndarray:
        """Gradient of F, eqs. (14)-(16) without the multiplier terms (GHz chain rule)."""
        a = x[: self.n]
        cv, cr = self._terms(x, physics.layer_cost)
        dv, dr = self._terms(x, physics.layer_cost_df)
        return np.concatenate([cv - cr, a * dv * HZ_PER_GHZ, (self.layers - a) * dr * HZ_PER_GHZ])

    def hessian_blocks(self, x: np.ndarray) -> np.ndarray:
        """Per-vehicle 3x3 blocks (alpha_n, f_n, f_nm) of the Hessian (34), eqs. (21)-(33).

        The constraints are linear, so the Hessian of the Lagrangian (12) is that of F.
        """
        a = x[: self.n]
        dv, dr = self._terms(x, physics.layer_cost_df)
        d2v, d2r = self._terms(x, physics.layer_cost_d2f)
        B = np.zeros((self.n, 3, 3))
        B[:, 0, 1] = B[:, 1, 0] = dv * HZ_PER_GHZ  # (22)
        B[:, 0, 2] = B[:, 2, 0] = -dr * HZ_PER_GHZ  # (23)
        B[:, 1, 1] = a * d2v * HZ_PER_GHZ**2  # (25)
        B[:, 2, 2] = (self.layers - a) * d2r * HZ_PER_GHZ**2  # (28)
        return B

    def assemble(self, blocks: np.ndarray) -> sp.csc_matrix:
        """The 3N x 3N sparse matrix of per-vehicle 3x3 blocks in x's variable order."""
        n = self.n
        idx = np.stack([np.arange(n), n + np.arange(n), 2 * n + np.arange(n)], axis=1)
        rows = np.repeat(idx, 3, axis=1).reshape(-1)
        cols = np.tile(idx, (1, 3)).reshape(-1)
        return sp.csc_matrix((blocks.reshape(-1), (rows, cols)), shape=(3 * n, 3 * n))


def multiplier_estimate(
    data: SubproblemIData, x: np.ndarray, grad: np.ndarray, y_fallback: np.ndarray
) -> np.ndarray:
    """Multipliers of (10e) from the gradient: the mean of dF/df_nm over RSU m's shares strictly
    inside their bounds (there the bound multiplier is zero and eq. (16) = 0 gives the
    multiplier; the paper's sigma_m is minus ours). Falls back to the QP's duals for an RSU
    with every share at a bound."""
    n = data.n
    row = data._row_of_vehicle
    fr, lo, hi = x[2 * n :], data.lb[2 * n :], data.ub[2 * n :]
    tol = 1e-9 * (hi - lo)
    inside = (fr > lo + tol) & (fr < hi - tol)
    k = len(data.b)
    cnt = np.bincount(row[inside], minlength=k)
    tot = np.bincount(row[inside], weights=grad[2 * n :][inside], minlength=k)
    return np.where(cnt > 0, tot / np.maximum(cnt, 1), y_fallback)


def kkt_residual(data: SubproblemIData, x: np.ndarray, grad: np.ndarray, y: np.ndarray) -> float:
    """Scaled natural KKT residual || x - clip(x - (grad - A'y), lb, ub) ||_inf / ||grad||_inf.

    Zero exactly at a KKT point of sub-problem I (stationarity with the equality multipliers
    y of (10e), sign conditions and complementarity of the bound multipliers).
    """
    z = grad - data.A.T @ y
    r = x - np.clip(x - z, data.lb, data.ub)
    return float(np.max(np.abs(r)) / max(float(np.max(np.abs(grad))), 1e-300))


def _quad(blocks: np.ndarray, u: np.ndarray, n: int) -> float:
    """u' H u for the block-diagonal Hessian given by per-vehicle 3x3 ``blocks``."""
    v = np.stack([u[:n], u[n : 2 * n], u[2 * n :]], axis=1)
    return float(np.einsum("ni,nij,nj->", v, blocks, v))


@dataclass
class SQPResult:
    """Relaxed optimum of sub-problem I and how the SQP got there."""

    x: np.ndarray
    objective: float
    multipliers: np.ndarray
    kkt: float
    iterations: int
    status: str
    history: pd.DataFrame = field(repr=False)
    time_s: float = 0.0


def solve_sqp(
    data: SubproblemIData,
    x0: np.ndarray,
    qp_backend: Any,
    *,
    max_iter: int = 200,
    kkt_tol: float = 1e-9,
    step_tol: float = 1e-12,
    radius0: float = 0.1,
    options: dict[str, Any] | None = None,
    deadline: Deadline | None = None,
) -> SQPResult:
    """Trust-region SQP on sub-problem I from ``x0`` (projected onto the constraints first).

    Parameters
    ----------
    data : the sub-problem's vectors (``SubproblemIData``).
    x0 : starting point in the SQP's variable order.
    qp_backend : a QP-role backend (``qp_session(A, b, options)``).
    max_iter, kkt_tol, step_tol : termination (iterations, scaled KKT residual, step size).
    radius0 : initial trust-region radius, as a fraction of each variable's range.
    options : QP backend options (``time_limit`` is then the limit of each QP).
    deadline : the solve's deadline; once it passes, the SQP stops at its current iterate
        (feasible) with status ``time_limit``, and no QP is given more than the time left.
    """
    t0 = time.perf_counter()
    deadline = deadline or no_deadline()
    x = np.clip(np.asarray(x0, float), data.lb, data.ub)
    x = data.restore(x)
    # steps satisfy A d = 0: iterates keep (10e) and restore() removes the QP's tolerance drift.
    # The QP is posed in u = d / span (every variable's range becomes 1): alpha spans 31
    # layers and a frequency about 1 GHz, and HiGHS's QP solver was seen to fail on the
    # unscaled steps.
    span = data.ub - data.lb
    n = data.n
    s_blk = np.stack([span[:n], span[n : 2 * n], span[2 * n :]], axis=1)
    s_outer = s_blk[:, :, None] * s_blk[:, None, :]
    session = SeparableQP(qp_backend, data, sp.csr_matrix(data.A @ sp.diags(span)), options or {})
    radius = radius0
    f = data.objective(x)
    y = np.zeros(data.A.shape[0])
    rows: list[dict[str, float]] = []
    status = "iteration_limit"
    kkt = np.inf
    it = 0
    for it in range(1, max_iter + 1):
        if deadline.expired():
            status = "time_limit"
            it -= 1
            break
        g = data.gradient(x)
        blocks, n_mod = convexify(data.hessian_blocks(x))
        blocks = blocks * s_outer
        gu = g * span
        # scaled so the gradient has unit size (at omega_t = 0 the objective is ~1e-4 and
        # HiGHS's absolute tolerances would swamp it); the step does not change, duals do
        qs = 1.0 / max(float(np.max(np.abs(gu))), 1e-300)
        blocks = clean_blocks(blocks * qs, QP_DROP_ABS)
        check_positive_definite(blocks)
        gs = np.where(np.abs(gu * qs) < 1e-13, 0.0, gu * qs)
        out = None
        for _attempt in range(5):
            lo = np.maximum((data.lb - x) / span, -radius)
            hi = np.minimum((data.ub - x) / span, radius)
            # bounds within round-off of zero are zero (HiGHS: "excessively small bounds")
            lo = np.where(lo > -1e-13, 0.0, np.minimum(lo, 0.0))
            hi = np.where(hi < 1e-13, 0.0, np.maximum(hi, 0.0))
            out = _scaled(session.solve_blocks(blocks, gs, lo, hi, deadline), qs)
            if out.ok or deadline.expired():
                break
            # a QP the backend could not solve (seen: HiGHS "Solve error" on a well-posed
            # convex QP): retry on a smaller trust region, where the model is easier
            radius *= 0.25
        if not out.ok:
            # the iterate is feasible: stop here and say why, the caller decides what to do
            status = "time_limit" if deadline.expired() else f"qp_{out.status}"
            break
        u = out.x
        pred = -(gs @ u + 0.5 * _quad(blocks, u, n)) / qs
        out = QPOutcome(out.status, u * span, out.y, out.z / span, out.message)
        d = out.x
        y_qp = multiplier_estimate(data, x, g, out.y)
        kkt = kkt_residual(data, x, g, y_qp)
        x_new = data.restore(x + d)
        f_new = data.objective(x_new)
        ared = f - f_new
        rho = ared / pred if pred > 0 else (1.0 if abs(ared) <= 1e-15 * max(1, abs(f)) else -1.0)
        step = float(np.max(np.abs(u)))
        rows.append(
            {
                "iteration": it,
                "objective": f,
                "step_norm": step,
                "kkt_residual": kkt,
                "radius": radius,
                "ratio": rho,
                "hessian_blocks_modified": n_mod,
                "accepted": bool(rho > 1e-4),
            }
        )
        if kkt <= kkt_tol:
            y = y_qp
            status = "converged"
            break
        tiny = 1e-13 * max(1.0, abs(f))
        if pred <= tiny:
            # round-off level: the model predicts no decrease; take the step if it does not
            # hurt (it still reduces the KKT residual) and stop once it is negligible
            if ared >= -tiny:
                x, f, y = x_new, f_new, y_qp
                rows[-1]["accepted"] = True
            if step <= 1e-10 or not ared >= -tiny:
                status = "converged" if kkt <= 1e-6 else "stalled"
                break
            continue
        if rho > 1e-4:
            x, f, y = x_new, f_new, y_qp
        if rho < 0.25:
            radius = 0.25 * min(radius, max(step, 1e-16))
        elif rho > 0.75 and step >= 0.99 * radius:
            radius = min(2.0 * radius, 1.0)
        if step <= step_tol or radius <= step_tol:
            status = "converged" if kkt <= 1e-6 else "small_step"
            break
    g = data.gradient(x)
    y = multiplier_estimate(data, x, g, y)
    return SQPResult(
        x=x,
        objective=f,
        multipliers=y,
        kkt=kkt_residual(data, x, g, y),
        iterations=it,
        status=status,
        history=pd.DataFrame(rows),
        time_s=time.perf_counter() - t0,
    )
