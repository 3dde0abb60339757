"""The generator's deadlines and energy budgets by the reference-allocation rule
(docs/data-format.md): feasible by construction for tightness >= 1."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from llmv2x.instances import generate_instance, load_instance
from llmv2x.instances.generate import (
    binding_at_reference,
    reference_allocation,
    reference_limits,
)
from llmv2x.models import physics
from llmv2x.models.evaluator import evaluate, vehicle_metrics
from llmv2x.problem import Problem
from llmv2x.settings import SolveSettings


@pytest.mark.parametrize("seed", [0, 3])
@pytest.mark.parametrize(("tau_d", "tau_e"), [(1.0, 1.0), (1.5, 1.02), (2.0, None), (None, 1.2)])
def test_the_reference_allocation_is_feasible_for_tightness_at_least_one(seed, tau_d, tau_e):
    inst = generate_instance(seed=seed, deadline_tightness=tau_d, energy_tightness=tau_e)
    assert inst.has_deadlines == (tau_d is not None)
    assert inst.has_energy_budgets == (tau_e is not None)
    r = reference_allocation(inst)
    for budgets in ("equality", "inequality"):
        s = SolveSettings(budgets=budgets)
        ev = evaluate(inst, r, s)
        assert ev.feasible, (budgets, ev.worst, ev.violations)
        assert Problem.of(inst, s).deadlines == (tau_d is not None)
        if tau_d is not None:
            assert "deadline" in ev.violations
    deadlines, energy = binding_at_reference(inst)
    assert deadlines == (inst.n_vehicles if tau_d == 1.0 else 0)
    assert energy == (inst.n_vehicles if tau_e == 1.0 else 0)


def test_reference_allocation_follows_the_rule():
    inst = generate_instance(seed=1, vehicles=12, rsus=3)
    r = reference_allocation(inst)
    for m, members in enumerate(inst.members):
        if len(members):
            assert np.allclose(r.b_hz[members], inst.rsu["bandwidth_hz"][m] / len(members))
            assert np.allclose(r.f_rsu_hz[members], inst.rsu["f_max_hz"][m] / len(members))
    assert np.array_equal(r.p_w, inst.vehicle["p_max_w"])
    assert np.array_equal(r.f_vehicle_hz, inst.vehicle["f_max_hz"])
    # alpha minimises the completion time among all alpha in 1..Upsilon, ties to the smaller
    for n in range(inst.n_vehicles):
        times = [
            vehicle_metrics(inst, r.replace(alpha=np.where(np.arange(12) == n, a, r.alpha)))[
                "completion_time_s"
            ][n]
            for a in range(1, inst.layers + 1)
        ]
        assert r.alpha[n] == 1 + int(np.argmin(times))
    t, e = reference_limits(inst)
    per = vehicle_metrics(inst, r)
    assert np.allclose(t, per["completion_time_s"], rtol=1e-15)
    own = r.alpha * physics.compute_energy(
        inst.psi, r.f_vehicle_hz, inst.vehicle["kappa"], inst.vehicle["gpu_cores"],
        inst.vehicle["flops_per_cycle"]
    ) + per["transmit_energy_j"]  # fmt: skip
    assert np.allclose(e, own, rtol=1e-12)


def test_tight_limits_below_one_make_the_reference_infeasible():
    inst = generate_instance(seed=0, deadline_tightness=0.9)
    ev = evaluate(inst, reference_allocation(inst), SolveSettings())
    assert not ev.feasible and ev.worst.startswith("deadline[")
    assert ev.violations["deadline"] == pytest.approx(1 / 0.9 - 1)


def test_default_instances_are_unchanged_by_the_new_options(tmp_path):
    plain = generate_instance(seed=2)
    assert not plain.has_deadlines and not plain.has_energy_budgets
    with_none = generate_instance(seed=2, deadline_tightness=None, energy_tightness=None)
    assert plain.to_json() == with_none.to_json()
    tight = generate_instance(seed=2, deadline_tightness=1.3)
    d_plain, d_tight = json.loads(plain.to_json()), json.loads(tight.to_json())
    for v in d_tight["vehicles"]:
        assert v.pop("deadline_s") > 0
        v.pop("energy_budget_j", None)
    for v in d_plain["vehicles"]:
        v.pop("deadline_s", None)
        v.pop("energy_budget_j", None)
    assert d_plain == d_tight
    tight.save(tmp_path / "t.json")
    back = load_instance(tmp_path / "t.json")
    assert np.allclose(back.deadline_s, tight.deadline_s, rtol=1e-15)


@pytest.mark.parametrize("bad", [0.0, -1.0, float("inf"), float("nan")])
def test_a_bad_tightness_is_refused(bad):
    with pytest.raises(ValueError, match="deadline tightness"):
        generate_instance(seed=0, deadline_tightness=bad)


def test_cli_reports_binding_constraints(tmp_path):
    out = tmp_path / "d.json"
    run = subprocess.run(
        [sys.executable, "-m", "llmv2x", "instance", "generate", "--seed", "4", "--vehicles",
         "8", "--rsus", "2", "--deadline-tightness", "1", "--energy-tightness", "1.5",
         "-o", str(out)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert "binding at the reference allocation: 8 of 8 deadlines, 0 of 8 energy budgets" in (
        run.stdout
    )
    assert "violated" not in run.stdout  # tightness 1: R meets every limit
    inst = load_instance(out)
    assert inst.has_deadlines and inst.has_energy_budgets
    tight = subprocess.run(
        [sys.executable, "-m", "llmv2x", "instance", "generate", "--seed", "2", "--vehicles",
         "6", "--rsus", "2", "--deadline-tightness", "0.3", "-o", str(tmp_path / "t.json")],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert tight.returncode == 0, tight.stderr
    assert "violated at the reference allocation: 6 of 6 deadlines" in tight.stdout
    bad = subprocess.run(
        [sys.executable, "-m", "llmv2x", "instance", "generate", "--energy-tightness", "0",
         "-o", str(tmp_path / "x.json")],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert bad.returncode != 0 and "energy tightness: 0.0 must be a positive number" in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1
