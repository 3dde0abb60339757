"""The evaluator under every problem variant, and P1 left exactly as it was
(docs/formulation.md#problem-variants, docs/result-format.md)."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from llmv2x.instances import generate_instance, load_instance
from llmv2x.models import physics
from llmv2x.models.allocation import Allocation
from llmv2x.models.evaluator import DEFAULT_KEYS, evaluate, link_gains, violations
from llmv2x.problem import Problem
from llmv2x.results import Result, audit, make_result
from llmv2x.settings import SolveSettings
from llmv2x.solvers.initial import initial_allocation

#: ``llmv2x solve instances/small-seed0.json --method ao -o r.json`` as written before the
#: problem family existed (format 1): its objective and metrics are the "before" numbers.
FORMAT_1_RESULT = {
    "format": "llmv2x-result/1",
    "instance": "small-seed0",
    "method": "ao",
    "objective_variant": "paper",
    "omega_t": 0.5,
    "status": "converged",
    "objective": 3595.402562712762,
    "lower_bound": None,
    "alpha": [1, 1, 32, 1, 1, 1],
    "p_w": [0.1, 0.1, 0.1, 0.1, 0.1, 0.1],
    "b_hz": [
        2772198.9435137436,
        4671363.57785758,
        2539903.9041642984,
        3988606.522556122,
        2713674.4512991505,
        3314252.600609103,
    ],
    "f_vehicle_hz": [301703274.1848306] * 6,
    "f_rsu_hz": [151887645.6472478] * 2 + [650561771.763761] + [151887645.6472478] * 3,
    "metrics": {
        "compute_time_s": 10.058563017072533,
        "transmit_time_s": 71757.17280899917,
        "completion_time_s": 71767.23137201623,
        "vehicle_energy_j": 0.937213302586747,
        "transmit_energy_j": 7175.717280899916,
        "rsu_energy_j": 4.092068205949519,
        "energy_j": 7180.746562408452,
    },
    "solve_time_s": 1.2994386860000304,
    "solvers": {"qp": "highs 1.16.0", "nlp": "cyipopt 1.7.0 (ipopt 3.11.9)"},
    "iterations": 40,
}


def equal_split(instance, association, alpha=None) -> Allocation:
    """Each RSU splits its bandwidth and frequency equally among the vehicles that picked
    it; p = p_max, f_n = f_max."""
    assoc = np.asarray(association, np.int64)
    count = np.bincount(assoc, minlength=instance.n_rsus)[assoc]
    v = instance.vehicle
    return Allocation(
        alpha=np.full(instance.n_vehicles, 4.0) if alpha is None else alpha,
        p_w=v["p_max_w"],
        b_hz=instance.rsu["bandwidth_hz"][assoc] / count,
        f_vehicle_hz=v["f_max_hz"],
        f_rsu_hz=instance.rsu["f_max_hz"][assoc] / count,
        association=assoc,
    )


def limits(instance, deadline=None, energy=None):
    """``instance`` with per-vehicle deadlines and energy budgets (NaN: none)."""
    kw = {}
    if deadline is not None:
        kw["deadline_s"] = np.asarray(deadline, float)
    if energy is not None:
        kw["energy_budget_j"] = np.asarray(energy, float)
    return dataclasses.replace(instance, **kw)


# ----- P1 unchanged -----


def test_a_format_1_result_recomputes_to_its_recorded_numbers():
    inst = load_instance("instances/small-seed0.json")
    res = Result.from_dict(json.loads(json.dumps(FORMAT_1_RESULT)))
    assert res.problem == Problem() and res.allocation.association is None
    found = audit(inst, res)
    assert found.ok, found.problems
    assert found.objective == pytest.approx(FORMAT_1_RESULT["objective"], rel=1e-12)
    for k, v in FORMAT_1_RESULT["metrics"].items():
        assert found.metrics[k] == pytest.approx(v, rel=1e-12), k


def _p1_by_hand(inst, a: Allocation, omega_t: float) -> float:
    """Objective (10) from physics, with the instance's association (as before variants)."""
    v = inst.vehicle
    rate = physics.uplink_rate(a.b_hz, a.p_w, inst.gain, inst.noise_psd_w_per_hz)
    return float(
        np.sum(a.alpha * physics.layer_cost(omega_t, inst.psi, a.f_vehicle_hz, v["kappa"],
                                            v["gpu_cores"], v["flops_per_cycle"]))
        + np.sum((inst.layers - a.alpha) * physics.layer_cost(
            omega_t, inst.psi, a.f_rsu_hz, inst.rsu_of("kappa"), inst.rsu_of("gpu_cores"),
            inst.rsu_of("flops_per_cycle")))
        + np.sum(physics.transmit_cost(omega_t, a.p_w, inst.bits, rate, False))
    )  # fmt: skip


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_default_numbers_are_the_same_whichever_way_the_association_is_given(seed):
    inst = generate_instance(seed=seed)
    s = SolveSettings(omega_t=0.3)
    base = initial_allocation(inst, s)
    base = base.replace(alpha=1.0 + np.arange(inst.n_vehicles) % inst.layers)
    before = evaluate(inst, base, s)
    assert before.feasible and list(before.violations) == list(DEFAULT_KEYS)
    assert before.objective == pytest.approx(_p1_by_hand(inst, base, 0.3), rel=1e-12)
    for alloc in (base.replace(association=inst.association), base):
        for problem in (None, Problem(), Problem(budgets="equality", association="fixed")):
            after = evaluate(inst, alloc, s, problem=problem)
            assert after.objective == before.objective
            assert after.metrics == before.metrics
            assert after.violations == before.violations
            assert after.worst == ""
    res = make_result(inst, s, "initial", base, "feasible", 0.0)
    assert res.objective == before.objective
    assert np.array_equal(res.allocation.association, inst.association)
    assert res.problem == Problem()


# ----- budgets -----


def test_inequality_budgets_accept_slack_and_refuse_excess(small_instance, settings):
    inst = small_instance
    a = equal_split(inst, inst.association)
    assert evaluate(inst, a, settings).feasible
    slack = a.replace(b_hz=a.b_hz * 0.9, f_rsu_hz=a.f_rsu_hz * 0.8)
    eq = evaluate(inst, slack, settings)
    assert not eq.feasible and eq.violations["10c"] == pytest.approx(0.1)
    assert eq.violations["10e"] == pytest.approx(0.2)
    ineq = SolveSettings(budgets="inequality")
    ev = evaluate(inst, slack, ineq)
    assert ev.feasible and ev.violations["10c"] == 0.0 and ev.violations["10e"] == 0.0
    over = a.replace(b_hz=a.b_hz * 1.01)
    ev = evaluate(inst, over, ineq)
    assert not ev.feasible and ev.violations["10c"] == pytest.approx(0.01)


# ----- deadlines and energy budgets -----


def test_deadlines_hold_to_1e_6_and_name_the_vehicle(small_instance, settings):
    a = equal_split(small_instance, small_instance.association)
    per = evaluate(small_instance, a, settings).metrics  # sums; per vehicle below
    from llmv2x.models.evaluator import vehicle_metrics

    t = vehicle_metrics(small_instance, a)["completion_time_s"]
    assert per["completion_time_s"] == pytest.approx(float(np.sum(t)))
    loose = limits(small_instance, deadline=t * (1 - 5e-7))  # within 1e-6 relative
    ev = evaluate(loose, a, settings)
    assert ev.feasible and 0 < ev.violations["deadline"] <= 1e-6
    d = t.copy()
    d[1] = np.nan  # no deadline for vehicle 1
    d[3] = t[3] * 0.99
    tight = limits(small_instance, deadline=d)
    ev = evaluate(tight, a, settings)
    assert not ev.feasible and ev.worst == "deadline[3]"
    assert ev.violations["deadline"] == pytest.approx(1 / 0.99 - 1)
    res = make_result(tight, settings, "initial", a, "feasible", 0.0)
    assert res.status == "error" and "(deadline[3]) violated by 0.0101" in res.message
    d[1] = t[1] * 0.5  # vehicle 1 now breaks it by more
    assert evaluate(limits(small_instance, deadline=d), a, settings).worst == "deadline[1]"


def test_energy_budgets_count_the_vehicles_own_energy(small_instance, settings):
    from llmv2x.models.evaluator import vehicle_metrics

    a = equal_split(small_instance, small_instance.association)
    per = vehicle_metrics(small_instance, a)
    own = per["vehicle_energy_j"] + per["transmit_energy_j"]
    assert evaluate(limits(small_instance, energy=own), a, settings).feasible
    e = own.copy()
    e[5] = own[5] * (1 - 1e-5)
    ev = evaluate(limits(small_instance, energy=e), a, settings)
    assert not ev.feasible and ev.worst == "energy_budget[5]"
    # the RSU's energy is not the vehicle's: a budget between the two holds
    both = own + per["rsu_energy_j"]
    assert evaluate(limits(small_instance, energy=(own + both) / 2), a, settings).feasible


# ----- association -----


def test_association_decision_uses_the_chosen_link(settings):
    inst = generate_instance(seed=4, name="tiny", vehicles=6, rsus=3)
    other = (inst.association + 1) % inst.n_rsus
    a = equal_split(inst, other)
    decide = SolveSettings(association="decision")
    ev = evaluate(inst, a, decide)
    assert ev.feasible and ev.violations["association"] == 0.0
    gain = inst.channel_gain[np.arange(6), other]
    rate = physics.uplink_rate(a.b_hz, a.p_w, gain, inst.noise_psd_w_per_hz)
    comm = physics.transmit_cost(0.5, a.p_w, inst.bits, rate, False)
    assert ev.communication_part == pytest.approx(float(np.sum(comm)), rel=1e-12)
    # the RSU's own GPU prices the offloaded layers
    assert ev.objective != pytest.approx(evaluate(inst, equal_split(inst, inst.association),
                                                  decide).objective, rel=1e-6)  # fmt: skip
    fixed = evaluate(inst, a, settings)
    assert not fixed.feasible and fixed.violations["association"] == 1.0
    first = int(np.flatnonzero(other != inst.association)[0])
    assert fixed.worst == f"association[{first}]"


def test_association_decision_refuses_an_rsu_without_a_link(settings):
    inst = generate_instance(seed=2, name="sparse", vehicles=8, rsus=4, links=1)
    assoc = inst.association.copy()
    n = 5
    missing = next(m for m in range(inst.n_rsus) if m not in inst.candidates(n))
    assoc[n] = missing
    assert not link_gains(inst, assoc)[1][n]
    ev = evaluate(inst, equal_split(inst, assoc), SolveSettings(association="decision"))
    assert not ev.feasible and ev.worst == f"association[{n}]"
    assoc[n] = 99  # not an RSU at all
    ev = evaluate(inst, equal_split(inst, inst.association).replace(association=assoc),
                  SolveSettings(association="decision"))  # fmt: skip
    assert not ev.feasible and ev.worst == f"association[{n}]"


def test_unpicked_rsus_have_no_budget_under_decision(unserved_instance):
    inst = unserved_instance
    assoc = np.zeros(inst.n_vehicles, np.int64)  # everyone on RSU 0 (dense: a link each)
    viol = violations(inst, equal_split(inst, assoc), Problem(association="decision"))
    assert viol["10c"] == pytest.approx(0.0, abs=1e-15) and viol["association"] == 0.0


# ----- results -----


def test_format_2_results_round_trip_with_problem_and_association(small_instance, tmp_path):
    inst = limits(small_instance, energy=np.full(6, 1e6))
    s = SolveSettings(budgets="inequality", association="decision")
    a = equal_split(inst, np.zeros(6, np.int64)).replace(b_hz=np.full(6, 1e6))
    res = make_result(inst, s, "initial", a, "feasible", 0.0)
    assert res.ok, res.message
    d = json.loads(res.to_json())
    assert d["format"] == "llmv2x-result/2" and d["association"] == [0] * 6
    assert d["problem"] == {
        "budgets": "inequality",
        "association": "decision",
        "deadlines": False,
        "energy_budgets": True,
    }
    for path in (tmp_path / "r.json", tmp_path / "r.npz"):
        res.save(path)
        back = Result.load(path)
        assert back.problem == res.problem and back.to_dict() == res.to_dict()
        found = audit(inst, back)
        assert found.ok, found.problems
    # recomputed under the result's own problem: P1 refuses the same point
    as_p1 = Result.from_dict({**d, "problem": Problem().to_dict()})
    found = audit(inst, as_p1)
    assert not found.ok
    assert any(p.startswith("problem.energy_budgets: recorded false") for p in found.problems)
    assert any("(association[" in p or "(10c)" in p for p in found.problems)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"association": [0, 1]}, "association: 2 entries, alpha has 6"),
        ({"association": [0, 0, 0, 0, 0, -1]}, "association[5]: -1 is not an RSU index"),
        ({"association": [0, 0, 0, 0, 0, 0.5]}, "association[5]: expected an RSU index"),
        ({"problem": {"budgets": "equality"}}, "problem.association: missing key"),
        ({"format": "llmv2x-result/3"}, "format: expected 'llmv2x-result/2'"),
    ],
)
def test_format_2_refusals_name_the_field(small_instance, settings, change, message):
    from llmv2x.errors import ResultError

    res = make_result(small_instance, settings, "initial",
                      initial_allocation(small_instance, settings), "feasible", 0.0)  # fmt: skip
    with pytest.raises(ResultError) as info:
        Result.from_dict({**res.to_dict(), **change})
    assert str(info.value).startswith(message)
