"""The dual of method ``exact`` under ``association=decision`` (docs/exact.md#12-association-
as-a-decision-a-certified-gap): the Lagrangian of every RSU's budgets on the link rows, and its
maximisation at the root.

Rows are every link (vehicle n, RSU m). Relaxing every RSU's budgets with prices
(sigma_m, lambda_m), each vehicle picks its best row independently, q_n = min_r q_r, and

* inequality budgets (prices >= 0):  D = sum_n q_n - sum_m (sigma_m F_m + lambda_m B_m);
* equality budgets (they bind only at RSUs serving someone; sigma free, lambda >= 0, the
  row oracle prices bandwidth with lambda >= 0 and more bandwidth never costs):
  D = sum_n q_n - sum_{m opened} s_m - sum_{m other} max(0, s_m), s_m = sigma_m F_m +
  lambda_m B_m, "opened" being the RSUs that serve someone at every point (``used_for_sure``
  and the branch and bound's open splits).

Every evaluated price vector gives a valid lower bound (weak duality, with the oracle's
valid row lowers); ``master.maximise`` searches the 2M scaled prices (sigma_m F_m,
lambda_m B_m) (on many links over a working set of rows, ``maximise_root``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from llmv2x.instances.schema import Instance
from llmv2x.models.allocation import Allocation
from llmv2x.problem import Problem
from llmv2x.settings import SolveSettings
from llmv2x.solvers.ao_family import Family, Point
from llmv2x.solvers.certify import master, recovery
from llmv2x.solvers.certify.oracle import Rows, RowValues, row_oracle

#: relative tolerance of the dual's stopping rule (master.maximise)
DUAL_TOL = 1e-5
#: most master iterations
DUAL_MAX_ITER = 150
#: rows per vehicle in the dual's working set on instances with more links than that
WORKING_ROWS = 3
#: an RSU's "serves someone" relaxation must cost at least this much of the bound (relative)
#: to branch on it
OPEN_MIN = 1e-7


def used_for_sure(rows: Rows, m: int, n_vehicles: int) -> np.ndarray:
    """Per RSU: True when some vehicle has rows at that RSU only (it serves someone at every
    point of the rows' problem)."""
    lo = np.full(n_vehicles, m)
    hi = np.full(n_vehicles, -1)
    np.minimum.at(lo, rows.vehicle, rows.rsu)
    np.maximum.at(hi, rows.vehicle, rows.rsu)
    out = np.zeros(m, bool)
    out[lo[(lo == hi) & (hi >= 0)]] = True
    return out


class Dual:
    """The dual function of the association problem on the link rows (module docstring).

    ``rows`` (default: every link, less those proven infeasible at any prices) may be a
    node's restricted rows (``Node``). Each call records the vehicles' chosen rows and
    alphas (``picks``) so the master's cut weights can be read as a primal mixture.
    """

    def __init__(
        self,
        instance: Instance,
        settings: SolveSettings,
        problem: Problem,
        rows: Rows | None = None,
        opened: np.ndarray | None = None,
    ) -> None:
        self.inst, self.settings, self.problem = instance, settings, problem
        self.m = instance.n_rsus
        self.fm = np.asarray(instance.rsu["f_max_hz"], float)
        self.bw = np.asarray(instance.rsu["bandwidth_hz"], float)
        self.veh_infeasible = np.zeros(0, np.int64)
        if rows is None:
            rows = Rows.links(instance, problem)
            # rows proven infeasible on their whole domain stay so at any prices: drop them
            probe = row_oracle(
                instance, settings, problem, rows, *self.prices(np.zeros(2 * self.m), rows)
            )
            self.veh_infeasible = np.setdiff1d(
                np.arange(instance.n_vehicles), rows.vehicle[~probe.infeasible]
            )
            rows = rows.take(~probe.infeasible)
        self.rows = rows
        #: RSUs that serve someone at every point of this (sub-)problem: opened by a branch,
        #: or the only RSU left to some vehicle; their equality budgets bind for sure
        self.opened = used_for_sure(rows, self.m, instance.n_vehicles)
        if opened is not None:
            self.opened |= np.asarray(opened, bool)
        self.best_y: np.ndarray | None = None
        self.best_val = -np.inf
        self.best_values: RowValues | None = None
        self.last_values: RowValues | None = None
        self.calls = 0
        self.picks: list[np.ndarray | None] = []

    def prices(self, y: np.ndarray, rows: Rows | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Per-row (sigma, lambda) of the scaled prices y = (sigma_m F_m, lambda_m B_m)."""
        rows = self.rows if rows is None else rows
        sigma, lam = y[: self.m] / self.fm, y[self.m :] / self.bw
        return sigma[rows.rsu], lam[rows.rsu]

    def term(self, y: np.ndarray) -> tuple[float, np.ndarray]:
        """The budgets' part of D at y and, per RSU, whether it counts (y_m of the cut):
        always under inequality budgets and at RSUs used for sure (``opened``), else where
        sigma_m F_m + lambda_m B_m > 0 (the relaxation of "RSU m serves someone")."""
        s = y[: self.m] + y[self.m :]
        if self.problem.inequality:
            return float(np.sum(s)), np.ones(self.m)
        on = ((s > 0) | self.opened).astype(float)
        return float(np.sum(s * on)), on

    def open_split(self, rsu_state: np.ndarray) -> tuple[str, int, int] | None:
        """``("open", m, 0)``: the RSU whose "serves someone" relaxation costs the bound most
        at the best prices (sigma_m F_m + lambda_m B_m < 0 while it is neither opened nor
        closed, and some row still reaches it); None when there is none or under inequality
        budgets. ``rsu_state``: per RSU 1 opened, -1 closed, 0 free by the branching."""
        if self.problem.inequality or self.best_y is None or not np.isfinite(self.best_val):
            return None
        s = self.best_y[: self.m] + self.best_y[self.m :]
        reach = np.bincount(self.rows.rsu, minlength=self.m) > 0
        loss = np.where(~self.opened & (rsu_state == 0) & reach & (s < 0), -s, 0.0)
        m = int(np.argmax(loss))
        if loss[m] <= OPEN_MIN * max(abs(self.best_val), 1e-12):
            return None
        return ("open", m, 0)

    def __call__(self, y: np.ndarray) -> master.Evaluation:
        """(valid value, cut value, cut gradient) at y."""
        self.calls += 1
        rows = self.rows
        vals = row_oracle(self.inst, self.settings, self.problem, rows, *self.prices(y))
        n = self.inst.n_vehicles
        q_low = np.full(n, np.inf)
        np.minimum.at(q_low, rows.vehicle, vals.lower)
        term, on = self.term(y)
        value = float(np.sum(q_low)) - term
        if not np.isfinite(value):
            value = -np.inf
        self.last_values = vals
        if value > self.best_val:
            self.best_val, self.best_y, self.best_values = value, y.copy(), vals
        pick = recovery.best_rows(rows, vals, n)
        if np.any(pick < 0):
            self.picks.append(None)
            return value, np.inf, np.zeros(2 * self.m)
        self.picks.append(np.c_[rows.rsu[pick], vals.alpha[pick]])
        r = rows.rsu[pick]
        use_f = np.bincount(r, weights=vals.f_rsu[pick], minlength=self.m) / self.fm
        use_b = np.bincount(r, weights=vals.b[pick], minlength=self.m) / self.bw
        cut = float(np.sum(vals.upper[pick])) - term
        return value, cut, np.r_[use_f - on, use_b - on]

    def start(self, alloc: Allocation | None) -> np.ndarray:
        """Scaled prices from the marginal costs of the shares at ``alloc`` (zeros without)."""
        y = np.zeros(2 * self.m)
        if alloc is None:
            return y
        fam = Family(self.inst, self.settings, self.problem)
        pt = Point.of(alloc, self.inst)
        h = 1e-6
        for m, idx in fam.members(pt).items():
            for j, name in ((m, "fr"), (self.m + m, "b")):
                up, dn = pt.copy(), pt.copy()
                getattr(up, name)[idx] *= 1 + h
                getattr(dn, name)[idx] *= 1 - h
                with np.errstate(all="ignore"):
                    dc = (fam.rsu_state(up, idx, m)[0] - fam.rsu_state(dn, idx, m)[0]) / (2 * h)
                # dc = sum_n x_n dc_n/dx_n ~ -price * sum x_n = -price * total
                y[j] = -dc if np.isfinite(dc) else 0.0
        y[self.m :] = np.maximum(y[self.m :], 0.0)
        if self.problem.inequality:
            y = np.maximum(y, 0.0)
        return y

    def box(self) -> tuple[np.ndarray, np.ndarray]:
        """Bounds of the scaled prices: >= 0 (inequality; lambda always), sigma free else."""
        lo = np.zeros(2 * self.m)
        if not self.problem.inequality:
            lo[: self.m] = -np.inf
        return lo, np.full(2 * self.m, np.inf)


def _best_per_vehicle(vehicle: np.ndarray, lower: np.ndarray, k: int) -> np.ndarray:
    """Mask of each vehicle's ``k`` rows of smallest ``lower``."""
    order = np.lexsort((lower, vehicle))
    v = vehicle[order]
    start = np.r_[0, np.flatnonzero(v[1:] != v[:-1]) + 1]
    rank = np.arange(v.size) - np.repeat(start, np.diff(np.r_[start, v.size]))
    out = np.zeros(vehicle.size, bool)
    out[order[rank < k]] = True
    return out


def maximise_root(
    dual: Dual,
    y0: np.ndarray,
    box: tuple[np.ndarray, np.ndarray],
    delta0: float,
    tol: float,
    deadline: Any,
    note: Any,
) -> tuple[master.MasterResult, list[np.ndarray | None]]:
    """Maximise the dual over every row; on many links, over a working set of rows.

    With more than ``WORKING_ROWS + 1`` rows per vehicle the master runs on each vehicle's
    ``WORKING_ROWS`` best rows (by their lower at the current prices); the full rows are then
    evaluated at its best prices (a valid bound, kept in ``dual``), their best rows join the
    set, and the master resumes there, until the full evaluation adds no row. Only ``dual``'s
    full evaluations count as bounds. Returns the last master result and its cuts' choices.
    """
    rows, n = dual.rows, dual.inst.n_vehicles
    if len(rows) <= (WORKING_ROWS + 1) * n:
        res = master.maximise(
            dual, y0, *box, delta0, tol=tol, max_iter=DUAL_MAX_ITER, deadline=deadline,
            on_value=lambda t, v: note(v),
        )  # fmt: skip
        return res, dual.picks
    keep = np.zeros(len(rows), bool)
    y, delta, iters = np.clip(y0, *box), delta0, 0
    res, sub = None, None
    while True:
        note(dual(y)[0])  # every row: a valid bound at y
        grown = keep | _best_per_vehicle(rows.vehicle, dual.last_values.lower, WORKING_ROWS)
        if res is not None and (np.array_equal(grown, keep) or deadline.expired()):
            break
        if iters >= DUAL_MAX_ITER:
            break
        keep = grown
        sub = Dual(dual.inst, dual.settings, dual.problem, rows.take(keep))
        res = master.maximise(
            sub, y, *box, delta, tol=tol, max_iter=DUAL_MAX_ITER - iters, deadline=deadline
        )
        iters += res.iterations
        if sub.best_y is not None:
            y = sub.best_y
        delta = max(4.0 * res.delta, 1e-4 * abs(sub.best_val) if np.isfinite(sub.best_val) else 1.0)
    res.iterations = iters
    return res, sub.picks
