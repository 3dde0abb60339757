"""The Result object and the ``llmv2x-result/2`` format: round trip, verification, refusals."""

from __future__ import annotations

import dataclasses
import json
import os
import stat

import numpy as np
import pytest

from llmv2x.errors import LlmV2xError, ResultError, SolveError
from llmv2x.models.evaluator import evaluate
from llmv2x.results import FIELDS, Result, audit, can_prove_optimality, make_result
from llmv2x.settings import SolveSettings
from llmv2x.solvers.initial import initial_allocation


@pytest.fixture
def alloc(small_instance, settings):
    """A feasible allocation with integral alpha."""
    a = initial_allocation(small_instance, settings)
    return a.replace(alpha=np.array([1.0, 5.0, 9.0, 32.0, 16.0, 2.0]))


@pytest.fixture
def result(small_instance, settings, alloc) -> Result:
    return make_result(
        small_instance,
        settings,
        "initial",
        alloc,
        "converged",
        0.25,
        solvers={"qp": "highs 1.0"},
        iterations=3,
    )


def test_make_result_recomputes_objective_and_metrics(small_instance, settings, alloc, result):
    ev = evaluate(small_instance, alloc, settings)
    assert result.status == "converged"
    assert result.objective == ev.objective
    assert result.metrics == ev.metrics
    assert result.lower_bound is None
    assert result.ok
    assert result.instance == small_instance.name
    assert result.objective_variant == "paper" and result.omega_t == 0.5


def test_json_round_trip(result, tmp_path):
    text = result.to_json()
    again = Result.from_json(text)
    assert again.to_json() == text
    assert again.to_dict() == result.to_dict()
    path = tmp_path / "res.json"
    result.save(path)
    assert Result.load(path).to_dict() == result.to_dict()


def test_to_dict_follows_the_spec_layout(result):
    d = result.to_dict()
    assert tuple(d) == FIELDS
    assert d["format"] == "llmv2x-result/2"
    assert d["alpha"] == [1, 5, 9, 32, 16, 2]
    assert all(isinstance(a, int) for a in d["alpha"])
    assert d["solvers"] == {"qp": "highs 1.0"} and d["iterations"] == 3


def test_round_trip_keeps_a_failed_result_without_point(small_instance, settings):
    res = make_result(small_instance, settings, "minlp", None, "time_limit", 9.0)
    assert not res.ok
    again = Result.from_json(res.to_json())
    assert again.allocation is None and again.objective is None
    assert again.status == "time_limit"
    assert again.to_dict() == res.to_dict()


def test_make_result_refuses_an_infeasible_allocation(small_instance, settings, alloc):
    bad = alloc.replace(b_hz=alloc.b_hz * 1.01)
    res = make_result(small_instance, settings, "ao", bad, "converged", 1.0)
    assert res.status == "error"
    assert res.allocation is None
    assert res.objective is None
    assert not res.ok
    assert "10c" in res.message


def test_make_result_refuses_fractional_alpha(small_instance, settings, alloc):
    bad = alloc.replace(alpha=alloc.alpha + 0.5)
    res = make_result(small_instance, settings, "ao", bad, "feasible", 1.0)
    assert res.status == "error" and res.allocation is None
    assert "10a" in res.message


def test_success_status_without_a_point_becomes_error(small_instance, settings):
    res = make_result(small_instance, settings, "ao", None, "optimal", 1.0)
    assert res.status == "error"


def test_a_lower_bound_above_the_objective_raises(small_instance, settings, alloc):
    objective = evaluate(small_instance, alloc, settings).objective
    with pytest.raises(SolveError, match="lower bound"):
        make_result(
            small_instance, settings, "exact", alloc, "optimal", 1.0, lower_bound=objective * 1.01
        )


def test_a_lower_bound_at_or_below_the_objective_is_kept(small_instance, settings, alloc):
    objective = evaluate(small_instance, alloc, settings).objective
    res = make_result(
        small_instance, settings, "exact", alloc, "optimal", 1.0, lower_bound=objective
    )
    assert res.lower_bound == objective
    res = make_result(
        small_instance, settings, "exact", alloc, "optimal", 1.0, lower_bound=0.9 * objective
    )
    assert res.lower_bound == 0.9 * objective


def test_a_non_finite_lower_bound_is_dropped(small_instance, settings, alloc):
    res = make_result(
        small_instance, settings, "minlp", alloc, "feasible", 1.0, lower_bound=float("-inf")
    )
    assert res.lower_bound is None


def test_unknown_status_is_refused():
    with pytest.raises(ValueError, match="status"):
        Result("x", "ao", "paper", 0.5, "solved", None, None, None, {}, 0.0)


def _broken(result: Result, key: str, value) -> str:
    d = result.to_dict()
    if value is KeyError:
        del d[key]
    else:
        d[key] = value
    return json.dumps(d)


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("format", "llmv2x-result/0", "format"),
        ("status", "solved", "status"),
        ("objective", KeyError, "objective: missing field"),
        ("extra", 1, "extra: unknown field"),
        ("omega_t", "half", "omega_t"),
        ("iterations", 2.5, "iterations"),
        ("metrics", [], "metrics"),
        ("p_w", [0.1], "lists of equal length"),
        ("b_hz", ["x"] * 6, "b_hz[0]"),
        ("instance", ["small"], "instance: expected a string"),
        ("method", 3, "method: expected a string"),
    ],
)
def test_from_json_refuses_malformed_fields(result, key, value, message):
    with pytest.raises(ResultError, match=message.replace("[", r"\[").replace("]", r"\]")):
        Result.from_json(_broken(result, key, value))


def test_from_json_refuses_invalid_json():
    with pytest.raises(ResultError, match="not valid JSON"):
        Result.from_json("{")


def test_load_refuses_a_missing_file(tmp_path):
    with pytest.raises(ResultError, match="no such result file"):
        Result.load(tmp_path / "missing.json")


# ---------------------------------------------------------------------------
# hostile result files, non-finite points, atomic saves (issue 9)
# ---------------------------------------------------------------------------


def test_make_result_never_reports_a_non_finite_objective(small_instance, settings, alloc):
    # an instance object built without validation: a noise density so large the rate (3)
    # underflows to 0 and every transmit time is infinite
    drowned = dataclasses.replace(small_instance, noise_psd_w_per_hz=1e300)
    with np.errstate(all="ignore"):
        assert not np.isfinite(evaluate(drowned, alloc, settings).objective)
        res = make_result(drowned, settings, "ao", alloc, "converged", 1.0)
    assert res.status == "error"
    assert res.allocation is None and res.objective is None and res.metrics == {}
    assert "not finite" in res.message
    assert "Infinity" not in res.to_json() and "NaN" not in res.to_json()


def test_to_json_refuses_to_write_a_non_json_token(result):
    broken = dataclasses.replace(result, objective=float("inf"))
    with pytest.raises(LlmV2xError, match="NaN or infinite"):
        broken.to_json()


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda t: t.replace('"status": ', '"status": "error", "status": ', 1), "duplicate key"),
        (lambda t: t.replace('"alpha": [', '"alpha": [' + "1" * 400 + ", ", 1), r"alpha\[0\]"),
        (lambda t: t.replace('"solve_time_s": 0.25', '"solve_time_s": NaN', 1), "solve_time_s"),
        (lambda t: "[" * 100_000 + "]" * 100_000, "nested deeper"),
        (lambda t: t.replace('"iterations": 3', '"iterations": ' + "9" * 5000, 1), "iterations"),
    ],
)
def test_hostile_result_text_is_one_result_error(result, edit, message):
    text = edit(result.to_json())
    with pytest.raises(ResultError, match=message) as info:
        Result.from_json(text)
    assert "\n" not in str(info.value)


def test_from_dict_refuses_a_non_finite_number(result):
    d = result.to_dict()
    d["objective"] = float("nan")
    with pytest.raises(ResultError, match="objective: nan is not finite"):
        Result.from_dict(d)


def test_load_names_a_directory(tmp_path):
    with pytest.raises(ResultError, match="is a directory, not a result file"):
        Result.load(tmp_path)


def test_save_keeps_the_mode_the_umask_gives(result, tmp_path):
    path = tmp_path / "res.json"
    old = os.umask(0o022)
    try:
        result.save(path)
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    path.chmod(0o600)
    result.save(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["res.json"]


# ----- audit (what ``llmv2x evaluate`` checks; the CLI cases are in tests/test_claims.py) -----


def test_audit_of_an_honest_result_finds_nothing(small_instance, result):
    found = audit(small_instance, result)
    assert found.ok and found.problems == []
    assert found.objective == pytest.approx(result.objective, rel=1e-12)


@pytest.mark.parametrize(
    ("method", "solvers", "provable"),
    [
        ("exact", {"exact": "llmv2x structure"}, True),
        ("minlp", {"minlp": "scip 9.2 (pyscipopt 5.4)"}, True),
        ("minlp", {"minlp": "gurobi 12.0.1"}, True),
        ("minlp", {"minlp": "couenne 0.5.8"}, True),
        ("minlp", {"minlp": "mindtpy (pyomo 6.9)"}, False),
        ("minlp", {"minlp": "bonmin 1.8"}, False),
        ("minlp", {}, False),
        ("ao", {"qp": "highs 1.8"}, False),
        ("equal", {}, False),
    ],
)
def test_only_exact_and_global_minlp_may_claim_optimal(result, method, solvers, provable):
    claimed = dataclasses.replace(result, method=method, solvers=solvers, status="optimal")
    assert can_prove_optimality(claimed) is provable


def test_audit_uses_the_results_own_weights(small_instance, alloc):
    latency = SolveSettings(omega_t=0.8, objective="latency")
    res = make_result(small_instance, latency, "initial", alloc, "feasible", 0.1)
    assert audit(small_instance, res).ok
    # the same point under the default weights has another objective: a false record
    other = dataclasses.replace(res, omega_t=0.5, objective_variant="paper")
    assert any(p.startswith("objective: recorded") for p in audit(small_instance, other).problems)


def test_audit_refuses_a_point_of_another_size(small_instance, paper_instance, result):
    with pytest.raises(ResultError, match="alpha: result has 6 vehicles"):
        audit(paper_instance, result)


def test_every_public_name_is_importable_from_the_package():
    # results.py became a package by step; the old import paths keep working
    import llmv2x.results as results
    from llmv2x import Result as TopLevelResult

    for name in (
        "Result",
        "make_result",
        "audit",
        "can_prove_optimality",
        "Audit",
        "CLAIM_RTOL",
        "FIELDS",
        "FORMAT",
        "STATUSES",
        "load_table",
    ):
        assert name in results.__all__ and hasattr(results, name), name
    assert TopLevelResult is results.Result and results.FORMAT == "llmv2x-result/2"
