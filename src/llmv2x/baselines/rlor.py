"""Baseline RLOR (paper section IV-B): random LLM offloading, optimised resources."""

from __future__ import annotations

import time

from llmv2x.baselines.common import finish, initial_allocation, optimise_radio, rng_of
from llmv2x.instances.schema import Instance
from llmv2x.results import Result
from llmv2x.settings import SolveSettings
from llmv2x.solvers.frequencies import optimal_frequencies


def solve_rlor(instance: Instance, settings: SolveSettings) -> Result:
    """alpha_n uniform in {1, ..., Upsilon} (seeded); frequencies optimal for that alpha
    (closed form and per-RSU split), (p, b) by fractional programming as in AO."""
    t0 = time.perf_counter()

    def build(deadline):
        rng, seed = rng_of(settings)
        alpha = rng.integers(1, instance.layers, size=instance.n_vehicles, endpoint=True)
        alpha = alpha.astype(float)
        fv, fr = optimal_frequencies(instance, settings, alpha)
        alloc = initial_allocation(instance, settings).replace(
            alpha=alpha, f_vehicle_hz=fv, f_rsu_hz=fr
        )
        p, b, nlp, iters = optimise_radio(instance, settings, alloc, deadline)
        return alloc.replace(p_w=p, b_hz=b), {"nlp": nlp, "seed": str(seed)}, iters

    return finish(instance, settings, "rlor", t0, build)
