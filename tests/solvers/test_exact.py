"""Method ``exact``: each step of the optimality argument of docs/exact.md, and the result."""

from __future__ import annotations

import functools
import itertools
import time

import numpy as np
import pytest
from scipy.optimize import minimize

from llmv2x.instances import Instance, generate_instance
from llmv2x.models.allocation import Allocation
from llmv2x.models.constants import F_RSU_FLOOR_HZ
from llmv2x.models.evaluator import cost_terms, evaluate
from llmv2x.settings import SolveSettings
from llmv2x.solvers.exact import _dominance, _Problem, optimal_split, solve_exact
from llmv2x.solvers.frequencies import optimal_frequencies, split_rsu_frequencies

OMEGAS = (0.0, 0.1, 0.5, 0.9, 1.0)
VARIANTS = ("paper", "latency")


def hetero(seed: int, **kw) -> Instance:
    """A generated instance whose vehicles have different GPUs (kappa, cores, f_max), so the
    dominance order is partial and the branch and bound runs."""
    d = generate_instance(seed=seed, **kw).to_dict()
    rng = np.random.default_rng(seed + 100)
    for v in d["vehicles"]:
        v["kappa"] *= float(rng.uniform(0.3, 3.0))
        v["gpu_cores"] = int(rng.choice([1024, 2048, 4096]))
        v["f_max_hz"] = float(rng.choice([0.8e9, 1.3e9, 2.0e9]))
    return Instance.from_dict(d)


def compute_part(inst: Instance, settings: SolveSettings, alpha: np.ndarray) -> float:
    """Sub-problem I's objective (11) at alpha with the optimal frequencies, via the evaluator."""
    fv, fr = optimal_frequencies(inst, settings, alpha)
    n = inst.n_vehicles
    alloc = Allocation(alpha, inst.vehicle["p_min_w"], np.full(n, 1e6), fv, fr)
    return cost_terms(inst, alloc, settings).compute


def brute_force(inst: Instance, settings: SolveSettings, values) -> tuple[float, np.ndarray]:
    """Minimum of the compute part over alpha in values^N, each alpha with optimal frequencies."""
    best, arg = np.inf, None
    for alpha in itertools.product(values, repeat=inst.n_vehicles):
        a = np.asarray(alpha, float)
        c = compute_part(inst, settings, a)
        if c < best:
            best, arg = c, a
    return best, arg


# ----- step 1: the objective separates -----------------------------------------------------


@pytest.mark.parametrize("variant", VARIANTS)
def test_objective_separates_into_compute_and_communication(small_instance, variant):
    inst, s = small_instance, SolveSettings(omega_t=0.3, objective=variant)
    rng = np.random.default_rng(0)
    n = inst.n_vehicles

    def random_alloc():
        b = np.empty(n)
        fr = np.empty(n)
        for m in inst.served_rsus:
            idx = inst.members[m]
            b[idx] = rng.dirichlet(np.ones(len(idx))) * inst.rsu["bandwidth_hz"][m]
            fr[idx] = rng.dirichlet(np.ones(len(idx))) * inst.rsu["f_max_hz"][m]
        return Allocation(
            rng.integers(1, inst.layers + 1, n).astype(float),
            rng.uniform(inst.vehicle["p_min_w"], inst.vehicle["p_max_w"]),
            b,
            rng.uniform(inst.vehicle["f_min_hz"], inst.vehicle["f_max_hz"]),
            fr,
        )

    a1, a2 = random_alloc(), random_alloc()
    mixed = a1.replace(p_w=a2.p_w, b_hz=a2.b_hz)  # compute variables of a1, radio of a2
    t1, t2, tm = (cost_terms(inst, a, s) for a in (a1, a2, mixed))
    assert tm.compute == t1.compute
    assert tm.communication == t2.communication
    assert tm.total == pytest.approx(t1.compute + t2.communication, rel=1e-15)


# ----- step 3: concavity in relaxed alpha, extreme alpha, RSU independence ---------------------


@pytest.mark.parametrize("omega_t", (0.1, 0.5, 0.9))
def test_compute_part_is_concave_in_relaxed_alpha(small_instance, omega_t):
    inst, s = small_instance, SolveSettings(omega_t=omega_t)
    rng = np.random.default_rng(1)
    for _ in range(30):
        a1, a2 = rng.uniform(1, inst.layers, (2, inst.n_vehicles))
        mid = compute_part(inst, s, (a1 + a2) / 2)
        chord = (compute_part(inst, s, a1) + compute_part(inst, s, a2)) / 2
        assert mid >= chord * (1 - 1e-12)


@pytest.mark.parametrize("omega_t", OMEGAS)
def test_brute_force_over_every_integer_alpha_four_layers(omega_t):
    """All 4^5 alpha with optimal frequencies: the minimum is exact's, at alpha in {1, 4}."""
    inst = generate_instance(seed=1, vehicles=5, rsus=2, layers=4)
    s = SolveSettings(omega_t=omega_t)
    best, arg = brute_force(inst, s, range(1, inst.layers + 1))
    sol = optimal_split(inst, s)
    assert sol.certified
    assert sol.value == pytest.approx(best, rel=1e-9)
    assert compute_part(inst, s, sol.alpha) == pytest.approx(best, rel=1e-9)
    assert set(sol.alpha) <= {1.0, float(inst.layers)}
    assert set(arg) <= {1.0, float(inst.layers)} or compute_part(inst, s, arg) >= sol.value


@pytest.mark.parametrize("omega_t", (0.1, 0.5, 0.9, 1.0))
def test_brute_force_three_layers_six_vehicles(omega_t):
    inst = generate_instance(seed=4, vehicles=6, rsus=2, layers=3)
    s = SolveSettings(omega_t=omega_t)
    best, _ = brute_force(inst, s, range(1, 4))
    assert optimal_split(inst, s).value == pytest.approx(best, rel=1e-9)


@functools.lru_cache
def _extreme_instance(kind: str) -> Instance:
    if kind == "identical":
        return generate_instance(seed=6, vehicles=8, rsus=2)
    if kind == "hetero":
        return hetero(6, vehicles=8, rsus=2)
    return hetero(3, vehicles=10, rsus=1)  # "crowded"


@functools.lru_cache
def _extreme_brute_force(kind: str, omega_t: float) -> float:
    """Brute-force minimum over alpha in {1, Upsilon}^N, computed once per (instance, omega_t)."""
    inst = _extreme_instance(kind)
    return brute_force(inst, SolveSettings(omega_t=omega_t), (1, inst.layers))[0]


def _force_search(monkeypatch):
    """Send every RSU to the branch and bound instead of the enumeration of its up-sets."""
    import llmv2x.solvers.exact as exact_module

    monkeypatch.setattr(exact_module, "ENUMERATE_MAX_PAIRS", 0)
    monkeypatch.setattr(exact_module, "ENUMERATE_MAX_K_PARTIAL", 0)


@pytest.mark.parametrize("omega_t", OMEGAS)
@pytest.mark.parametrize("kind", ["identical", "hetero", "identical-search", "hetero-search"])
def test_brute_force_over_extreme_alpha_32_layers(monkeypatch, omega_t, kind):
    """All 2^8 alpha in {1, 32}^8, through both paths: enumeration (chain or up-sets of a
    partial order) and the branch and bound."""
    if kind.endswith("search"):
        _force_search(monkeypatch)
    inst = _extreme_instance(kind.split("-")[0])
    s = SolveSettings(omega_t=omega_t)
    best = _extreme_brute_force(kind.split("-")[0], omega_t)
    sol = optimal_split(inst, s)
    assert sol.certified
    assert sol.value == pytest.approx(best, rel=1e-9)
    assert sol.lower_bound <= sol.value * (1 + 1e-12)
    assert sol.lower_bound >= best * (1 - 1e-9)


@pytest.mark.parametrize("omega_t", (0.5, 1.0))
@pytest.mark.parametrize("path", ["enumerate", "search"])
def test_crowded_rsus_match_brute_force(monkeypatch, omega_t, path):
    """One RSU with 10 heterogeneous vehicles: all 1024 subsets against both paths."""
    if path == "search":
        _force_search(monkeypatch)
    inst = _extreme_instance("crowded")
    s = SolveSettings(omega_t=omega_t)
    best = _extreme_brute_force("crowded", omega_t)
    sol = optimal_split(inst, s)
    assert sol.certified
    assert sol.value == pytest.approx(best, rel=1e-9)


def test_rsus_are_independent_given_the_association(small_instance):
    inst, s = small_instance, SolveSettings(omega_t=0.5)
    rng = np.random.default_rng(2)
    base = rng.uniform(1, inst.layers, inst.n_vehicles)
    m0, m1 = inst.served_rsus[:2]
    idx0, idx1 = inst.members[m0], inst.members[m1]
    fr = split_rsu_frequencies(inst, s, base).f_rsu_hz
    changed = base.copy()
    changed[idx1] = rng.uniform(1, inst.layers, len(idx1))
    fr2 = split_rsu_frequencies(inst, s, changed).f_rsu_hz
    assert np.array_equal(fr[idx0], fr2[idx0])


# ----- step 4: the per-RSU search ----------------------------------------------------------


def test_dominance_lemma_on_every_subset():
    """Some optimal subset is closed under dominance: j offloads => every i dominating j does."""
    inst = hetero(9, vehicles=9, rsus=1)
    for omega_t in (0.3, 0.9):
        s = SolveSettings(omega_t=omega_t)
        dom = _dominance(_Problem.build(inst, s), inst.members[0])
        values = {}
        for alpha in itertools.product((1.0, float(inst.layers)), repeat=inst.n_vehicles):
            values[alpha] = compute_part(inst, s, np.asarray(alpha))
        best = min(values.values())
        closed = [
            v
            for a, v in values.items()
            if not any(a[j] == 1.0 and a[i] != 1.0 for i, j in zip(*np.nonzero(dom), strict=True))
        ]
        assert min(closed) == pytest.approx(best, rel=1e-12)


def test_all_offload_leaf_uses_the_equality_split():
    """Few vehicles, energy-heavy weights: everyone offloads and the shares still sum to F_m."""
    inst = generate_instance(seed=0, vehicles=6, rsus=3)
    s = SolveSettings(omega_t=0.1)
    res = solve_exact(inst, s)
    alpha = res.allocation.alpha
    for m in inst.served_rsus:
        idx = inst.members[m]
        if np.all(alpha[idx] == 1):
            assert np.sum(res.allocation.f_rsu_hz[idx]) == pytest.approx(
                inst.rsu["f_max_hz"][m], rel=1e-15
            )
    assert np.any(alpha == 1)
    ev = evaluate(inst, res.allocation, s)
    assert ev.compute_part == pytest.approx(compute_part(inst, s, alpha), rel=1e-12)


@pytest.mark.parametrize("omega_t", (0.3, 0.7))
def test_random_start_local_solves_are_never_better(small_instance, omega_t):
    """SLSQP on relaxed sub-problem I (alpha, f^V, f^R continuous) from random starts."""
    inst, s = small_instance, SolveSettings(omega_t=omega_t)
    exact = optimal_split(inst, s).value
    n, v = inst.n_vehicles, inst.vehicle
    rng = np.random.default_rng(4)

    def unpack(z):
        return z[:n], z[n : 2 * n] * 1e9, z[2 * n :] * 1e9

    def obj(z):
        a, fv, fr = unpack(z)
        alloc = Allocation(a, v["p_min_w"], np.full(n, 1e6), fv, fr)
        return cost_terms(inst, alloc, s).compute

    bounds = (
        [(1.0, float(inst.layers))] * n
        + [(lo / 1e9, hi / 1e9) for lo, hi in zip(v["f_min_hz"], v["f_max_hz"], strict=True)]
        + [(F_RSU_FLOOR_HZ / 1e9, inst.rsu["f_max_hz"].max() / 1e9)] * n
    )
    cons = [
        {
            "type": "eq",
            "fun": lambda z, idx=inst.members[m], fm=inst.rsu["f_max_hz"][m] / 1e9: (
                np.sum(z[2 * n + idx]) - fm
            ),
        }
        for m in inst.served_rsus
    ]
    for _ in range(3):
        fr0 = np.empty(n)
        for m in inst.served_rsus:
            idx = inst.members[m]
            fr0[idx] = rng.dirichlet(np.ones(len(idx))) * inst.rsu["f_max_hz"][m] / 1e9
        z0 = np.concatenate(
            [
                rng.uniform(1, inst.layers, n),
                rng.uniform(v["f_min_hz"], v["f_max_hz"]) / 1e9,
                fr0,
            ]
        )
        res = minimize(obj, z0, method="SLSQP", bounds=bounds, constraints=cons)
        a, fv, fr = unpack(res.x)
        # project onto the feasible set before comparing
        fr = np.maximum(fr, F_RSU_FLOOR_HZ)
        for m in inst.served_rsus:
            idx = inst.members[m]
            fr[idx] *= inst.rsu["f_max_hz"][m] / np.sum(fr[idx])
        z = np.concatenate([np.clip(a, 1, inst.layers), fv / 1e9, fr / 1e9])
        assert obj(z) >= exact * (1 - 1e-9)


# ----- the result --------------------------------------------------------------------------


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("omega_t", OMEGAS)
def test_result_is_optimal_verified_and_bounded(paper_instance, omega_t, variant):
    s = SolveSettings(omega_t=omega_t, objective=variant)
    res = solve_exact(paper_instance, s)
    assert res.method == "exact"
    assert res.status == "optimal"
    assert res.lower_bound == res.objective
    assert res.solvers == {"exact": "llmv2x structure"}
    ev = evaluate(paper_instance, res.allocation, s)
    assert ev.feasible
    assert ev.objective == pytest.approx(res.objective, rel=1e-12)
    assert set(res.allocation.alpha) <= {1.0, float(paper_instance.layers)}
    if variant == "paper":
        assert np.array_equal(res.allocation.p_w, paper_instance.vehicle["p_min_w"])


@pytest.mark.parametrize("variant", VARIANTS)
def test_unserved_rsu(unserved_instance, variant):
    s = SolveSettings(objective=variant)
    res = solve_exact(unserved_instance, s)
    assert res.status == "optimal"
    assert evaluate(unserved_instance, res.allocation, s).feasible


def test_single_layer_model_has_nothing_to_split():
    inst = generate_instance(seed=2, vehicles=5, rsus=2, layers=1)
    res = solve_exact(inst, SolveSettings())
    assert res.status == "optimal"
    assert np.all(res.allocation.alpha == 1)


def test_heterogeneous_result_is_optimal_and_beats_every_extreme_neighbour():
    inst = hetero(5, vehicles=40, rsus=2)
    s = SolveSettings(omega_t=0.6)
    res = solve_exact(inst, s)
    assert res.status == "optimal" and res.lower_bound == res.objective
    base = evaluate(inst, res.allocation, s).compute_part
    for n in range(inst.n_vehicles):  # flipping any one vehicle never helps
        a = res.allocation.alpha.copy()
        a[n] = 1.0 if a[n] != 1.0 else float(inst.layers)
        assert compute_part(inst, s, a) >= base * (1 - 1e-12)


def test_time_limit_reports_the_proven_bound():
    inst = hetero(1, vehicles=100, rsus=5)
    s = SolveSettings(omega_t=0.5, time_limit=1e-9)
    res = solve_exact(inst, s)  # the deadline passes before the branch and bound starts
    assert res.status == "time_limit"
    assert evaluate(inst, res.allocation, s).feasible
    full = solve_exact(inst, SolveSettings(omega_t=0.5))
    assert full.status == "optimal"
    assert res.lower_bound < res.objective
    assert res.lower_bound <= full.objective * (1 + 1e-12)
    assert res.objective >= full.objective * (1 - 1e-12)


@pytest.mark.parametrize(
    "make",
    [
        lambda: generate_instance(seed=0, vehicles=100, rsus=5),
        lambda: generate_instance(seed=0, vehicles=200, rsus=8),
        lambda: hetero(2, vehicles=200, rsus=8),
    ],
    ids=["100x5", "200x8", "hetero-200x8"],
)
def test_twenty_plus_vehicles_per_rsu_solve_fast(make):
    inst = make()
    for omega_t in (0.1, 0.9):
        t0 = time.perf_counter()
        res = solve_exact(inst, SolveSettings(omega_t=omega_t, objective="latency"))
        assert time.perf_counter() - t0 < 10.0
        assert res.status == "optimal"


def test_lagrangian_node_bound_never_exceeds_its_best_completion():
    """Weak duality of the branch-and-bound bound: for random nodes (some vehicles fixed to
    offload or local) the bound is at most the exact minimum over the node's completions
    with at least one local vehicle."""
    from llmv2x.solvers.exact import _bound, _sigma_grid, _tables

    inst = hetero(7, vehicles=8, rsus=1)
    rng = np.random.default_rng(0)
    for omega_t in (0.2, 0.6, 1.0):
        s = SolveSettings(omega_t=omega_t)
        p = _Problem.build(inst, s)
        idx = inst.members[0]
        k = len(idx)
        grid = _sigma_grid(p, idx, np.zeros(k, int), 1)
        off, loc = _tables(p, idx, np.broadcast_to(grid, (k, grid.shape[1])))
        values = {}
        for mask in itertools.product((0, 1), repeat=k):  # 1 = local
            if any(mask):
                offload = np.array(mask) == 0
                values[mask] = p.leaf_values(idx, np.zeros(k, int), offload, 1)[0]
        for _ in range(40):
            state = rng.choice([-1, -1, 0, 1], size=k).astype(np.int8)
            comps = [
                v
                for m, v in values.items()
                if all(state[i] < 0 or state[i] == m[i] for i in range(k))
            ]
            bound, _ = _bound(grid[0], off, loc, float(inst.rsu["f_max_hz"][0]), state)
            if comps:
                assert bound <= min(comps) * (1 + 1e-12)


def test_heterogeneous_instances_exercise_the_branch_and_bound():
    """The hetero fixtures really have incomparable vehicles (a partial dominance order)."""
    inst = hetero(6, vehicles=8, rsus=2)
    p = _Problem.build(inst, SolveSettings(omega_t=0.5))
    partial = False
    for m in inst.served_rsus:
        dom = _dominance(p, inst.members[m])
        comparable = dom | dom.T | np.eye(len(dom), dtype=bool)
        partial |= not comparable.all()
    assert partial
    ident = generate_instance(seed=6, vehicles=8, rsus=2)
    p = _Problem.build(ident, SolveSettings(omega_t=0.5))
    for m in ident.served_rsus:
        dom = _dominance(p, ident.members[m])
        assert (dom | dom.T | np.eye(len(dom), dtype=bool)).all()


@pytest.mark.parametrize("omega_t", (0.2, 0.6, 1.0))
def test_long_chain_search_agrees_with_enumeration(monkeypatch, omega_t):
    """An RSU with 80 identical-hardware vehicles: the branch and bound (used above
    ENUMERATE_MAX_PAIRS) and the enumeration of all 81 threshold sets give the same optimum."""
    import llmv2x.solvers.exact as exact_module

    inst = generate_instance(seed=3, vehicles=80, rsus=1)
    s = SolveSettings(omega_t=omega_t)
    searched = optimal_split(inst, s)
    monkeypatch.setattr(exact_module, "ENUMERATE_MAX_PAIRS", 10**6)
    enumerated = optimal_split(inst, s)
    assert searched.certified and enumerated.certified
    assert searched.value == pytest.approx(enumerated.value, rel=1e-12)
    assert searched.nodes < enumerated.nodes
