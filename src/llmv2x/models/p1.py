"""Problem P1, eq. (10): the full MINLP as a Pyomo model."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pyomo.environ as pyo

from llmv2x.instances.schema import Instance
from llmv2x.models import components as c
from llmv2x.models.allocation import Allocation
from llmv2x.models.constants import BIT_PER_MBIT, HZ_PER_GHZ, HZ_PER_MHZ
from llmv2x.problem import Problem
from llmv2x.settings import SolveSettings


def build_p1(
    instance: Instance,
    settings: SolveSettings,
    start: Allocation | None = None,
    problem: Problem | None = None,
) -> pyo.ConcreteModel:
    """Build P1 (10): alpha integer (10a), p (10b), b (10c), f^V (10d), f^R (10e).

    Variables: ``alpha`` (integer), ``p_w`` (W), ``b_mhz`` (MHz), ``f_vehicle_ghz`` (GHz),
    ``f_rsu_ghz`` (GHz, indexed by served pairs (n, m)). The objective is eq. (10) for
    ``settings.objective == paper`` and adds omega_t T^com for ``latency``. ``start`` gives
    initial values; the default is alpha = 1, p = p_min, equal shares, best vehicle frequency.

    ``problem`` (default ``Problem.of(instance, settings)``) adds its variant: budgets as
    inequalities, deadlines, energy budgets; ``association=decision`` builds the model of
    ``llmv2x.models.p1_association`` (binaries x_nm over the links) instead.
    """
    problem = problem or Problem.of(instance, settings)
    if problem.association_decision:
        from llmv2x.models.p1_association import build_p1_association

        return build_p1_association(instance, settings, problem, strong=False, start=start)
    m = pyo.ConcreteModel(name=f"P1[{instance.name}]")
    c.declare_sets(m, instance)
    s = start
    c.declare_alpha(m, instance, integer=True, init=None if s is None else s.alpha)
    c.declare_radio_vars(m, instance, None if s is None else s.p_w, None if s is None else s.b_hz)
    c.declare_frequencies(
        m,
        instance,
        settings,
        None if s is None else s.f_vehicle_hz,
        None if s is None else s.f_rsu_hz,
    )
    c.declare_compute_costs(m, instance, settings)
    c.declare_comm_costs(m, instance, settings)
    m.objective = pyo.Objective(
        expr=sum(m.vehicle_cost[n] + m.rsu_cost[n] + m.comm_cost[n] for n in m.N),
        sense=pyo.minimize,
        doc="(10) sum of Cost_n^V (5) and Cost_m^R (9)",
    )
    c.declare_bandwidth_budget(m, instance, problem.inequality)
    c.declare_frequency_budget(m, instance, problem.inequality)
    if problem.deadlines:
        c.declare_deadlines(m, instance, lambda _m, n: _plain_time(instance, _m, n))
    if problem.energy_budgets:
        c.declare_energy_budgets(m, instance, lambda _m, n: _plain_energy(instance, _m, n))
    return m


def _plain_time(inst: Instance, m: pyo.ConcreteModel, n: int) -> Any:
    """Completion time of vehicle n in P1's own variables (s)."""
    a = int(inst.association[n])
    tv, _ = c.layer_time_energy(inst, n, None)
    tr, _ = c.layer_time_energy(inst, n, a)
    return (
        m.alpha[n] * tv / m.f_vehicle_ghz[n]
        + (inst.layers - m.alpha[n]) * tr / m.f_rsu_ghz[n, a]
        + float(inst.bits[n]) / BIT_PER_MBIT / m.rate_mbps[n]
    )


def _plain_energy(inst: Instance, m: pyo.ConcreteModel, n: int) -> Any:
    """Vehicle n's energy (compute and transmission) in P1's own variables (J)."""
    _, ev = c.layer_time_energy(inst, n, None)
    return (
        m.alpha[n] * ev * m.f_vehicle_ghz[n] ** 2
        + m.p_w[n] * float(inst.bits[n]) / BIT_PER_MBIT / m.rate_mbps[n]
    )


def allocation_from_model(instance: Instance, m: pyo.ConcreteModel) -> Allocation:
    """Read (alpha, p, b, f^V, f^R) in SI units from a model built here (Vars or Params)."""

    def val(x):
        v = pyo.value(x, exception=False)
        return float("nan") if v is None else float(v)

    n_range = range(instance.n_vehicles)
    if hasattr(m, "x"):  # association is a decision (llmv2x.models.p1_association)
        from llmv2x.models.p1_association import allocation_from_association_model

        return allocation_from_association_model(instance, m)
    assoc = instance.association
    return Allocation(
        alpha=np.array([val(m.alpha[n]) for n in n_range]),
        p_w=np.array([val(m.p_w[n]) for n in n_range]),
        b_hz=np.array([val(m.b_mhz[n]) * HZ_PER_MHZ for n in n_range]),
        f_vehicle_hz=np.array([val(m.f_vehicle_ghz[n]) * HZ_PER_GHZ for n in n_range]),
        f_rsu_hz=np.array([val(m.f_rsu_ghz[n, int(assoc[n])]) * HZ_PER_GHZ for n in n_range]),
    )


def model_values(
    instance: Instance, m: pyo.ConcreteModel, alloc: Allocation
) -> Iterator[tuple[Any, float]]:
    """(component, value in the model's scaled units) for each of P1's variables at ``alloc``."""
    if hasattr(m, "x"):  # association is a decision (llmv2x.models.p1_association)
        from llmv2x.models.p1_association import association_model_values

        yield from association_model_values(instance, m, alloc)
        return
    for n in range(instance.n_vehicles):
        yield m.alpha[n], float(alloc.alpha[n])
        yield m.p_w[n], float(alloc.p_w[n])
        yield m.b_mhz[n], float(alloc.b_hz[n] / HZ_PER_MHZ)
        yield m.f_vehicle_ghz[n], float(alloc.f_vehicle_hz[n] / HZ_PER_GHZ)
        yield (
            m.f_rsu_ghz[n, int(instance.association[n])],
            float(alloc.f_rsu_hz[n] / HZ_PER_GHZ),
        )


def set_model_values(instance: Instance, m: pyo.ConcreteModel, alloc: Allocation) -> None:
    """Write an allocation into a model's variables (or mutable Params) in scaled units.

    A fixed variable keeps its fixed value: it is part of the model, not of the point.
    """
    for comp, value in model_values(instance, m, alloc):
        if comp.ctype is not pyo.Var:
            comp.set_value(value)
        elif not comp.fixed:
            comp.set_value(value, skip_validation=True)
