"""Vertex rounding: the batched frequency split and the best-move descent."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from llmv2x.instances import load_instance
from llmv2x.settings import SolveSettings
from llmv2x.solvers.frequencies import split_groups, split_rsu_frequencies
from llmv2x.solvers.rounding import compute_cost_per_rsu, vertex_descent

INSTANCES_DIR = Path(__file__).resolve().parents[2] / "instances"


@pytest.mark.parametrize("name", ["paper-seed0", "medium"])
def test_split_groups_equals_the_per_rsu_split_for_every_candidate(name):
    inst = load_instance(INSTANCES_DIR / f"{name}.json")
    s = SolveSettings()
    rng = np.random.default_rng(1)
    alphas = [rng.choice([1.0, float(inst.layers)], inst.n_vehicles) for _ in range(3)]
    alphas[0][:] = rng.uniform(1, inst.layers, inst.n_vehicles)  # fractional too
    # every (candidate, RSU) pair is its own group of one batch
    veh, group, a, fmax = [], [], [], []
    for c, alpha in enumerate(alphas):
        for m, mem in enumerate(inst.members):
            veh.append(mem)
            group.append(np.full(len(mem), c * inst.n_rsus + m))
            a.append(alpha[mem])
        fmax.append(np.asarray(inst.rsu["f_max_hz"], float))
    f = split_groups(
        inst, s, np.concatenate(veh), np.concatenate(group), np.concatenate(a), np.concatenate(fmax)
    )
    start = 0
    for alpha in alphas:
        ref = split_rsu_frequencies(inst, s, alpha).f_rsu_hz
        for mem in inst.members:
            np.testing.assert_allclose(f[start : start + len(mem)], ref[mem], rtol=1e-12)
            start += len(mem)


@pytest.mark.parametrize("omega_t", [0.2, 0.5, 0.9])
def test_vertex_descent_ends_where_no_single_move_or_swap_improves(omega_t):
    inst = load_instance(INSTANCES_DIR / "paper-seed3.json")
    s = SolveSettings(omega_t=omega_t)
    start = np.random.default_rng(0).uniform(1, inst.layers, inst.n_vehicles)
    alpha, steps = vertex_descent(inst, s, start)
    Y = float(inst.layers)
    assert steps >= 1
    assert set(np.unique(alpha)) <= {1.0, Y}
    cost = compute_cost_per_rsu(inst, s, alpha)
    assert cost.sum() <= compute_cost_per_rsu(inst, s, np.round(start)).sum()
    # brute force over every single move and every swap, RSU by RSU
    for m, mem in enumerate(inst.members):
        trials = []
        for n in mem:
            for end in (1.0, Y):
                if alpha[n] != end:
                    t = alpha.copy()
                    t[n] = end
                    trials.append(t)
        for i in mem[alpha[mem] == Y]:
            for j in mem[alpha[mem] == 1.0]:
                t = alpha.copy()
                t[i], t[j] = 1.0, Y
                trials.append(t)
        for t in trials:
            assert compute_cost_per_rsu(inst, s, t)[m] >= cost[m] * (1 - 1e-12)
