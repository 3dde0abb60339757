"""Pieces the baselines share: the same solvers AO uses, applied to one block at a time."""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from llmv2x.instances.schema import Instance
from llmv2x.models.allocation import Allocation
from llmv2x.models.constants import B_FLOOR_HZ, F_RSU_FLOOR_HZ
from llmv2x.models.evaluator import rsu_layer_cost, vehicle_layer_cost
from llmv2x.results import Result, make_result
from llmv2x.settings import SolveSettings
from llmv2x.solvers.deadline import Deadline
from llmv2x.solvers.fractional import FractionalSolver
from llmv2x.solvers.initial import initial_allocation
from llmv2x.solvers.registry import get_backend


def rng_of(settings: SolveSettings) -> tuple[np.random.Generator, int]:
    """The baseline's random generator and the seed it used (0 when none was given)."""
    seed = 0 if settings.seed is None else int(settings.seed)
    return np.random.default_rng(seed), seed


def best_alpha_for_frequencies(
    instance: Instance, settings: SolveSettings, f_vehicle_hz: np.ndarray, f_rsu_hz: np.ndarray
) -> np.ndarray:
    """Optimal alpha for fixed frequencies: (11) is linear in alpha, so alpha_n = 1 when a layer
    costs less at the RSU than on the vehicle, else Upsilon (eqs. (5), (9), (14))."""
    a = vehicle_layer_cost(instance, settings.omega_t, f_vehicle_hz)
    r = rsu_layer_cost(instance, settings.omega_t, f_rsu_hz)
    return np.where(a < r, float(instance.layers), 1.0)


def optimise_radio(
    instance: Instance, settings: SolveSettings, alloc: Allocation, deadline: Deadline | None = None
) -> tuple:
    """(p, b) by fractional programming (the AO's sub-problem II solver) from ``alloc``;
    when ``deadline`` stops it, the last point it accepted (``alloc``'s at worst)."""
    nlp = get_backend(settings.nlp_backend, "nlp")
    fp = FractionalSolver(instance, settings, nlp, deadline).solve(alloc)
    return fp.p_w, fp.b_hz, nlp.version(), fp.iterations


def random_shares(
    rng: np.random.Generator, instance: Instance, totals: np.ndarray, floor: float
) -> np.ndarray:
    """Per RSU, shares floor + (total - k floor) * Dirichlet(1, ..., 1) of its k vehicles."""
    out = np.zeros(instance.n_vehicles)
    for m in instance.served_rsus:
        idx = instance.members[m]
        w = rng.dirichlet(np.ones(len(idx)))
        out[idx] = floor + (totals[m] - floor * len(idx)) * w
        k = idx[int(np.argmax(out[idx]))]
        out[k] += totals[m] - float(np.sum(out[idx]))
    return out


def random_resources(
    rng: np.random.Generator, instance: Instance, settings: SolveSettings
) -> Allocation:
    """RRLO's draw: p ~ U[p_min, p_max], b and f^R ~ Dirichlet(1) per RSU above the floors,
    f^V ~ U[f_min, f_max] (alpha = 1 placeholder)."""
    v = instance.vehicle
    n = instance.n_vehicles
    p = rng.uniform(v["p_min_w"], v["p_max_w"])
    b = random_shares(rng, instance, np.asarray(instance.rsu["bandwidth_hz"]), B_FLOOR_HZ)
    fr = random_shares(rng, instance, np.asarray(instance.rsu["f_max_hz"]), F_RSU_FLOOR_HZ)
    fv = rng.uniform(v["f_min_hz"], v["f_max_hz"])
    return Allocation(np.ones(n), p, b, fv, fr)


def finish(
    instance: Instance,
    settings: SolveSettings,
    method: str,
    t0: float,
    build: Callable[[Deadline], tuple[Allocation, dict[str, str], int]],
) -> Result:
    """Run ``build`` with the solve's deadline (``settings.time_limit`` from ``t0``) and wrap
    its allocation as a verified result: status ``feasible``, or ``time_limit`` when the
    deadline cut an iterative step short (the allocation is then that step's best point)."""
    deadline = Deadline(settings.time_limit, start=t0)
    alloc, solvers, iterations = build(deadline)
    status = "time_limit" if deadline.hit else "feasible"
    return make_result(
        instance,
        settings,
        method,
        alloc,
        status,
        time.perf_counter() - t0,
        solvers=solvers,
        iterations=iterations,
        message=f"time limit of {settings.time_limit:g} s reached" if deadline.hit else "",
    )


__all__ = [
    "best_alpha_for_frequencies",
    "finish",
    "initial_allocation",
    "optimise_radio",
    "random_resources",
    "random_shares",
    "rng_of",
]
