"""The problem variants' checks used by the evaluator (docs/formulation.md#problem-variants).

The association a point uses and the links it may use, the per-RSU budget sums as equalities
or inequalities, and the per-vehicle excess over a deadline or an energy budget. NumPy only,
linear in the number of vehicles and links.
"""

from __future__ import annotations

import numpy as np

from llmv2x.instances.schema import Instance
from llmv2x.models.allocation import Allocation
from llmv2x.problem import Problem


def link_gains(instance: Instance, association: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The gain of each vehicle's link to ``association[n]``, and which of them are links.

    Returns ``(gain, is_link)``: ``gain[n]`` is 0.0 where vehicle n has no link to that RSU
    (or the index is not an RSU). Vectorised over the sorted ``links``.
    """
    assoc = np.asarray(association, dtype=np.int64)
    m = instance.n_rsus
    veh, rsu, gain = instance.links
    keys = veh.astype(np.int64) * m + rsu
    in_range = (assoc >= 0) & (assoc < m)
    want = np.arange(assoc.shape[0], dtype=np.int64) * m + np.where(in_range, assoc, 0)
    idx = np.minimum(np.searchsorted(keys, want), max(len(keys) - 1, 0))
    is_link = in_range & (keys[idx] == want) if len(keys) else np.zeros(assoc.shape, bool)
    return np.where(is_link, gain[idx] if len(keys) else 0.0, 0.0), is_link


def budget_sums(
    instance: Instance, alloc: Allocation, problem: Problem, assoc: np.ndarray
) -> tuple[float, float]:
    """Largest relative violation of (10c) and (10e) over the RSUs serving a vehicle."""
    m_count = instance.n_rsus
    if alloc.association is None:
        served = instance.served_rsus
    else:
        served = np.flatnonzero(np.bincount(assoc, minlength=m_count) > 0)
    bw, fm = instance.rsu["bandwidth_hz"][served], instance.rsu["f_max_hz"][served]
    b_sum = np.bincount(assoc, weights=alloc.b_hz, minlength=m_count)[served]
    f_sum = np.bincount(assoc, weights=alloc.f_rsu_hz, minlength=m_count)[served]
    if problem.inequality:  # sum <= budget
        return (
            float(np.max(np.maximum(0.0, b_sum - bw) / bw, initial=0.0)),
            float(np.max(np.maximum(0.0, f_sum - fm) / fm, initial=0.0)),
        )
    return (
        float(np.max(np.abs(b_sum - bw) / bw, initial=0.0)),
        float(np.max(np.abs(f_sum - fm) / fm, initial=0.0)),
    )


def association_ok(instance: Instance, alloc: Allocation, problem: Problem) -> bool | None:
    """None when the point uses the instance's association under ``fixed`` (nothing to
    check); else whether its association is allowed: one of each vehicle's links under
    ``decision``, the instance's own under ``fixed``."""
    a = alloc.association
    if a is None and not problem.association_decision:
        return None
    if a is None:
        return True  # the instance's association is one of the links
    if a.shape != (instance.n_vehicles,):
        return False
    if problem.association_decision:
        return bool(np.all(link_gains(instance, a)[1]))
    if np.array_equal(a, instance.association):
        return None
    return False


def per_vehicle_excess(value: np.ndarray, limit: np.ndarray) -> tuple[float, int]:
    """Largest relative excess of ``value`` over ``limit`` (NaN limit: none) and its index."""
    has = ~np.isnan(limit)
    rel = np.zeros(value.shape)
    with np.errstate(invalid="ignore"):
        rel[has] = np.maximum(0.0, value[has] - limit[has]) / limit[has]
    rel[has & ~np.isfinite(value)] = np.inf
    if not rel.size:
        return 0.0, -1
    i = int(np.argmax(rel))
    return float(rel[i]), i


def bad_association(instance: Instance, alloc: Allocation, problem: Problem) -> int:
    """The first vehicle whose association is not allowed (-1 for a wrong length)."""
    a = alloc.association
    if a is None or a.shape != (instance.n_vehicles,):
        return -1
    if problem.association_decision:
        ok = link_gains(instance, a)[1]
    else:
        ok = a == instance.association
    return int(np.argmin(ok))
