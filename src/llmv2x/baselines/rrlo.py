"""Baseline RRLO (paper section IV-B): random resource allocation, optimised LLM offloading."""

from __future__ import annotations

import time

from llmv2x.baselines.common import best_alpha_for_frequencies, finish, random_resources, rng_of
from llmv2x.instances.schema import Instance
from llmv2x.results import Result
from llmv2x.settings import SolveSettings


def solve_rrlo(instance: Instance, settings: SolveSettings) -> Result:
    """p ~ U[p_min, p_max], b and f^R ~ Dirichlet(1) per RSU, f^V ~ U[f_min, f_max] (seeded);
    alpha optimal for those frequencies (objective (11) is linear in alpha for fixed f)."""
    t0 = time.perf_counter()

    def build(_deadline):
        rng, seed = rng_of(settings)
        alloc = random_resources(rng, instance, settings)
        alpha = best_alpha_for_frequencies(instance, settings, alloc.f_vehicle_hz, alloc.f_rsu_hz)
        return alloc.replace(alpha=alpha), {"seed": str(seed)}, 0

    return finish(instance, settings, "rrlo", t0, build)
