"""Sub-problem I, eq. (11): alpha relaxed to [1, Upsilon], vehicle and RSU frequencies.

p and b are fixed as mutable Params, so one model serves every AO round. The objective is
F of eq. (11), the compute part of (10); ``comm_cost`` (the constant remainder of (10)) is
kept as an Expression of the Params so ``F + sum(comm_cost)`` is P1's objective.
"""

from __future__ import annotations

import pyomo.environ as pyo

from llmv2x.instances.schema import Instance
from llmv2x.models import components as c
from llmv2x.models.allocation import Allocation
from llmv2x.models.constants import HZ_PER_MHZ
from llmv2x.settings import SolveSettings


def build_subproblem1(
    instance: Instance, settings: SolveSettings, fixed: Allocation
) -> pyo.ConcreteModel:
    """Build sub-problem I (11) with (11a), (10d), (10e); p, b from ``fixed`` as mutable Params.

    ``fixed`` also gives the starting values of alpha and the frequencies.
    """
    m = pyo.ConcreteModel(name=f"SubproblemI[{instance.name}]")
    c.declare_sets(m, instance)
    c.declare_alpha(m, instance, integer=False, init=fixed.alpha)
    c.declare_frequencies(m, instance, settings, fixed.f_vehicle_hz, fixed.f_rsu_hz)
    c.declare_radio_params(m, instance, fixed.p_w, fixed.b_hz)
    c.declare_compute_costs(m, instance, settings)
    c.declare_comm_costs(m, instance, settings)
    m.objective = pyo.Objective(
        expr=sum(m.vehicle_cost[n] + m.rsu_cost[n] for n in m.N),
        sense=pyo.minimize,
        doc="(11) F(alpha, f^V, f^R), the compute part of (10)",
    )
    c.declare_frequency_budget(m, instance)
    return m


def update_radio(instance: Instance, m: pyo.ConcreteModel, alloc: Allocation) -> None:
    """Set the mutable Params p_w and b_mhz of a sub-problem I model to ``alloc``'s values."""
    for n in range(instance.n_vehicles):
        m.p_w[n] = float(alloc.p_w[n])
        m.b_mhz[n] = float(alloc.b_hz[n]) / HZ_PER_MHZ
