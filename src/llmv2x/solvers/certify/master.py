"""Kelley cutting-plane master with a trust region, in HiGHS, for a concave dual function
(docs/exact.md#12-association-as-a-decision-a-certified-gap).

The dual D(y) is maximised over the scaled prices y (objective units: y = (sigma_m F_m,
lambda_m B_m)). Each evaluation at y_k returns two things:

* a VALID value d_k <= D(y_k) (from the row oracle's valid lower bounds): every evaluated
  point is a lower bound on the primal optimum by weak duality, and the best is kept;
* an affine cut l_k(y) = c_k + g_k . (y - y_k) with l_k >= D everywhere: the Lagrangian of
  one fixed primal choice (the rows' argmin points), which is affine in y and never below
  the minimum over all choices.

The master LP  max t  s.t.  t <= l_k(y) for every k,  y in the box  [lo, hi] cut to the trust
region |y - centre|_inf <= delta  gives the next y and an estimate t* >= max of D over that
region. Trust region: a step that realises at least ``ACCEPT`` of the predicted rise moves
the centre (and doubles delta when the region was active); after ``NULL_SHRINK`` null steps
in a row delta halves.

Stopping rule: t* - best <= tol max(1, |best|) with the trust region INACTIVE at the LP
optimum. The cut model is then a concave over-estimator of D whose maximum over the whole box
is t* (a local maximum of a concave function in the interior of the region is global), so
no price vector can raise the bound by more than tol relative, up to the oracle's own gap
(its upper minus lower, which the cuts carry). Otherwise the master stops on ``max_iter``,
on the deadline, or when delta falls below ``MIN_DELTA`` of its start (no progress).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

#: fraction of the predicted rise a step must realise to move the centre
ACCEPT = 0.1
#: null steps in a row before the trust region halves
NULL_SHRINK = 2
#: the master stops when delta falls below this fraction of its start
MIN_DELTA = 1e-6

#: what one evaluation returns: (valid value, cut value at y, cut gradient)
Evaluation = tuple[float, float, np.ndarray]


@dataclass
class MasterResult:
    """Outcome of ``maximise``: the best valid value and where, the last estimate."""

    best: float
    y: np.ndarray
    estimate: float
    converged: bool
    iterations: int
    history: list[dict[str, float]] = field(default_factory=list)
    #: evaluation number (0 = the start) of each cut, and the final master LP's weight on
    #: each cut (its dual value; they sum to 1): the convex combination of the cuts' primal
    #: choices that the dual's optimum stands for (used to branch)
    cut_calls: list[int] = field(default_factory=list)
    weights: np.ndarray = field(default_factory=lambda: np.zeros(0))
    delta: float = 0.0


def _solve_lp(
    h: Any, cuts_g: np.ndarray, cuts_c: np.ndarray, lo: np.ndarray, hi: np.ndarray
) -> tuple[np.ndarray, float, np.ndarray]:
    """max t s.t. t - g_k . y <= c_k, lo <= y <= hi, by HiGHS (``h``); returns (y, t, the
    cuts' weights)."""
    import highspy

    k, dim = cuts_g.shape
    inf = highspy.kHighsInf
    lp = highspy.HighsLp()
    lp.num_col_ = dim + 1
    lp.num_row_ = k
    lp.col_cost_ = np.r_[np.zeros(dim), -1.0]  # minimise -t
    lp.col_lower_ = np.r_[lo, -inf]
    lp.col_upper_ = np.r_[hi, inf]
    lp.row_lower_ = np.full(k, -inf)
    lp.row_upper_ = cuts_c
    a = np.c_[-cuts_g, np.ones(k)]  # row k: t - g_k . y <= c_k
    col = a.T  # column-wise
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = np.r_[0, np.cumsum(np.full(dim + 1, k))].astype(np.int32)
    lp.a_matrix_.index_ = np.tile(np.arange(k, dtype=np.int32), dim + 1)
    lp.a_matrix_.value_ = col.ravel().astype(float)
    h.clearModel()
    h.passModel(lp)
    h.run()
    sol = h.getSolution()
    col = np.asarray(sol.col_value, float)
    w = np.abs(np.asarray(sol.row_dual, float))
    return col[:dim], float(col[dim]), w / max(float(np.sum(w)), 1e-300)


def maximise(
    evaluate: Callable[[np.ndarray], Evaluation],
    y0: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
    delta0: float,
    *,
    tol: float = 1e-6,
    max_iter: int = 200,
    deadline: object | None = None,
    on_value: Callable[[float, float], None] | None = None,
) -> MasterResult:
    """Maximise a concave dual by Kelley cuts in a trust region (module docstring).

    Parameters
    ----------
    evaluate : y -> (valid value, cut value at y, cut gradient); the valid value may be
        -inf (nothing proven at y) and the cut must over-estimate D everywhere.
    y0 : start (clipped into [lo, hi]); lo/hi: the box (-inf/+inf allowed: the trust region
        keeps the LP bounded).
    delta0 : start radius of the trust region (objective units), > 0.
    tol : relative tolerance of the stopping rule.
    deadline : an object with ``expired()`` (llmv2x.solvers.deadline.Deadline) or None.
    on_value : called with (seconds since start, best valid value) after each evaluation.
    """
    from llmv2x.solvers.backends.highs import new_highs

    t0 = time.perf_counter()
    h = new_highs()
    y = np.clip(np.asarray(y0, float), lo, hi)
    gs, cs, calls = [], [], []

    def add(yk: np.ndarray) -> float:
        val, cut, g = evaluate(yk)
        if np.isfinite(cut) and np.all(np.isfinite(g)):
            gs.append(np.asarray(g, float))
            cs.append(float(cut - np.dot(g, yk)))
            calls.append(it)
        if on_value is not None:
            on_value(time.perf_counter() - t0, val)
        return val

    it = 0
    best_val = add(y)
    best_y, centre, centre_val = y.copy(), y.copy(), best_val
    delta = float(delta0)
    est, nulls, converged = np.inf, 0, False
    weights = np.zeros(0)
    history = [{"iteration": 0, "value": best_val, "estimate": np.inf, "delta": delta}]
    while it < max_iter and gs:
        if deadline is not None and deadline.expired():
            break
        it += 1
        box_lo = np.maximum(lo, centre - delta)
        box_hi = np.minimum(hi, centre + delta)
        y, est, weights = _solve_lp(h, np.array(gs), np.array(cs), box_lo, box_hi)
        y = np.clip(y, box_lo, box_hi)
        scale = max(1.0, abs(best_val)) if np.isfinite(best_val) else 1.0
        region = max(delta * 1e-9, 1e-12)
        active = bool(
            np.any((y <= box_lo + region) & (box_lo > lo))
            or np.any((y >= box_hi - region) & (box_hi < hi))
        )
        if est - best_val <= tol * scale and not active:
            converged = True
            history.append({"iteration": it, "value": best_val, "estimate": est, "delta": delta})
            break
        val = add(y)
        if val > best_val:
            best_val, best_y = val, y.copy()
        predicted = est - centre_val
        if np.isfinite(val) and val - centre_val >= ACCEPT * predicted:
            centre, centre_val, nulls = y.copy(), val, 0
            if active:
                delta *= 2.0
        else:
            nulls += 1
            if nulls >= NULL_SHRINK:
                delta, nulls = delta * 0.5, 0
        history.append({"iteration": it, "value": best_val, "estimate": est, "delta": delta})
        if delta < MIN_DELTA * delta0:
            break
    if weights.size != len(gs) and gs:  # the weights of the last cuts too
        box_lo, box_hi = np.maximum(lo, centre - delta), np.minimum(hi, centre + delta)
        weights = _solve_lp(h, np.array(gs), np.array(cs), box_lo, box_hi)[2]
    return MasterResult(best_val, best_y, est, converged, it, history, calls, weights, delta)
