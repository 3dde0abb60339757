"""The certified method's Newton price recovery stops when the solve's time is up.

From the outside test: ``exact --time-limit 5`` on a 20-vehicle deadline instance ran 7.5 s,
because the recovery (docs/exact.md, "Incumbents") ran all its Newton steps after the
deadline. Not a timed test: the steps are counted through the oracle calls they make.
"""

from __future__ import annotations

import numpy as np

import llmv2x.solvers.certify.primal as primal
from llmv2x.instances import generate_instance
from llmv2x.problem import Problem
from llmv2x.settings import SolveSettings
from llmv2x.solvers.certify.dual import Groups
from llmv2x.solvers.certify.oracle import Rows

FULL = Problem(budgets="equality", deadlines=True, energy_budgets=True)


def _count_calls(monkeypatch) -> list[int]:
    calls = [0]
    real = primal.row_oracle

    def counted(*args, **kwargs):
        calls[0] += 1
        return real(*args, **kwargs)

    monkeypatch.setattr(primal, "row_oracle", counted)
    return calls


def _setup():
    inst = generate_instance(
        seed=3, vehicles=8, rsus=2, deadline_tightness=1.2, energy_tightness=1.1
    )
    rows = Rows.fixed(inst, FULL)
    rows = rows.with_domain(a_lo=np.ones(len(rows), np.int64), a_hi=np.ones(len(rows), np.int64))
    rsus = np.unique(rows.rsu)
    group = np.searchsorted(rsus, rows.rsu)
    f_b, b_b = primal.budgets(inst, rsus)
    groups = Groups(rows, group, f_b, b_b, free_sigma=True)
    price = np.zeros(len(rsus))
    return inst, groups, price


def test_newton_prices_stop_once_expired(monkeypatch):
    inst, groups, price = _setup()
    s = SolveSettings()
    calls = _count_calls(monkeypatch)
    free = primal.newton_prices(inst, s, FULL, groups, price + 1e-9, price + 1e-7)
    steps_free = calls[0]
    calls[0] = 0
    stopped = primal.newton_prices(
        inst, s, FULL, groups, price + 1e-9, price + 1e-7, expired=lambda: True
    )
    # expired: only the starting residual is evaluated, no Newton step
    assert steps_free > 1
    assert calls[0] == 1
    # both return a value for every row (the starting point at least)
    assert len(stopped.upper) == len(free.upper)


def test_an_ao_repair_gets_a_tenth_of_the_limit_at_most():
    """A longer time limit must not give a weaker bound: one AO repair of a recovered
    point (about 6 s on a 20-vehicle deadline instance) once took the root dual's time."""
    from llmv2x.solvers.certify.association import REPAIR_SHARE, repair_box
    from llmv2x.solvers.deadline import Deadline

    limited = Deadline(10.0)
    box = repair_box(limited)
    assert box is not limited and box.remaining() <= REPAIR_SHARE * 10.0 + 1e-9
    assert not box.expired() and not limited.hit
    late = Deadline(10.0, start=limited.start - 9.5)  # 0.5 s left
    assert repair_box(late).remaining() <= 0.5
    free = Deadline(None)
    assert repair_box(free) is free
