"""Baseline ``equal``: equal shares of bandwidth and RSU frequency; alpha and the rest optimised."""

from __future__ import annotations

import time

from llmv2x.baselines.common import best_alpha_for_frequencies, finish, initial_allocation
from llmv2x.instances.schema import Instance
from llmv2x.results import Result
from llmv2x.settings import SolveSettings
from llmv2x.solvers.comm import best_power
from llmv2x.solvers.frequencies import best_vehicle_frequency


def solve_equal(instance: Instance, settings: SolveSettings) -> Result:
    """b_n = b_max / k_m and f_nm = f_max / k_m for the k_m vehicles of RSU m; vehicle
    frequency in closed form; p_n optimal for its equal share (p_min under ``paper``);
    alpha optimal for those frequencies (linear in alpha)."""
    t0 = time.perf_counter()

    def build(_deadline):
        alloc = initial_allocation(instance, settings)
        fv = best_vehicle_frequency(instance, settings)
        alpha = best_alpha_for_frequencies(instance, settings, fv, alloc.f_rsu_hz)
        p = best_power(instance, settings, alloc.b_hz)
        return alloc.replace(alpha=alpha, f_vehicle_hz=fv, p_w=p), {}, 0

    return finish(instance, settings, "equal", t0, build)
