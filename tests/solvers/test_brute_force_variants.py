"""Brute force over alpha and the association agrees with SCIP's proven optimum (strong).

With alpha and the association fixed, what is left of any variant separates by RSU: the
budgets are per RSU, deadlines and energy budgets per vehicle. So the brute force solves,
for every RSU m, every set S of vehicles with a link to m and every alpha_S in
{1..Upsilon}^|S|, the continuous problem of S alone at m, globally, with SCIP (a spatial
branch and bound on the nonconvex NLP; IPOPT would not do, the transmit cost is not convex
in (p, b)), keeps the best alpha_S for each (m, S), then takes the best sum over the
associations. Upsilon = 4 (``layers=4``) keeps it exact: no reduction of alpha is assumed;
the continuous solves use the strong rows with p = p_min (valid without deadlines,
docs/minlp.md), since SCIP does not close the gap of the continuous problem with p free
within a minute.
"""

from __future__ import annotations

import itertools
import math
from functools import cache

import numpy as np
import pyomo.environ as pyo
import pytest

import llmv2x
from llmv2x.instances import Instance, generate_instance
from llmv2x.instances.schema import RSU_FIELDS, VEHICLE_FIELDS
from llmv2x.models.p1_strong import build_p1_strong
from llmv2x.problem import Problem
from llmv2x.settings import SolveSettings
from llmv2x.solvers import registry

pytestmark = pytest.mark.skipif(not registry.availability("scip", "minlp"), reason="needs SCIP")

LAYERS = 4


def sub_instance(inst: Instance, members: tuple[int, ...], rsu: int) -> Instance:
    """Vehicles ``members`` alone, all served by RSU ``rsu`` alone."""
    idx = np.array(members)
    vehicle = {k: np.array(inst.vehicle[k])[idx] for k in VEHICLE_FIELDS}
    for k in ("deadline_s", "energy_budget_j"):
        vehicle[k] = np.array(getattr(inst, k))[idx]
    return Instance.from_arrays(
        name="sub",
        seed=None,
        area_m=inst.area_m,
        llm={
            "layers": inst.layers,
            "hidden_size": inst.hidden_size,
            "batch_size": inst.batch_size,
            "activation_bits": inst.activation_bits_per_value,
        },
        noise_psd_w_per_hz=inst.noise_psd_w_per_hz,
        vehicle=vehicle,
        rsu={k: np.array(inst.rsu[k])[[rsu]] for k in RSU_FIELDS},
        links=(
            np.arange(len(idx)),
            np.zeros(len(idx), dtype=np.int64),
            np.array([inst.link_gain(int(n), rsu) for n in idx]),
        ),
        association=np.zeros(len(idx), dtype=np.int64),
    )


def continuous_optimum(inst: Instance, settings: SolveSettings, alpha: tuple[int, ...]) -> float:
    """The global optimum of the sub-instance with alpha fixed (inf when infeasible)."""
    # SCIP stalls on the plain P1 and, with p free, on the strong one. The strong rows here
    # keep p = p_min only (no deadlines): flagging energy budgets switches the reductions on
    # alpha and the vehicle frequency off (an instance without budgets gets no row from it)
    problem = Problem(budgets=settings.budgets, energy_budgets=True)
    m = build_p1_strong(inst, settings, problem=problem)
    assert not hasattr(m, "all_local") and not m.f_vehicle_ghz[0].fixed
    for n, a in enumerate(alpha):
        m.alpha[n].fix(a)
    out = registry.get_backend("scip", "minlp").solve(m, 30.0, 1e-7, {}, False)
    if out.status == "infeasible":
        return math.inf
    assert out.status == "optimal", out.message
    return float(pyo.value(m.objective))


def brute_force(inst: Instance, settings: SolveSettings) -> float:
    """min over associations of the sum over RSUs of the best (alpha_S, continuous) value."""

    @cache
    def best(rsu: int, members: tuple[int, ...]) -> float:
        if not members:
            return 0.0
        sub = sub_instance(inst, members, rsu)
        s = settings.with_(association="fixed")
        return min(
            continuous_optimum(sub, s, alpha)
            for alpha in itertools.product(range(1, inst.layers + 1), repeat=len(members))
        )

    choices = (
        [[int(r) for r in inst.candidates(n)] for n in range(inst.n_vehicles)]
        if settings.association == "decision"
        else [[int(a)] for a in inst.association]
    )
    values = []
    for assoc in itertools.product(*choices):
        total = 0.0
        for rsu in range(inst.n_rsus):
            total += best(rsu, tuple(n for n, a in enumerate(assoc) if a == rsu))
        values.append(total)
    return min(values)


@pytest.mark.parametrize(
    ("gen", "kw"),
    [
        (dict(seed=1, energy_tightness=1.05), {}),
        (dict(seed=1), dict(association="decision")),
    ],
    ids=["energy", "decision"],
)
def test_brute_force_agrees_with_scips_proven_optimum(gen, kw):
    inst = generate_instance(vehicles=4, rsus=2, layers=LAYERS, **gen)
    settings = SolveSettings(**kw)
    res = llmv2x.solve(
        inst, method="minlp", minlp_backend="scip", formulation="strong", time_limit=60, **kw
    )
    assert res.status == "optimal", res.message
    ref = brute_force(inst, settings)
    assert res.objective == pytest.approx(ref, rel=1e-6)
    assert res.lower_bound <= ref * (1 + 1e-9)
