"""The Pyomo builders agree with the NumPy evaluator, and declare what the paper says.

Property-based: at random feasible points the values of every objective, cost expression
and constraint body of P1 (10), sub-problem I (11) and sub-problem II (42), (46) equal the
evaluator's (llmv2x.models.evaluator) to a relative 1e-12. This is the guard against the
Pyomo models and the evaluator drifting apart.
"""

from __future__ import annotations

import math

import numpy as np
import pyomo.environ as pyo
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from llmv2x.instances import Instance, generate_instance
from llmv2x.models.allocation import Allocation
from llmv2x.models.constants import B_FLOOR_HZ, F_RSU_FLOOR_HZ, HZ_PER_GHZ, HZ_PER_MHZ
from llmv2x.models.evaluator import comm_cost, cost_terms, rates
from llmv2x.models.p1 import allocation_from_model, build_p1, set_model_values
from llmv2x.models.subproblem1 import build_subproblem1, update_radio
from llmv2x.models.subproblem2 import build_subproblem2_epigraph, build_subproblem2_parametric
from llmv2x.settings import SolveSettings
from llmv2x.solvers.initial import initial_allocation

REL = 1e-12

#: Built once (hypothesis does not mix with function-scoped fixtures). The last one has
#: RSUs that serve nobody.
INSTANCES = (
    generate_instance(seed=0),
    generate_instance(seed=1, name="small", vehicles=6, rsus=2),
    generate_instance(seed=3, name="unserved", vehicles=4, rsus=9),
    generate_instance(seed=7, name="one", vehicles=1, rsus=1),
)

PROPERTY = settings(max_examples=60, deadline=None)
instance_st = st.sampled_from(INSTANCES)
seed_st = st.integers(0, 2**32 - 1)
omega_st = st.one_of(st.sampled_from([0.0, 1.0]), st.floats(0.0, 1.0))
variant_st = st.sampled_from(["paper", "latency"])


def _shares(rng: np.random.Generator, total: float, floor: float, k: int) -> np.ndarray:
    """k shares >= floor that sum to total (random split of what is above the floors)."""
    w = rng.uniform(0.0, 1.0, k) + 1e-3
    return floor + w / w.sum() * (total - floor * k)


def random_allocation(inst: Instance, rng: np.random.Generator, integer: bool) -> Allocation:
    """A random point inside every bound, with per-RSU shares summing to the budgets."""
    v = inst.vehicle
    n = inst.n_vehicles
    if integer:
        alpha = rng.integers(1, inst.layers, size=n, endpoint=True).astype(float)
    else:
        alpha = rng.uniform(1.0, inst.layers, size=n)
    b = np.empty(n)
    fr = np.empty(n)
    for m in inst.served_rsus:
        idx = inst.members[m]
        b[idx] = _shares(rng, inst.rsu["bandwidth_hz"][m], B_FLOOR_HZ, len(idx))
        fr[idx] = _shares(rng, inst.rsu["f_max_hz"][m], F_RSU_FLOOR_HZ, len(idx))
    return Allocation(
        alpha=alpha,
        p_w=rng.uniform(v["p_min_w"], v["p_max_w"]),
        b_hz=b,
        f_vehicle_hz=rng.uniform(v["f_min_hz"], v["f_max_hz"]),
        f_rsu_hz=fr,
    )


def assert_close(actual: float, expected: float, rel: float = REL) -> None:
    assert math.isfinite(actual)
    assert actual == pytest.approx(expected, rel=rel, abs=0.0)


def assert_budgets_match(inst: Instance, m: pyo.ConcreteModel, alloc: Allocation) -> None:
    """Bodies of (10c) and (10e) equal the sums of the shares, in MHz and GHz."""
    for r in inst.served_rsus:
        idx = inst.members[r]
        if hasattr(m, "bandwidth_budget"):
            assert_close(
                pyo.value(m.bandwidth_budget[r].body), float(np.sum(alloc.b_hz[idx])) / HZ_PER_MHZ
            )
        if hasattr(m, "frequency_budget"):
            assert_close(
                pyo.value(m.frequency_budget[r].body),
                float(np.sum(alloc.f_rsu_hz[idx])) / HZ_PER_GHZ,
            )


# ---------------------------------------------------------------------------
# values: builders == evaluator
# ---------------------------------------------------------------------------


@PROPERTY
@given(inst=instance_st, seed=seed_st, omega_t=omega_st, variant=variant_st)
def test_p1_values_equal_evaluator(inst, seed, omega_t, variant):
    s = SolveSettings(omega_t=omega_t, objective=variant)
    alloc = random_allocation(inst, np.random.default_rng(seed), integer=True)
    m = build_p1(inst, s)
    set_model_values(inst, m, alloc)
    terms = cost_terms(inst, alloc, s)
    r = rates(inst, alloc.p_w, alloc.b_hz)
    for n in range(inst.n_vehicles):
        assert_close(pyo.value(m.rate_mbps[n]) * 1e6, r[n])
        assert_close(pyo.value(m.comm_cost[n]), terms.comm[n])
        if terms.vehicle[n] != 0.0:
            assert_close(pyo.value(m.vehicle_cost[n]), terms.vehicle[n])
        if terms.rsu[n] != 0.0:
            assert_close(pyo.value(m.rsu_cost[n]), terms.rsu[n])
    assert_close(pyo.value(m.objective), terms.total)
    assert_budgets_match(inst, m, alloc)
    back = allocation_from_model(inst, m)
    for k in ("alpha", "p_w", "b_hz", "f_vehicle_hz", "f_rsu_hz"):
        np.testing.assert_allclose(getattr(back, k), getattr(alloc, k), rtol=1e-15)


@PROPERTY
@given(inst=instance_st, seed=seed_st, omega_t=omega_st, variant=variant_st)
def test_subproblem1_objective_equals_compute_part(inst, seed, omega_t, variant):
    s = SolveSettings(omega_t=omega_t, objective=variant)
    rng = np.random.default_rng(seed)
    start = random_allocation(inst, rng, integer=False)
    alloc = random_allocation(inst, rng, integer=False)
    m = build_subproblem1(inst, s, start)
    update_radio(inst, m, alloc)
    set_model_values(inst, m, alloc)
    terms = cost_terms(inst, alloc, s)
    assert_close(pyo.value(m.objective), terms.compute)
    # F + sum(comm_cost) is P1's objective at the same point
    comm = sum(pyo.value(m.comm_cost[n]) for n in m.N)
    assert_close(comm, terms.communication)
    assert_close(pyo.value(m.objective) + comm, terms.total)
    assert_budgets_match(inst, m, alloc)


@PROPERTY
@given(inst=instance_st, seed=seed_st, omega_t=omega_st, variant=variant_st)
def test_subproblem1_params_take_start_values(inst, seed, omega_t, variant):
    s = SolveSettings(omega_t=omega_t, objective=variant)
    start = random_allocation(inst, np.random.default_rng(seed), integer=False)
    m = build_subproblem1(inst, s, start)
    assert_close(
        sum(pyo.value(m.comm_cost[n]) for n in m.N),
        float(np.sum(comm_cost(inst, omega_t, s.latency, start.p_w, start.b_hz))),
    )
    terms = cost_terms(inst, start, s)
    assert_close(pyo.value(m.objective), terms.compute)


@PROPERTY
@given(inst=instance_st, seed=seed_st, omega_t=omega_st, variant=variant_st)
def test_subproblem2_epigraph_values_equal_evaluator(inst, seed, omega_t, variant):
    s = SolveSettings(omega_t=omega_t, objective=variant)
    alloc = random_allocation(inst, np.random.default_rng(seed), integer=False)
    m = build_subproblem2_epigraph(inst, s)
    for n in range(inst.n_vehicles):
        m.p_w[n].set_value(float(alloc.p_w[n]))
        m.b_mhz[n].set_value(float(alloc.b_hz[n]) / HZ_PER_MHZ)
    comm = comm_cost(inst, omega_t, s.latency, alloc.p_w, alloc.b_hz)
    r = rates(inst, alloc.p_w, alloc.b_hz)
    for n in range(inst.n_vehicles):
        assert_close(pyo.value(m.rate_mbps[n]) * 1e6, r[n])
        if comm[n] != 0.0:
            assert_close(pyo.value(m.comm_cost[n]), comm[n])
        m.beta[n].set_value(float(comm[n]))
    # at beta_n = the ratio, (42a) is tight: N_n / S_n - beta_n r_n / S_n = 0
    for n in range(inst.n_vehicles):
        numerator = (1.0 - omega_t) * alloc.p_w[n] + (omega_t if s.latency else 0.0)
        assert abs(pyo.value(m.ratio_epigraph[n].body)) <= 1e-12 * max(numerator, 1e-300)
    if comm.sum() != 0.0:
        assert_close(pyo.value(m.objective), float(np.sum(comm)))
    assert_budgets_match(inst, m, alloc)


@PROPERTY
@given(inst=instance_st, seed=seed_st, omega_t=omega_st, variant=variant_st)
def test_subproblem2_parametric_values_equal_evaluator(inst, seed, omega_t, variant):
    s = SolveSettings(omega_t=omega_t, objective=variant)
    rng = np.random.default_rng(seed)
    alloc = random_allocation(inst, rng, integer=False)
    m = build_subproblem2_parametric(inst, s)
    for n in range(inst.n_vehicles):
        m.p_w[n].set_value(float(alloc.p_w[n]))
        m.b_mhz[n].set_value(float(alloc.b_hz[n]) / HZ_PER_MHZ)
    comm = comm_cost(inst, omega_t, s.latency, alloc.p_w, alloc.b_hz)
    r = rates(inst, alloc.p_w, alloc.b_hz)
    numerator = (1.0 - omega_t) * alloc.p_w + (omega_t if s.latency else 0.0)
    beta = comm * rng.uniform(0.0, 2.0, inst.n_vehicles)
    nu = rng.uniform(0.0, 3.0, inst.n_vehicles)
    for n in range(inst.n_vehicles):
        m.beta[n] = float(beta[n])
        m.nu[n] = float(nu[n])
    terms = nu * (numerator - beta * r / inst.bits)
    scale = float(np.sum(np.abs(nu * numerator)) + np.sum(np.abs(nu * beta * r / inst.bits)))
    assert abs(pyo.value(m.objective) - float(np.sum(terms))) <= REL * max(scale, 1e-300)
    # Theorem 1: at beta = the ratios, the subtractive objective vanishes
    for n in range(inst.n_vehicles):
        m.beta[n] = float(comm[n])
        m.nu[n] = 1.0
    assert abs(pyo.value(m.objective)) <= REL * max(float(np.sum(numerator)), 1e-300)
    assert_budgets_match(inst, m, alloc)


# ---------------------------------------------------------------------------
# structure: domains, index sets, bounds, constraints
# ---------------------------------------------------------------------------


def _all_models(inst: Instance, s: SolveSettings) -> dict[str, pyo.ConcreteModel]:
    start = initial_allocation(inst, s)
    return {
        "p1": build_p1(inst, s),
        "sub1": build_subproblem1(inst, s, start),
        "sub2_epigraph": build_subproblem2_epigraph(inst, s),
        "sub2_parametric": build_subproblem2_parametric(inst, s),
    }


def test_p1_alpha_is_integer_in_one_to_layers(paper_instance, settings):
    m = build_p1(paper_instance, settings)
    for n in m.N:
        assert m.alpha[n].is_integer()
        assert m.alpha[n].bounds == (1, paper_instance.layers)


def test_subproblem1_alpha_is_continuous_in_one_to_layers(paper_instance, settings):
    m = build_subproblem1(paper_instance, settings, initial_allocation(paper_instance, settings))
    for n in m.N:
        assert m.alpha[n].is_continuous()
        assert m.alpha[n].bounds == (1, paper_instance.layers)


def test_subproblem1_fixes_power_and_bandwidth_as_mutable_params(small_instance, settings):
    start = initial_allocation(small_instance, settings)
    m = build_subproblem1(small_instance, settings, start)
    assert m.p_w.ctype is pyo.Param and m.p_w.mutable
    assert m.b_mhz.ctype is pyo.Param and m.b_mhz.mutable
    new = start.replace(p_w=start.p_w * 2.0, b_hz=start.b_hz * 0.5)
    update_radio(small_instance, m, new)
    for n in m.N:
        assert pyo.value(m.p_w[n]) == pytest.approx(new.p_w[n], rel=1e-15)
        assert pyo.value(m.b_mhz[n]) * HZ_PER_MHZ == pytest.approx(new.b_hz[n], rel=1e-15)


@pytest.mark.parametrize("inst", INSTANCES, ids=lambda i: i.name)
def test_f_rsu_is_indexed_by_served_pairs_only(inst, settings):
    for m in (build_p1(inst, settings), _all_models(inst, settings)["sub1"]):
        keys = list(m.f_rsu_ghz.keys())
        assert len(keys) == inst.n_vehicles
        assert keys == [(n, int(inst.association[n])) for n in range(inst.n_vehicles)]


@pytest.mark.parametrize("inst", INSTANCES, ids=lambda i: i.name)
def test_every_variable_has_bounds_and_a_value(inst, settings):
    for name, m in _all_models(inst, settings).items():
        for var in m.component_data_objects(pyo.Var):
            lb, ub = var.bounds
            assert lb is not None, f"{name}: {var.name} has no lower bound"
            if var.parent_component().local_name != "beta":  # epigraph variable, >= 0 only
                assert ub is not None, f"{name}: {var.name} has no upper bound"
                assert lb <= var.value <= ub, f"{name}: {var.name} starts outside its bounds"
            assert var.value is not None, f"{name}: {var.name} has no initial value"


def test_only_served_rsus_get_budget_constraints(unserved_instance, settings):
    served = {int(r) for r in unserved_instance.served_rsus}
    assert served != set(range(unserved_instance.n_rsus))
    models = _all_models(unserved_instance, settings)
    for name in ("p1", "sub2_epigraph", "sub2_parametric"):
        assert set(models[name].bandwidth_budget.keys()) == served, name
    for name in ("p1", "sub1"):
        assert set(models[name].frequency_budget.keys()) == served, name
    assert not hasattr(models["sub1"], "bandwidth_budget")


def test_budget_constraints_are_equalities_with_the_rsu_budgets(small_instance, settings):
    m = build_p1(small_instance, settings)
    for r in small_instance.served_rsus:
        bw = m.bandwidth_budget[r]
        fr = m.frequency_budget[r]
        assert bw.equality and fr.equality
        assert pyo.value(bw.upper) == small_instance.rsu["bandwidth_hz"][r] / HZ_PER_MHZ
        assert pyo.value(fr.upper) == small_instance.rsu["f_max_hz"][r] / HZ_PER_GHZ


def test_constraint_docs_start_with_their_equation_number(small_instance, settings):
    models = _all_models(small_instance, settings)
    assert models["p1"].bandwidth_budget.doc.startswith("(10c)")
    assert models["p1"].frequency_budget.doc.startswith("(10e)")
    assert models["sub2_epigraph"].ratio_epigraph.doc.startswith("(42a)")


def test_default_start_is_the_feasible_initial_point(small_instance, settings):
    m = build_p1(small_instance, settings)
    start = allocation_from_model(small_instance, m)
    expected = initial_allocation(small_instance, settings)
    for k in ("alpha", "p_w", "b_hz", "f_vehicle_hz", "f_rsu_hz"):
        np.testing.assert_allclose(getattr(start, k), getattr(expected, k), rtol=1e-14)


def test_objectives_are_minimised(small_instance, settings):
    for name, m in _all_models(small_instance, settings).items():
        assert m.objective.sense == pyo.minimize, name


def test_writing_a_point_leaves_fixed_variables_alone():
    """set_model_values overwrote a fixed f_vehicle_ghz (0.30 -> 1.3 GHz): it changed the model."""
    from llmv2x.instances import generate_instance
    from llmv2x.models.p1 import build_p1, set_model_values
    from llmv2x.solvers.methods import get_method

    inst = generate_instance(seed=1, vehicles=4, rsus=2)
    st = SolveSettings()
    res = get_method("exact")(inst, st)
    m = build_p1(inst, st)
    m.f_vehicle_ghz[0].fix(0.3017)
    set_model_values(inst, m, res.allocation)
    assert m.f_vehicle_ghz[0].value == 0.3017
    assert m.f_vehicle_ghz[1].value == pytest.approx(res.allocation.f_vehicle_hz[1] / 1e9)
