"""Method ``initial``: the simple feasible allocation every other method starts from."""

from __future__ import annotations

import time

import numpy as np

from llmv2x.instances.schema import Instance
from llmv2x.models.allocation import Allocation
from llmv2x.models.components import initial_frequency_hz
from llmv2x.results import Result, make_result
from llmv2x.settings import SolveSettings


def initial_allocation(
    instance: Instance, settings: SolveSettings, alpha: float = 1.0
) -> Allocation:
    """alpha_n = ``alpha``, p_n = p_min, equal bandwidth and RSU frequency shares per RSU, and
    the vehicle frequency that minimises its per-layer cost (eq. (15) = 0, clipped)."""
    n = instance.n_vehicles
    counts = np.bincount(instance.association, minlength=instance.n_rsus)
    share = 1.0 / counts[instance.association]
    return Allocation(
        alpha=np.full(n, float(alpha)),
        p_w=np.array(instance.vehicle["p_min_w"], float),
        b_hz=instance.rsu_of("bandwidth_hz") * share,
        f_vehicle_hz=initial_frequency_hz(instance, settings),
        f_rsu_hz=instance.rsu_of("f_max_hz") * share,
    )


def solve_initial(instance: Instance, settings: SolveSettings) -> Result:
    """The initial allocation, evaluated (status ``feasible``); a reference, not an optimiser."""
    t0 = time.perf_counter()
    alloc = initial_allocation(instance, settings)
    return make_result(instance, settings, "initial", alloc, "feasible", time.perf_counter() - t0)
