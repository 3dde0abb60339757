"""``Problem``: the member of the problem family a solve is about, its settings, and the
refusal of every variant no method solves yet (docs/formulation.md#problem-variants)."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys

import numpy as np
import pytest

import llmv2x
from llmv2x.errors import LlmV2xError, ResultError, SettingsError
from llmv2x.experiments.compare import compare
from llmv2x.problem import Problem
from llmv2x.settings import SolveSettings
from llmv2x.solvers.methods import check_instance


def with_limits(instance, deadline=None, energy=None):
    """``instance`` with per-vehicle deadlines / energy budgets (NaN: none)."""
    n = instance.n_vehicles
    kw = {}
    if deadline is not None:
        kw["deadline_s"] = np.broadcast_to(np.asarray(deadline, float), (n,)).copy()
    if energy is not None:
        kw["energy_budget_j"] = np.broadcast_to(np.asarray(energy, float), (n,)).copy()
    return dataclasses.replace(instance, **kw)


def test_default_problem_is_p1(small_instance):
    p = Problem.of(small_instance, SolveSettings())
    assert p == Problem() and p.is_default and p.variants() == []
    assert p.to_dict() == {
        "budgets": "equality",
        "association": "fixed",
        "deadlines": False,
        "energy_budgets": False,
    }


def test_problem_of_reads_settings_and_instance(small_instance):
    inst = with_limits(small_instance, deadline=[np.nan, 2.0, np.nan, np.nan, np.nan, np.nan])
    p = Problem.of(inst, SolveSettings(budgets="inequality", association="decision"))
    assert p == Problem("inequality", "decision", True, False)
    assert not p.is_default and p.inequality and p.association_decision
    assert Problem.from_dict(p.to_dict()) == p
    q = Problem.of(with_limits(small_instance, energy=1.0), SolveSettings())
    assert q.energy_budgets and not q.deadlines and not q.is_default


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"budgets": "loose"}, "budgets: 'loose' is not one of equality, inequality"),
        ({"association": 3}, "association: 3 is not one of fixed, decision"),
    ],
)
def test_settings_refuse_unknown_variants(kw, message):
    with pytest.raises(SettingsError) as info:
        SolveSettings(**kw)
    assert str(info.value) == message


@pytest.mark.parametrize(
    ("d", "message"),
    [
        ([], "problem: expected an object, got list"),
        ({"budgets": "equality"}, "problem.association: missing key"),
        ({**Problem().to_dict(), "x": 1}, "problem.x: unknown key"),
        ({**Problem().to_dict(), "deadlines": 1}, "problem.deadlines: 1 is not true or false"),
        ({**Problem().to_dict(), "budgets": "<="}, "problem.budgets: '<=' is not one of"),
    ],
)
def test_problem_from_dict_refuses_in_one_line(d, message):
    with pytest.raises(ResultError) as info:
        Problem.from_dict(d, ResultError)
    assert str(info.value).startswith(message)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (SolveSettings(association="decision"), "association=decision yet"),
        (SolveSettings(budgets="inequality"), "budgets=inequality yet"),
    ],
)
def test_every_method_refuses_setting_variants(small_instance, settings, message):
    with pytest.raises(SettingsError) as info:
        check_instance(small_instance, settings)
    assert str(info.value) == f"compare does not support {message}{USE}"
    kw = {"budgets": settings.budgets, "association": settings.association}
    with pytest.raises(LlmV2xError, match=message):
        llmv2x.solve(small_instance, method="local", **kw)
    with pytest.raises(LlmV2xError, match=message):  # compare refuses a listed method
        compare(small_instance, settings, methods=["local"])


def test_every_method_refuses_deadlines_and_energy_budgets(small_instance):
    for inst, what in (
        (with_limits(small_instance, deadline=5.0), "deadlines (deadline_s)"),
        (with_limits(small_instance, energy=5.0), "energy budgets (energy_budget_j)"),
    ):
        with pytest.raises(SettingsError) as info:
            check_instance(inst, SolveSettings())
        assert str(info.value) == (
            f"instance has per-vehicle {what}; compare does not support them yet{USE}"
        )
    check_instance(small_instance, SolveSettings())  # P1 passes
    check_instance(small_instance)


USE = " (methods minlp, exact and ao do)"


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "llmv2x", *args], capture_output=True, text=True, check=False
    )


def test_cli_solve_takes_budgets_and_association():
    for flag, value in (("--budgets", "inequality"), ("--association", "decision")):
        run = _cli("solve", "paper-seed0", "--method", "local", flag, value)
        assert run.returncode != 0
        assert run.stderr.strip().splitlines() == [
            f"llmv2x: error: method local does not support {flag[2:]}={value} yet{USE}"
        ]
    bad = _cli("solve", "paper-seed0", "--budgets", "loose")
    assert bad.returncode == 2 and "--budgets" in bad.stderr


def test_cli_evaluate_recomputes_under_the_results_own_problem(small_instance, tmp_path):
    from llmv2x.results import make_result
    from llmv2x.solvers.initial import initial_allocation

    s = SolveSettings(budgets="inequality")
    a = initial_allocation(small_instance, s)
    res = make_result(small_instance, s, "initial", a.replace(b_hz=a.b_hz / 2), "feasible", 0.0)
    assert res.ok and res.problem.budgets == "inequality"
    small_instance.save(tmp_path / "i.json")
    res.save(tmp_path / "r.json")
    ok = _cli("evaluate", str(tmp_path / "i.json"), str(tmp_path / "r.json"))
    assert ok.returncode == 0, ok.stdout + ok.stderr
    # the same point recorded as P1 breaks (10c)
    d = json.loads((tmp_path / "r.json").read_text())
    d["problem"]["budgets"] = "equality"
    (tmp_path / "p1.json").write_text(json.dumps(d))
    bad = _cli("evaluate", str(tmp_path / "i.json"), str(tmp_path / "p1.json"))
    assert bad.returncode == 1 and "(10c) violated by 0.5" in bad.stdout
