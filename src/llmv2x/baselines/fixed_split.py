"""Baselines ``local`` (alpha = Upsilon: everything on the vehicle) and ``offload`` (alpha = 1)."""

from __future__ import annotations

import time

import numpy as np

from llmv2x.baselines.common import finish, initial_allocation, optimise_radio
from llmv2x.instances.schema import Instance
from llmv2x.results import Result
from llmv2x.settings import SolveSettings
from llmv2x.solvers.frequencies import optimal_frequencies


def _fixed(instance: Instance, settings: SolveSettings, value: float, method: str) -> Result:
    t0 = time.perf_counter()

    def build(deadline):
        alpha = np.full(instance.n_vehicles, value)
        fv, fr = optimal_frequencies(instance, settings, alpha)
        alloc = initial_allocation(instance, settings).replace(
            alpha=alpha, f_vehicle_hz=fv, f_rsu_hz=fr
        )
        p, b, nlp, iters = optimise_radio(instance, settings, alloc, deadline)
        return alloc.replace(p_w=p, b_hz=b), {"nlp": nlp}, iters

    return finish(instance, settings, method, t0, build)


def solve_local(instance: Instance, settings: SolveSettings) -> Result:
    """alpha_n = Upsilon for all n; frequencies and (p, b) optimised as in AO.

    Transmission is still charged (eq. (10) charges every vehicle, docs/formulation.md)."""
    return _fixed(instance, settings, float(instance.layers), "local")


def solve_offload(instance: Instance, settings: SolveSettings) -> Result:
    """alpha_n = 1 for all n (only the first layer on the vehicle); the rest optimised."""
    return _fixed(instance, settings, 1.0, "offload")
