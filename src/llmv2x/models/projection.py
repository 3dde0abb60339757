"""Project a solver's point back onto P1's constraints (docs/formulation.md)."""

from __future__ import annotations

import numpy as np

from llmv2x.instances.schema import Instance
from llmv2x.models.allocation import Allocation
from llmv2x.models.constants import B_FLOOR_HZ, F_RSU_FLOOR_HZ
from llmv2x.problem import Problem


def _share(x: np.ndarray, total: float, floor: float) -> np.ndarray:
    """Rescale shares so they sum to ``total`` exactly-ish, each at least ``floor``."""
    x = np.maximum(np.asarray(x, float), floor)
    extra = x - floor
    room = total - floor * len(x)
    s = float(np.sum(extra))
    if s <= 0.0:
        out = np.full(len(x), floor) + room / len(x)
    else:
        out = floor + extra * (room / s)
    # put the rounding residue on the largest share so the sum is as exact as floats allow
    k = int(np.argmax(out))
    out[k] += total - float(np.sum(out))
    return out


def _share_at_most(x: np.ndarray, total: float, floor: float) -> np.ndarray:
    """Inequality budgets: shares at their floors at least, rescaled only when over ``total``."""
    x = np.maximum(np.asarray(x, float), floor)
    if float(np.sum(x)) <= total:
        return x
    return _share(x, total, floor)


def project(
    instance: Instance, alloc: Allocation, problem: Problem | None = None
) -> tuple[Allocation, float]:
    """Clip to bounds, round alpha, and rescale each RSU's bandwidth and frequency shares.

    Returns the projected allocation and the largest relative change made (0 when the point
    was already feasible). Used on the points of MINLP and NLP solvers, which can miss the
    per-RSU equalities (10c), (10e) by ~1e-7 relative. Under ``problem`` (default P1) the
    shares are grouped by the point's own association and, with ``budgets=inequality``, only
    scaled down where their sum is over the budget. Deadlines and energy budgets are not
    projected onto: the evaluator decides whether the projected point keeps them.
    """
    problem = problem or Problem()
    if alloc.association is not None or problem.inequality:
        return _project_variant(instance, alloc, problem)
    v = instance.vehicle
    alpha = np.clip(np.round(alloc.alpha), 1, instance.layers)
    p = np.clip(alloc.p_w, v["p_min_w"], v["p_max_w"])
    f = np.clip(alloc.f_vehicle_hz, v["f_min_hz"], v["f_max_hz"])
    b = np.array(alloc.b_hz, float)
    fr = np.array(alloc.f_rsu_hz, float)
    for m in instance.served_rsus:
        idx = instance.members[m]
        b[idx] = _share(b[idx], float(instance.rsu["bandwidth_hz"][m]), B_FLOOR_HZ)
        fr[idx] = _share(fr[idx], float(instance.rsu["f_max_hz"][m]), F_RSU_FLOOR_HZ)
    new = Allocation(alpha, p, b, f, fr)
    change = 0.0
    for a, c in zip(
        (alloc.alpha, alloc.p_w, alloc.b_hz, alloc.f_vehicle_hz, alloc.f_rsu_hz),
        (alpha, p, b, f, fr),
        strict=True,
    ):
        change = max(change, float(np.max(np.abs(a - c) / np.maximum(np.abs(c), 1e-300))))
    return new, change


def _project_variant(
    instance: Instance, alloc: Allocation, problem: Problem
) -> tuple[Allocation, float]:
    """``project`` for a point with its own association or with inequality budgets."""
    v = instance.vehicle
    assoc = instance.association if alloc.association is None else alloc.association
    alpha = np.clip(np.round(alloc.alpha), 1, instance.layers)
    p = np.clip(alloc.p_w, v["p_min_w"], v["p_max_w"])
    f = np.clip(alloc.f_vehicle_hz, v["f_min_hz"], v["f_max_hz"])
    b = np.array(alloc.b_hz, float)
    fr = np.array(alloc.f_rsu_hz, float)
    share = _share_at_most if problem.inequality else _share
    for m in np.unique(assoc):
        idx = np.flatnonzero(assoc == m)
        b[idx] = share(b[idx], float(instance.rsu["bandwidth_hz"][m]), B_FLOOR_HZ)
        fr[idx] = share(fr[idx], float(instance.rsu["f_max_hz"][m]), F_RSU_FLOOR_HZ)
    new = Allocation(alpha, p, b, f, fr, association=alloc.association)
    change = 0.0
    for a, c in zip(
        (alloc.alpha, alloc.p_w, alloc.b_hz, alloc.f_vehicle_hz, alloc.f_rsu_hz),
        (alpha, p, b, f, fr),
        strict=True,
    ):
        change = max(change, float(np.max(np.abs(a - c) / np.maximum(np.abs(c), 1e-300))))
    return new, change
