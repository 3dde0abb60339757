"""Association model, point writing: per-link helpers, reading and writing a point.

``allocation_from_association_model`` reads the allocation (and the association, the RSU
with the largest x_nm) from a solved model of ``llmv2x.models.p1_association``;
``association_model_values`` gives every variable's value at an allocation (binaries at its
association, epigraph variables on their envelopes) for a warm start or an export.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pyomo.environ as pyo

from llmv2x.instances.schema import Instance
from llmv2x.models import components as c
from llmv2x.models import physics
from llmv2x.models.allocation import Allocation
from llmv2x.models.constants import (
    HZ_PER_GHZ,
    HZ_PER_MHZ,
)


def _links(inst: Instance) -> list[tuple[int, int]]:
    return [(n, int(r)) for n in range(inst.n_vehicles) for r in inst.candidates(n)]


def _rate_bps(inst: Instance, n: int, r: int, p_w: float, b_hz: float) -> float:
    return float(physics.uplink_rate(b_hz, p_w, inst.link_gain(n, r), inst.noise_psd_w_per_hz))


def allocation_from_association_model(instance: Instance, m: pyo.ConcreteModel) -> Allocation:
    """Read the allocation and its association (the RSU with the largest x_nm) in SI units."""

    def val(x: Any) -> float:
        v = pyo.value(x, exception=False)
        return float("nan") if v is None else float(v)

    n_range = range(instance.n_vehicles)
    assoc = np.array(
        [max(instance.candidates(n), key=lambda r: val(m.x[n, int(r)])) for n in n_range],
        dtype=np.int64,
    )
    return Allocation(
        alpha=np.array([val(m.alpha[n]) for n in n_range]),
        p_w=np.array([val(m.p_w[n]) for n in n_range]),
        b_hz=np.array([val(m.b_mhz[n]) * HZ_PER_MHZ for n in n_range]),
        f_vehicle_hz=np.array([val(m.f_vehicle_ghz[n]) * HZ_PER_GHZ for n in n_range]),
        f_rsu_hz=np.array([val(m.f_rsu_ghz[n]) * HZ_PER_GHZ for n in n_range]),
        association=assoc,
    )


def association_model_values(
    instance: Instance, m: pyo.ConcreteModel, alloc: Allocation
) -> Iterator[tuple[Any, float]]:
    """(component, scaled value) for every variable of the model at ``alloc``, with the
    binaries at its association and the epigraph variables on their envelopes."""
    inst = instance
    assoc = inst.association if alloc.association is None else alloc.association
    ups = inst.layers
    w = float(pyo.value(m.omega_t))
    we = 1.0 - w
    for n in range(inst.n_vehicles):
        a = int(assoc[n])
        yield m.alpha[n], float(alloc.alpha[n])
        yield m.p_w[n], float(alloc.p_w[n])
        yield m.b_mhz[n], float(alloc.b_hz[n] / HZ_PER_MHZ)
        yield m.f_vehicle_ghz[n], float(alloc.f_vehicle_hz[n] / HZ_PER_GHZ)
        yield m.f_rsu_ghz[n], float(alloc.f_rsu_hz[n] / HZ_PER_GHZ)
        for r in inst.candidates(n):
            r = int(r)
            on = float(r == a)
            yield m.x[n, r], on
            yield m.bb_mhz[n, r], on * float(alloc.b_hz[n] / HZ_PER_MHZ)
            yield m.ff_ghz[n, r], on * float(alloc.f_rsu_hz[n] / HZ_PER_GHZ)
        rate = _rate_bps(inst, n, a, float(alloc.p_w[n]), float(alloc.b_hz[n]))
        t_com = float(inst.bits[n]) / rate
        yield m.t_com[n], t_com
        yield m.rate_rel[n], rate / pyo.value(m.rate_scale[n])
        for r in inst.candidates(n):
            yield m.rate_link[n, int(r)], float(int(r) == a) * rate / pyo.value(m.rate_scale[n])
        t, e = c.layer_time_energy(inst, n, a)
        f = float(alloc.f_rsu_hz[n] / HZ_PER_GHZ)
        share = ups - float(alloc.alpha[n])
        yield m.rsu_cost[n], share * (w * t / f + we * e * f**2)
        if hasattr(m, "t_rsu"):
            yield m.t_rsu[n], share * t / f
        local = float(alloc.alpha[n] >= ups)
        if hasattr(m, "all_local"):
            yield m.all_local[n], local
        if hasattr(m, "w_off"):
            for r in inst.candidates(n):
                r = int(r)
                off = float(r == a) * (1.0 - local)
                yield m.w_off[n, r], off
                yield m.ffw[n, r], off * f
                yield m.rsu_link[n, r], off * (w * t / f + we * e * f**2)
                yield m.comm_link[n, r], float(r == a) * we * float(alloc.p_w[n]) * t_com
    if hasattr(m, "served"):
        used = set(int(a) for a in assoc)
        for r in m.M:
            yield m.served[r], float(r in used)
