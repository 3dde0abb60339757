"""The NumPy evaluator (feasibility, objective, metrics) and the projection onto P1."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from llmv2x.instances import generate_instance
from llmv2x.models.allocation import Allocation
from llmv2x.models.constants import B_FLOOR_HZ, F_RSU_FLOOR_HZ
from llmv2x.models.evaluator import METRIC_KEYS, cost_terms, evaluate, objective, violations
from llmv2x.models.projection import project
from llmv2x.settings import SolveSettings
from llmv2x.solvers.initial import initial_allocation


@pytest.fixture
def start(small_instance, settings) -> Allocation:
    """A feasible point of the small instance with some layers on each side."""
    a = initial_allocation(small_instance, settings)
    return a.replace(alpha=np.arange(1, small_instance.n_vehicles + 1, dtype=float) * 4)


def _shifted(x: np.ndarray, i: int, j: int, delta: float) -> np.ndarray:
    """Move ``delta`` from entry j to entry i (a per-RSU sum stays the same)."""
    y = np.array(x, float)
    y[i] += delta
    y[j] -= delta
    return y


def _two_members(inst) -> tuple[int, int]:
    for idx in inst.members:
        if len(idx) >= 2:
            return int(idx[0]), int(idx[1])
    raise AssertionError("need an RSU with two vehicles")


# ---------------------------------------------------------------------------
# feasibility report
# ---------------------------------------------------------------------------


def test_initial_allocation_is_feasible(small_instance, settings, start):
    ev = evaluate(small_instance, start, settings)
    assert ev.feasible
    assert ev.max_violation <= 1e-12
    assert np.isfinite(ev.objective)


def _worst(inst, alloc) -> str:
    viol = violations(inst, alloc)
    return max(viol, key=viol.get)


def test_reports_power_below_p_min_as_10b(small_instance, settings, start):
    bad = start.replace(p_w=start.p_w * np.r_[0.5, np.ones(small_instance.n_vehicles - 1)])
    assert not evaluate(small_instance, bad, settings).feasible
    assert _worst(small_instance, bad) == "10b"


def test_reports_power_above_p_max_as_10b(small_instance, settings, start):
    bad = start.replace(p_w=small_instance.vehicle["p_max_w"] * 1.01)
    assert _worst(small_instance, bad) == "10b"
    assert violations(small_instance, bad)["10b"] == pytest.approx(0.01, rel=1e-9)


def test_reports_bandwidth_sum_off_as_10c(small_instance, settings, start):
    bad = start.replace(b_hz=start.b_hz * 1.001)
    ev = evaluate(small_instance, bad, settings)
    assert not ev.feasible
    assert _worst(small_instance, bad) == "10c"
    assert ev.violations["10c"] == pytest.approx(1e-3, rel=1e-6)


def test_reports_vehicle_frequency_above_f_max_as_10d(small_instance, settings, start):
    bad = start.replace(f_vehicle_hz=small_instance.vehicle["f_max_hz"] * 1.5)
    assert not evaluate(small_instance, bad, settings).feasible
    assert _worst(small_instance, bad) == "10d"


def test_reports_rsu_frequency_sum_off_as_10e(small_instance, settings, start):
    bad = start.replace(f_rsu_hz=start.f_rsu_hz * 0.9)
    assert not evaluate(small_instance, bad, settings).feasible
    assert _worst(small_instance, bad) == "10e"


@pytest.mark.parametrize("alpha0", [1.5, 0.0, 33.0])
def test_reports_fractional_or_out_of_range_alpha_as_10a(small_instance, settings, start, alpha0):
    alpha = np.array(start.alpha)
    alpha[0] = alpha0
    bad = start.replace(alpha=alpha)
    assert not evaluate(small_instance, bad, settings).feasible
    assert _worst(small_instance, bad) == "10a"


def test_reports_bandwidth_share_below_floor_as_floors(small_instance, settings, start):
    i, j = _two_members(small_instance)
    b = np.array(start.b_hz)
    b = _shifted(b, j, i, b[i] - 0.5 * B_FLOOR_HZ)  # vehicle i keeps half the floor, sum kept
    bad = start.replace(b_hz=b)
    viol = violations(small_instance, bad)
    assert viol["10c"] <= 1e-12
    assert _worst(small_instance, bad) == "floors"
    assert not evaluate(small_instance, bad, settings).feasible


def test_reports_rsu_frequency_share_below_floor_as_floors(small_instance, settings, start):
    i, j = _two_members(small_instance)
    fr = np.array(start.f_rsu_hz)
    fr = _shifted(fr, j, i, fr[i] - 0.5 * F_RSU_FLOOR_HZ)
    bad = start.replace(f_rsu_hz=fr)
    assert violations(small_instance, bad)["10e"] <= 1e-12
    assert _worst(small_instance, bad) == "floors"


def test_refuses_non_finite_values(small_instance, settings, start):
    p = np.array(start.p_w)
    p[2] = np.nan
    ev = evaluate(small_instance, start.replace(p_w=p), settings)
    assert not ev.feasible
    assert ev.violations["finite"] == 1.0


def test_accepts_violations_within_the_spec_tolerance(small_instance, settings, start):
    ok = start.replace(b_hz=start.b_hz * (1 + 1e-11))
    assert evaluate(small_instance, ok, settings).feasible
    bad = start.replace(b_hz=start.b_hz * (1 + 1e-8))
    assert not evaluate(small_instance, bad, settings).feasible


def test_refuses_arrays_of_the_wrong_length(small_instance, settings, start):
    with pytest.raises(ValueError, match="entries"):
        evaluate(small_instance, start.replace(p_w=start.p_w[:-1]), settings)


# ---------------------------------------------------------------------------
# objective and metrics
# ---------------------------------------------------------------------------


def test_metrics_identities(paper_instance, settings):
    a = initial_allocation(paper_instance, settings).replace(
        alpha=np.full(paper_instance.n_vehicles, 7.0)
    )
    met = evaluate(paper_instance, a, settings).metrics
    assert tuple(met) == METRIC_KEYS
    assert met["completion_time_s"] == pytest.approx(
        met["compute_time_s"] + met["transmit_time_s"], rel=1e-15
    )
    assert met["energy_j"] == pytest.approx(
        met["vehicle_energy_j"] + met["transmit_energy_j"] + met["rsu_energy_j"], rel=1e-15
    )
    assert all(v > 0 for v in met.values())


def test_objective_weights_pick_out_time_or_energy_metrics(paper_instance):
    a = initial_allocation(paper_instance, SolveSettings()).replace(
        alpha=np.full(paper_instance.n_vehicles, 11.0)
    )
    met = evaluate(paper_instance, a, SolveSettings()).metrics
    # omega_t = 1: the paper objective is the compute time, the latency variant adds T^com
    assert objective(paper_instance, a, SolveSettings(omega_t=1.0)) == pytest.approx(
        met["compute_time_s"], rel=1e-12
    )
    assert objective(
        paper_instance, a, SolveSettings(omega_t=1.0, objective="latency")
    ) == pytest.approx(met["completion_time_s"], rel=1e-12)
    # omega_t = 0: both variants are the total energy
    for variant in ("paper", "latency"):
        assert objective(
            paper_instance, a, SolveSettings(omega_t=0.0, objective=variant)
        ) == pytest.approx(met["energy_j"], rel=1e-12)


def test_objective_is_the_weighted_sum_of_metrics_for_latency(paper_instance):
    w = 0.3
    s = SolveSettings(omega_t=w, objective="latency")
    a = initial_allocation(paper_instance, s).replace(alpha=np.full(paper_instance.n_vehicles, 5.0))
    ev = evaluate(paper_instance, a, s)
    met = ev.metrics
    assert ev.objective == pytest.approx(
        w * met["completion_time_s"] + (1 - w) * met["energy_j"], rel=1e-12
    )
    assert ev.compute_part + ev.communication_part == pytest.approx(ev.objective, rel=1e-14)


def test_paper_objective_is_increasing_in_power_so_p_min_is_optimal():
    inst = generate_instance(seed=7, name="one", vehicles=1, rsus=1)
    s = SolveSettings(omega_t=0.5, objective="paper")
    a = initial_allocation(inst, s)
    grid = np.linspace(inst.vehicle["p_min_w"][0], inst.vehicle["p_max_w"][0], 60)
    values = np.array([objective(inst, a.replace(p_w=np.array([p])), s) for p in grid])
    assert np.all(np.diff(values) > 0)
    assert np.argmin(values) == 0


def test_latency_objective_can_prefer_more_than_p_min():
    inst = generate_instance(seed=7, name="one", vehicles=1, rsus=1)
    s = SolveSettings(omega_t=0.5, objective="latency")
    a = initial_allocation(inst, s)
    grid = np.linspace(inst.vehicle["p_min_w"][0], inst.vehicle["p_max_w"][0], 60)
    values = np.array([objective(inst, a.replace(p_w=np.array([p])), s) for p in grid])
    assert np.argmin(values) > 0


def test_rsu_share_of_a_fully_local_vehicle_costs_nothing(small_instance, settings, start):
    i, j = _two_members(small_instance)
    alpha = np.array(start.alpha)
    alpha[i] = small_instance.layers
    a = start.replace(alpha=alpha)
    fr = _shifted(a.f_rsu_hz, i, j, -0.5 * (a.f_rsu_hz[i] - F_RSU_FLOOR_HZ))
    b = a.replace(f_rsu_hz=fr)
    # vehicle i keeps every layer; moving its RSU share to vehicle j changes only j's cost
    assert evaluate(small_instance, b, settings).feasible
    ta, tb = cost_terms(small_instance, a, settings), cost_terms(small_instance, b, settings)
    assert ta.rsu[i] == 0.0 and tb.rsu[i] == 0.0
    assert tb.rsu[j] != ta.rsu[j]
    assert tb.total - ta.total == pytest.approx(tb.rsu[j] - ta.rsu[j], rel=1e-9)


# ---------------------------------------------------------------------------
# projection
# ---------------------------------------------------------------------------


def _perturbed(inst, rng: np.random.Generator) -> Allocation:
    """A point that breaks every constraint a little: bounds, sums, integrality."""
    v, n = inst.vehicle, inst.n_vehicles
    return Allocation(
        alpha=rng.uniform(-2.0, inst.layers + 3.0, n),
        p_w=rng.uniform(0.5 * v["p_min_w"], 1.2 * v["p_max_w"]),
        b_hz=inst.rsu_of("bandwidth_hz") * rng.uniform(-0.1, 1.0, n),
        f_vehicle_hz=rng.uniform(0.5 * v["f_min_hz"], 1.2 * v["f_max_hz"]),
        f_rsu_hz=inst.rsu_of("f_max_hz") * rng.uniform(-0.1, 1.0, n),
    )


PROJECTION_INSTANCES = (
    generate_instance(seed=0),
    generate_instance(seed=3, name="unserved", vehicles=4, rsus=9),
    generate_instance(seed=5, name="crowded", vehicles=60, rsus=2),
)


@settings(max_examples=60, deadline=None)
@given(inst=st.sampled_from(PROJECTION_INSTANCES), seed=st.integers(0, 2**32 - 1))
def test_projection_restores_sums_and_bounds(inst, seed):
    bad = _perturbed(inst, np.random.default_rng(seed))
    new, change = project(inst, bad)
    assert change > 0
    v = inst.vehicle
    for m in inst.served_rsus:
        idx = inst.members[m]
        bw, fm = inst.rsu["bandwidth_hz"][m], inst.rsu["f_max_hz"][m]
        assert abs(np.sum(new.b_hz[idx]) - bw) <= 1e-12 * bw
        assert abs(np.sum(new.f_rsu_hz[idx]) - fm) <= 1e-12 * fm
    assert np.all(new.b_hz >= B_FLOOR_HZ)
    assert np.all(new.f_rsu_hz >= F_RSU_FLOOR_HZ)
    assert np.all((v["p_min_w"] <= new.p_w) & (new.p_w <= v["p_max_w"]))
    assert np.all((v["f_min_hz"] <= new.f_vehicle_hz) & (new.f_vehicle_hz <= v["f_max_hz"]))
    assert np.array_equal(new.alpha, np.round(new.alpha))
    assert np.all((new.alpha >= 1) & (new.alpha <= inst.layers))
    assert evaluate(inst, new, SolveSettings()).feasible


def test_projection_clips_values_to_their_bounds(small_instance, start):
    v = small_instance.vehicle
    bad = start.replace(
        p_w=v["p_max_w"] * 3.0,
        f_vehicle_hz=v["f_min_hz"] * 0.1,
        alpha=np.full(small_instance.n_vehicles, 40.0),
    )
    new, _ = project(small_instance, bad)
    np.testing.assert_array_equal(new.p_w, v["p_max_w"])
    np.testing.assert_array_equal(new.f_vehicle_hz, v["f_min_hz"])
    np.testing.assert_array_equal(new.alpha, small_instance.layers)


def test_projection_leaves_a_feasible_point_almost_unchanged(small_instance, start):
    new, change = project(small_instance, start)
    assert change <= 1e-12
    for k in ("alpha", "p_w", "b_hz", "f_vehicle_hz", "f_rsu_hz"):
        np.testing.assert_allclose(getattr(new, k), getattr(start, k), rtol=1e-12)
