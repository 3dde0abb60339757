"""SCIP's bounds over time (``llmv2x.solvers.backends.scip_trace``), as benchmarks/bounds.py
records them for the bound-over-time plot (docs/benchmarks.md)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from llmv2x.api import solve
from llmv2x.instances import generate_instance
from llmv2x.solvers.backends.scip_trace import ScipTrace, record_scip_trace
from llmv2x.solvers.registry import availability


def test_a_row_only_when_a_value_moves_past_rtol():
    tr = ScipTrace(rtol=1e-6)
    tr.record(-1e20, 1e20)  # SCIP's infinities
    tr.record(-1e20, 1e20)
    tr.record(10.0, 1e20)
    tr.record(10.0 + 1e-9, 1e20)  # below rtol: dropped
    tr.record(10.0, 12.0)
    assert [r[1:] for r in tr.rows] == [(-math.inf, math.inf), (10.0, math.inf), (10.0, 12.0)]
    times = [r[0] for r in tr.rows]
    assert times == sorted(times)
    assert list(tr.frame().columns) == ["time_s", "lower_bound", "objective"]


@pytest.mark.skipif(not availability("scip", "minlp"), reason="needs SCIP")
def test_scip_solve_records_its_bounds_and_the_hook_is_removed():
    from pyomo.contrib.solver.solvers.scip.scip_direct import ScipDirect

    before = ScipDirect._create_solver_model
    inst = generate_instance(seed=0, vehicles=4, rsus=2, layers=4, deadline_tightness=1.3)
    with record_scip_trace() as tr:
        res = solve(inst, "minlp", minlp_backend="scip", formulation="strong", time_limit=20)
    assert ScipDirect._create_solver_model is before
    df = tr.frame()
    assert len(df) >= 2
    assert np.all(np.diff(df["time_s"]) >= 0)
    lower = df["lower_bound"].to_numpy()
    finite = lower[np.isfinite(lower)]
    assert len(finite) and np.all(np.diff(finite) >= -1e-9 * np.abs(finite[1:]))  # global bound
    last = df.iloc[-1]
    assert math.isfinite(last["objective"]) and last["lower_bound"] <= last["objective"] + 1e-9
    # SCIP's last values are the run's incumbent and bound (before the method's checks)
    assert last["objective"] == pytest.approx(res.objective, rel=1e-4)
    assert res.lower_bound is not None and last["lower_bound"] == pytest.approx(
        res.lower_bound, rel=1e-4
    )
