"""No RuntimeWarning from NumPy on ordinary instances: where an inf or nan is expected and
handled, the code says so with ``np.errstate``; elsewhere none may appear. Each solve runs
with RuntimeWarnings turned into errors, so a new one fails here instead of reaching the
terminal."""

from __future__ import annotations

from pathlib import Path

import pytest

import llmv2x
from llmv2x.instances import load_instance

INSTANCES_DIR = Path(__file__).resolve().parents[2] / "instances"
METHODS = ("ao", "exact", "rlor", "rrlo", "local", "offload", "equal", "initial")
CASES = [(0.0, "paper"), (0.5, "paper"), (1.0, "paper"), (0.0, "latency"), (1.0, "latency")]


@pytest.mark.filterwarnings("error::RuntimeWarning")
@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize(("omega_t", "objective"), CASES)
def test_methods_raise_no_runtime_warning(method, omega_t, objective):
    inst = load_instance(INSTANCES_DIR / "small-seed1.json")
    res = llmv2x.solve(inst, method=method, omega_t=omega_t, objective=objective, seed=1)
    assert res.status in ("optimal", "converged", "feasible")
    assert res.allocation is not None


@pytest.mark.filterwarnings("error::RuntimeWarning")
@pytest.mark.parametrize("backend", ["scip", "mindtpy"])
def test_minlp_raises_no_runtime_warning(backend):
    inst = load_instance(INSTANCES_DIR / "small-seed0.json")
    res = llmv2x.solve(inst, method="minlp", minlp_backend=backend, time_limit=30)
    assert res.status in ("optimal", "converged", "feasible", "time_limit")


@pytest.mark.filterwarnings("error::RuntimeWarning")
def test_ao_out_of_time_raises_no_runtime_warning():
    # `large`: AO solves `medium` in about 0.45 s since issue 12, inside this limit
    inst = load_instance(INSTANCES_DIR / "large.json")
    res = llmv2x.solve(inst, method="ao", time_limit=0.5)
    assert res.status == "time_limit" and res.allocation is not None
