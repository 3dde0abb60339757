"""Exercise 4: a baseline of one's own, registered as a method."""

from __future__ import annotations

import numpy as np
import pytest

import llmv2x
from llmv2x.solvers import methods


@pytest.fixture
def greedy(monkeypatch):
    import greedy_sink

    name, target = greedy_sink.METHOD_ENTRY
    monkeypatch.setitem(methods.METHODS, name, target)
    return greedy_sink


@pytest.mark.parametrize("name", ["tutorial", "paper-seed0", "paper-seed3"])
def test_greedy_is_verified_and_between_exact_and_offload(greedy, name, tutorial_instance):
    inst = tutorial_instance if name == "tutorial" else llmv2x.load_instance(name)
    res = llmv2x.solve(inst, method="greedy")
    assert res.method == "greedy" and res.status == "feasible" and res.lower_bound is None
    assert llmv2x.evaluate(inst, res.allocation, llmv2x.SolveSettings()).feasible
    best = llmv2x.solve(inst, method="exact").objective
    offload = llmv2x.solve(inst, method="offload").objective
    assert best * (1 - 1e-12) <= res.objective <= offload * (1 + 1e-9)
    assert set(np.unique(res.allocation.alpha)) <= {1.0, float(inst.layers)}


def test_a_lone_vehicle_keeps_its_layers(greedy, tutorial_instance):
    # RSU 1 serves only vehicle 3: offloading would run it at the whole 1.41 GHz
    alpha = greedy.greedy_alpha(tutorial_instance, llmv2x.SolveSettings())
    assert alpha[3] == tutorial_instance.layers


def test_one_sink_per_rsu_is_not_enough_when_time_dominates(greedy):
    inst = llmv2x.load_instance("paper-seed0")
    res = llmv2x.solve(inst, method="greedy", omega_t=0.9)
    best = llmv2x.solve(inst, method="exact", omega_t=0.9)
    assert res.objective > best.objective * 1.01
    crowded = inst.members[0]
    assert np.sum(best.allocation.alpha[crowded] == inst.layers) > 1
