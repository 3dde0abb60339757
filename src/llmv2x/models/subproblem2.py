"""Sub-problem II, eq. (40): transmit power and bandwidth for fixed alpha and frequencies.

Two Pyomo forms:

* ``build_subproblem2_epigraph``, eqs. (41)-(42): one epigraph variable per ratio;
* ``build_subproblem2_parametric``, eq. (46): the convex subtractive form of Theorem 1
  with beta and nu as mutable Params, the inner problem of Jong's method.

For both objective variants the ratio of vehicle n is N_n(p)/r_n(p, b) with
N_n = S_n (omega_e p_n + omega_t [latency]); the paper's (41) is the ``paper`` case divided
by omega_e. Constraints are divided by S_n so that IPOPT sees numbers near 1.
"""

from __future__ import annotations

import pyomo.environ as pyo

from llmv2x.instances.schema import Instance
from llmv2x.models import components as c
from llmv2x.models.allocation import Allocation
from llmv2x.models.constants import BIT_PER_MBIT
from llmv2x.settings import SolveSettings


def numerator_per_bit(settings: SolveSettings, p_w):
    """N_n / S_n = omega_e p_n + omega_t [latency], the numerator of ratio (41) per bit."""
    return settings.omega_e * p_w + (settings.omega_t if settings.latency else 0.0)


def build_subproblem2(
    instance: Instance, settings: SolveSettings, start: Allocation | None = None
) -> pyo.ConcreteModel:
    """Sub-problem II as written, eq. (40): min sum_n N_n(p)/r_n(p, b) s.t. (10b), (10c).

    A sum of ratios, nonconvex; a local NLP solver gives a local optimum (the reference that
    the fractional method is checked against, and its optional final polish).
    """
    m = pyo.ConcreteModel(name=f"SubproblemII[{instance.name}]")
    c.declare_sets(m, instance)
    c.declare_radio_vars(
        m, instance, None if start is None else start.p_w, None if start is None else start.b_hz
    )
    c.declare_comm_costs(m, instance, settings)
    m.objective = pyo.Objective(
        expr=sum(m.comm_cost[n] for n in m.N), doc="(40) sum of communication costs"
    )
    c.declare_bandwidth_budget(m, instance)
    return m


def build_subproblem2_epigraph(
    instance: Instance, settings: SolveSettings, start: Allocation | None = None
) -> pyo.ConcreteModel:
    """Sub-problem II in epigraph form (42): min sum beta_n s.t. (42a), (10b), (10c).

    (42a) is written per bit: (omega_e p_n + omega_t [latency]) - beta_n r_n / S_n <= 0.
    Non-convex (bilinear beta * r); a local NLP solver gives a local optimum.
    """
    m = pyo.ConcreteModel(name=f"SubproblemII-epigraph[{instance.name}]")
    c.declare_sets(m, instance)
    c.declare_radio_vars(
        m, instance, None if start is None else start.p_w, None if start is None else start.b_hz
    )
    c.declare_comm_costs(m, instance, settings)
    m.beta = pyo.Var(
        m.N,
        bounds=(0, None),
        initialize=lambda _m, n: pyo.value(_m.comm_cost[n]),
        doc="(41) epigraph variable of vehicle n's ratio",
    )
    m.objective = pyo.Objective(expr=sum(m.beta[n] for n in m.N), doc="(42) sum of beta_n")
    m.ratio_epigraph = pyo.Constraint(
        m.N,
        rule=lambda _m, n: (
            numerator_per_bit(settings, _m.p_w[n])
            - _m.beta[n] * _m.rate_mbps[n] / (float(instance.bits[n]) / BIT_PER_MBIT)
            <= 0
        ),
        doc="(42a) N_n(p) - beta_n r_n(p, b) <= 0, per bit",
    )
    c.declare_bandwidth_budget(m, instance)
    return m


def build_subproblem2_parametric(
    instance: Instance, settings: SolveSettings, start: Allocation | None = None
) -> pyo.ConcreteModel:
    """The convex problem (46): min sum nu_n (N_n(p) - beta_n r_n(p, b)) s.t. (10b), (10c).

    ``beta`` and ``nu`` are mutable Params (nu scaled by S_n: the Param holds nu_n S_n).
    Convex for beta, nu >= 0 because r_n is jointly concave (Lemma 1) and N_n is affine.
    """
    m = pyo.ConcreteModel(name=f"SubproblemII-parametric[{instance.name}]")
    c.declare_sets(m, instance)
    c.declare_radio_vars(
        m, instance, None if start is None else start.p_w, None if start is None else start.b_hz
    )
    c.declare_comm_costs(m, instance, settings)
    m.beta = pyo.Param(m.N, mutable=True, initialize=0.0, doc="(44) beta_n, ratio value")
    m.nu = pyo.Param(m.N, mutable=True, initialize=1.0, doc="(45) nu_n S_n, scaled multiplier")
    # optional proximal term (rho = 0 by default: then this is exactly (46)); it selects, among
    # the inner problem's solutions, the one nearest the previous point (see fractional.py)
    m.rho = pyo.Param(mutable=True, initialize=0.0, doc="proximal weight, 0 = plain (46)")
    m.p_prev = pyo.Param(m.N, mutable=True, initialize=0.0, doc="previous p, W")
    m.b_prev = pyo.Param(m.N, mutable=True, initialize=0.0, doc="previous b, MHz")
    m.objective = pyo.Objective(
        expr=sum(
            m.nu[n]
            * (
                numerator_per_bit(settings, m.p_w[n])
                - m.beta[n] * m.rate_mbps[n] / (float(instance.bits[n]) / BIT_PER_MBIT)
            )
            for n in m.N
        )
        + m.rho
        / 2
        * sum((m.p_w[n] - m.p_prev[n]) ** 2 + (m.b_mhz[n] - m.b_prev[n]) ** 2 for n in m.N),
        doc="(46) sum nu_n (N_n - beta_n R_n), per bit (+ optional proximal term)",
    )
    c.declare_bandwidth_budget(m, instance)
    return m
