"""Exercise 6, reference answer: tell the global solver what you know.

Two facts about P1 that hold at some optimum (docs/choices.md section 6, docs/exact.md section 4):

* under the ``paper`` objective the best power is p_min for every vehicle, whatever the rest;
* some optimum has every alpha_n in {1, Upsilon}.

Fixing p_n = p_min removes the ratio p_n / r_n(p_n, b_n) whose box relaxation is ~p_max/p_min
times too weak; writing alpha_n = 1 + (Upsilon - 1) local_n with a binary ``local_n`` removes
the interior integer values. Both keep P1's optimal value, so a bound that SCIP proves on the
reduced model is a valid bound for P1.
"""

from __future__ import annotations

import pyomo.environ as pyo

from llmv2x import Instance, SolveSettings
from llmv2x.models.p1 import build_p1
from llmv2x.solvers.registry import get_backend


def build_p1_reduced(instance: Instance, settings: SolveSettings) -> pyo.ConcreteModel:
    """P1 with p fixed at p_min (``paper`` only) and alpha restricted to its two ends."""
    if settings.latency:
        raise ValueError("p = p_min is optimal only under the paper objective")
    m = build_p1(instance, settings)
    for n in m.N:
        m.p_w[n].fix(float(instance.vehicle["p_min_w"][n]))
    m.local = pyo.Var(m.N, within=pyo.Binary, doc="1 if vehicle n keeps all layers")
    m.alpha_ends = pyo.Constraint(
        m.N,
        rule=lambda _m, n: _m.alpha[n] == 1 + (instance.layers - 1) * _m.local[n],
        doc="alpha_n in {1, Upsilon}",
    )
    return m


def bound_after(
    model: pyo.ConcreteModel, time_limit: float, backend: str = "scip"
) -> tuple[str, float | None, float | None]:
    """Run a global MINLP backend on ``model``; (status, incumbent, proven lower bound)."""
    out = get_backend(backend, "minlp").solve(model, time_limit, 1e-6, {}, False)
    incumbent = pyo.value(model.objective) if out.has_point else None
    return out.status, incumbent, out.bound
