"""Baselines rlor, rrlo, local, offload, equal: verified results, seeded draws, p_min."""

from __future__ import annotations

import numpy as np
import pytest

import llmv2x
from llmv2x.models.evaluator import evaluate
from llmv2x.settings import SolveSettings

BASELINES = ("rlor", "rrlo", "local", "offload", "equal")
VARIANTS = ("paper", "latency")


@pytest.fixture(scope="module")
def small():
    """N = 6 vehicles on M = 2 RSUs."""
    return llmv2x.generate_instance(seed=1, name="small-seed1", vehicles=6, rsus=2)


@pytest.fixture(scope="module")
def results(small):
    """Every baseline under both variants at omega_t = 0.3, seed 7."""
    return {
        (m, v): llmv2x.solve(small, method=m, omega_t=0.3, objective=v, seed=7)
        for m in BASELINES
        for v in VARIANTS
    }


def _arrays(res):
    a = res.allocation
    return (a.alpha, a.p_w, a.b_hz, a.f_vehicle_hz, a.f_rsu_hz)


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("method", BASELINES)
def test_baseline_result_is_feasible_and_verified(small, results, method, variant):
    res = results[(method, variant)]
    assert res.status != "error", res.message
    assert res.ok and res.method == method and res.objective_variant == variant
    assert res.lower_bound is None
    settings = SolveSettings(omega_t=0.3, objective=variant)
    ev = evaluate(small, res.allocation, settings)
    assert ev.feasible, ev.violations
    assert res.objective == pytest.approx(ev.objective, rel=1e-12)
    alpha = res.allocation.alpha
    assert np.all(alpha == np.round(alpha))
    assert np.all((alpha >= 1) & (alpha <= small.layers))
    for k, v in ev.metrics.items():
        assert res.metrics[k] == pytest.approx(v, rel=1e-12)


def test_local_keeps_every_layer_and_offload_only_the_first(small, results):
    assert np.all(results[("local", "paper")].allocation.alpha == small.layers)
    assert np.all(results[("offload", "paper")].allocation.alpha == 1)


@pytest.mark.parametrize("method", ("rlor", "local", "offload", "equal"))
def test_power_is_p_min_under_paper(small, results, method):
    p = results[(method, "paper")].allocation.p_w
    np.testing.assert_allclose(p, small.vehicle["p_min_w"], rtol=1e-9)


def test_rrlo_draws_power_at_random(small, results):
    p = results[("rrlo", "paper")].allocation.p_w
    assert np.all((p >= small.vehicle["p_min_w"]) & (p <= small.vehicle["p_max_w"]))
    assert np.ptp(p) > 0


@pytest.mark.parametrize("method", ("rlor", "rrlo"))
def test_same_seed_reproduces_the_allocation(small, results, method):
    again = llmv2x.solve(small, method=method, omega_t=0.3, seed=7)
    for x, y in zip(_arrays(results[(method, "paper")]), _arrays(again), strict=True):
        np.testing.assert_array_equal(x, y)
    assert again.solvers["seed"] == "7"


@pytest.mark.parametrize("method", ("rlor", "rrlo"))
def test_different_seed_draws_differently(small, results, method):
    other = llmv2x.solve(small, method=method, omega_t=0.3, seed=8)
    first = results[(method, "paper")]
    assert other.solvers["seed"] == "8"
    drawn = "alpha" if method == "rlor" else "p_w"
    assert not np.array_equal(getattr(first.allocation, drawn), getattr(other.allocation, drawn))


def test_ao_is_no_worse_than_the_random_baselines(small, results):
    ao = llmv2x.solve(small, method="ao", omega_t=0.3)
    for m in ("rlor", "rrlo"):
        assert ao.objective <= results[(m, "paper")].objective * (1 + 1e-9)
