"""``llmv2x evaluate`` disproves false claims of a result (docs/result-format.md).

Every case runs the installed ``llmv2x`` command on a result a real solve wrote, edited to
make one false claim; ``evaluate`` must exit 1 and name the claim in ``problems``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from llmv2x.instances import generate_instance

LLMV2X = Path(sys.executable).parent / "llmv2x"


def run_cli(*args: str | Path) -> subprocess.CompletedProcess:
    """The installed ``llmv2x`` command with ARGS, output captured."""
    return subprocess.run(
        [str(LLMV2X), *map(str, args)], capture_output=True, text=True, timeout=300
    )


def _no_constant(token: str) -> None:
    raise AssertionError(f"{token} is not JSON")


def evaluate_output(proc: subprocess.CompletedProcess) -> dict:
    """The JSON object ``evaluate`` printed; strict: a NaN or Infinity token fails."""
    assert "Traceback" not in proc.stderr, proc.stderr
    assert proc.stderr == "", proc.stderr
    return json.loads(proc.stdout, parse_constant=_no_constant)


def _edit(fn: Callable[[dict], None]) -> Callable[[dict], dict]:
    def apply(d: dict) -> dict:
        fn(d)
        return d

    return apply


def _set(**kv) -> Callable[[dict], dict]:
    return _edit(lambda d: d.update(kv))


def _scale(key: str, factor: float) -> Callable[[dict], dict]:
    return _edit(lambda d: d.__setitem__(key, d[key] * factor))


def _bound_between(d: dict) -> None:
    # the recorded objective is raised 2 %, the bound 1 %: below the recorded objective,
    # above the true objective of the point
    true = d["objective"]
    d["objective"] = true * 1.02
    d["lower_bound"] = true * 1.01


#: case -> (which solve's result, edit, needles that must appear in problems)
CASES: dict[str, tuple[str, Callable[[dict], dict], tuple[str, ...]]] = {
    "equal baseline marked optimal": (
        "equal",
        _set(status="optimal"),
        ("status: optimal claimed by equal, which cannot prove optimality",),
    ),
    "mindtpy marked optimal": (
        "exact",
        _set(method="minlp", solvers={"minlp": "mindtpy (pyomo 6.9)"}),
        ("optimal claimed by minlp (mindtpy",),
    ),
    "lower bound above the objective": (
        "exact",
        _edit(lambda d: d.__setitem__("lower_bound", d["objective"] * 1.01)),
        ("above the recorded objective", "above the recomputed objective"),
    ),
    "lower bound above the point's own value": (
        "equal",
        _edit(_bound_between),
        ("objective: recorded", "of this very point"),
    ),
    "status error with a point": ("equal", _set(status="error"), ("status: error yet",)),
    "status infeasible with a point": (
        "exact",
        _set(status="infeasible"),
        ("status: infeasible yet",),
    ),
    "tampered metric": (
        "exact",
        _edit(lambda d: d["metrics"].__setitem__("energy_j", d["metrics"]["energy_j"] * 1.001)),
        ("metrics.energy_j: recorded",),
    ),
    "missing metric": ("exact", _edit(lambda d: d["metrics"].pop("rsu_energy_j")), ("rsu_energy",)),
    "invented metric": (
        "exact",
        _edit(lambda d: d["metrics"].__setitem__("happiness", 1.0)),
        ("metrics.happiness",),
    ),
    "another instance's name": ("exact", _set(instance="paper-seed0"), ("instance:",)),
    "tampered objective": ("equal", _scale("objective", 0.999), ("objective: recorded",)),
    "non-finite objective at the point": (
        "equal",
        _edit(lambda d: d["p_w"].__setitem__(0, 1e-300)),
        ("not finite", "infeasible point"),
    ),
}


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, tuple[subprocess.CompletedProcess, dict]]:
    """Solve a small instance with ``exact`` and ``equal``, then evaluate both honest
    results and every edited one, a few processes at a time: case -> (process, result)."""
    folder = tmp_path_factory.mktemp("claims")
    inst = folder / "inst.json"
    generate_instance(seed=1, name="claims", vehicles=6, rsus=2).save(inst)
    results = {}
    for method in ("exact", "equal"):
        path = folder / f"{method}.json"
        proc = run_cli("solve", inst, "--method", method, "-o", path)
        assert proc.returncode == 0, proc.stderr
        results[method] = json.loads(path.read_text())
    jobs = {f"honest {m}": (folder / f"{m}.json", results[m]) for m in results}
    for i, (case, (method, edit, _)) in enumerate(CASES.items()):
        d = edit(json.loads(json.dumps(results[method])))
        path = folder / f"case{i}.json"
        path.write_text(json.dumps(d))
        jobs[case] = (path, d)
    with ThreadPoolExecutor(max_workers=3) as pool:
        futures = {case: pool.submit(run_cli, "evaluate", inst, p) for case, (p, _) in jobs.items()}
        return {case: (fut.result(), jobs[case][1]) for case, fut in futures.items()}


@pytest.mark.parametrize("method", ["exact", "equal"])
def test_honest_results_pass(runs, method):
    proc, result = runs[f"honest {method}"]
    out = evaluate_output(proc)
    assert proc.returncode == 0, out
    assert out["problems"] == []
    assert out["feasible"] is True
    assert out["objective"] == pytest.approx(result["objective"], rel=1e-12)
    assert set(out) == {"feasible", "objective", "max_violation", "metrics", "problems"}


@pytest.mark.parametrize("case", list(CASES))
def test_false_claim_is_disproved_with_exit_1(runs, case):
    proc, _ = runs[case]
    out = evaluate_output(proc)
    assert proc.returncode == 1, out
    text = " | ".join(out["problems"])
    for needle in CASES[case][2]:
        assert needle in text, text


def test_non_finite_objective_is_printed_as_null(runs):
    out = evaluate_output(runs["non-finite objective at the point"][0])
    assert out["objective"] is None
    assert out["feasible"] is False
