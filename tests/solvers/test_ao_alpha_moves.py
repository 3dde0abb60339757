"""The alpha-move step of the family AO (``ao_family/alpha_moves.py``,
docs/algorithms.md#ao-for-the-problem-family): it lowers the objective where the rounding of
the relaxed alpha is stuck, keeps the trace monotone and the point feasible, brings AO near
the certified optimum, and does not run without deadlines or energy budgets."""

from __future__ import annotations

import numpy as np
import pytest

from llmv2x.instances.generate import generate_instance
from llmv2x.models.evaluator import evaluate
from llmv2x.settings import SolveSettings
from llmv2x.solvers.ao import solve_ao

#: method ``exact`` on this instance (SolveSettings(time_limit=60), status optimal, 8.4 s):
#: objective 1069.9127589, certified lower bound 1069.9127308. AO measured 1138.96 without
#: the alpha moves (6.4 % above) and 1070.29 with them (0.035 % above).
SEED, BOUND = 9, 1069.9127308


@pytest.fixture(scope="module")
def stuck():
    """8 vehicles, 2 RSUs, tau_D 1.0, energy budgets 1.1: the rounding keeps alpha at its
    extremes and single-vehicle alpha changes pay (seeds 0..24 all gained 0.2-6.4 %)."""
    inst = generate_instance(
        seed=SEED, vehicles=8, rsus=2, deadline_tightness=1.0, energy_tightness=1.1
    )
    return inst, solve_ao(inst, SolveSettings())


def test_alpha_moves_lower_the_objective(stuck):
    _, res = stuck
    trace = res.trace["ao"]
    moved = trace[(trace["block"] == "alpha") & (trace["moves"] > 0)]
    assert len(moved) >= 1
    for start, rows in trace.groupby("start", sort=False):
        rows = rows.reset_index(drop=True)
        for i in rows.index[(rows["block"] == "alpha") & (rows["moves"] > 0)]:
            # a pass that keeps a move lowers the objective of the row before it
            assert rows["objective"][i] < rows["objective"][i - 1] * (1 - 1e-6), start
        obj = rows["objective"].to_numpy()[1:]  # from round 1 (a start may be infeasible)
        assert np.all(np.diff(obj) <= 1e-9 * np.abs(obj[:-1])), start  # monotone


def test_alpha_moves_give_a_feasible_point_near_the_certified_optimum(stuck):
    inst, res = stuck
    assert res.status == "converged", res.message
    ev = evaluate(inst, res.allocation, SolveSettings())
    assert ev.feasible, ev.worst
    assert np.allclose(res.allocation.alpha, np.round(res.allocation.alpha))
    assert res.objective >= BOUND * (1 - 1e-6)  # never below a certified lower bound
    assert res.objective <= BOUND * 1.005  # measured 0.035 % above; 6.4 % without the step


def test_no_alpha_moves_without_deadlines_or_energy_budgets():
    inst = generate_instance(seed=SEED, vehicles=8, rsus=2)
    res = solve_ao(inst, SolveSettings(budgets="inequality"))
    assert res.allocation is not None
    assert not (res.trace["ao"]["block"] == "alpha").any()
