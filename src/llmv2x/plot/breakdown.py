"""Per-vehicle and per-RSU numbers behind the pictures of an allocation.

Every time and energy here comes from ``llmv2x.models.physics`` (eqs. (1)-(4), (7)-(8)),
the same functions the evaluator and the Pyomo builders call; nothing is re-derived.
The evaluator's ``metrics`` are the sums over vehicles of these arrays.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from llmv2x.errors import ResultError
from llmv2x.instances.schema import Instance
from llmv2x.models import physics
from llmv2x.models.allocation import Allocation

#: relative slack under which a deadline or an energy budget counts as binding
BINDING_RTOL = 1e-4


@dataclass(frozen=True)
class VehicleBreakdown:
    """Time (s) and energy (J) of each vehicle, split by where it is spent.

    ``*_vehicle`` is the alpha_n layers run on the vehicle, ``*_transmit`` the upload of the
    activations and ``*_rsu`` the Upsilon - alpha_n layers run at the serving RSU.
    """

    association: np.ndarray
    alpha: np.ndarray
    time_vehicle: np.ndarray
    time_transmit: np.ndarray
    time_rsu: np.ndarray
    energy_vehicle: np.ndarray
    energy_transmit: np.ndarray
    energy_rsu: np.ndarray

    @property
    def completion_time(self) -> np.ndarray:
        """T_n, the vehicle's completion time (what a deadline bounds)."""
        return self.time_vehicle + self.time_transmit + self.time_rsu

    @property
    def own_energy(self) -> np.ndarray:
        """alpha_n E_n^cmp + E_n^com, the vehicle's own energy (what an energy budget bounds)."""
        return self.energy_vehicle + self.energy_transmit

    @property
    def total_energy(self) -> np.ndarray:
        """Vehicle, transmission and RSU energy of each vehicle's request."""
        return self.own_energy + self.energy_rsu


@dataclass(frozen=True)
class RsuUsage:
    """What each RSU serves and how much of its budgets the allocation uses."""

    vehicles: np.ndarray  # number of vehicles served
    layers: np.ndarray  # sum of Upsilon - alpha_n over the vehicles served
    bandwidth_share: np.ndarray  # sum of b_n / bandwidth_hz (1 under equality budgets)
    frequency_share: np.ndarray  # sum of f_nm / f_max_hz


def association_of(instance: Instance, result: Any = None) -> np.ndarray:
    """The RSU serving each vehicle: the result's ``association`` if any, else the instance's."""
    assoc = getattr(result, "association", None)
    if assoc is None:
        return np.asarray(instance.association, int)
    assoc = np.asarray(assoc, int)
    if assoc.shape != (instance.n_vehicles,):
        raise ResultError(
            f"association: {assoc.size} entries, instance {instance.name} has "
            f"{instance.n_vehicles} vehicles"
        )
    return assoc


def allocation_of(instance: Instance, result: Any) -> Allocation:
    """The result's allocation, checked against the instance's size (ResultError if unusable)."""
    alloc = getattr(result, "allocation", None)
    if alloc is None:
        status = getattr(result, "status", "?")
        raise ResultError(f"allocation: the result (status {status}) carries no point to draw")
    n = alloc.alpha.shape[0]
    if n != instance.n_vehicles:
        raise ResultError(
            f"alpha: the result has {n} vehicles, instance {instance.name} has "
            f"{instance.n_vehicles}; is it the instance that was solved?"
        )
    from llmv2x.results import Result, audit

    if isinstance(result, Result):  # a picture of a point the evaluator refuses would lie
        fatal = ("instance:", "infeasible", "objective: the recomputed")
        refused = [p for p in audit(instance, result).problems if p.startswith(fatal)]
        if refused:
            raise ResultError(f"cannot draw this result: {refused[0]}")
    return alloc


def vehicle_breakdown(
    instance: Instance, alloc: Allocation, association: np.ndarray | None = None
) -> VehicleBreakdown:
    """Per-vehicle times and energies at ``alloc`` (eqs. (1)-(4), (7)-(8)).

    ``association`` (default: the instance's) picks the serving RSU of each vehicle, and so
    the link gain of its rate and the RSU whose GPU runs its remaining layers.
    """
    n = instance.n_vehicles
    assoc = instance.association if association is None else np.asarray(association, int)
    v = instance.vehicle
    psi = instance.psi
    a = alloc.alpha
    off = instance.layers - a
    cores_r = instance.rsu["gpu_cores"][assoc]
    fpc_r = instance.rsu["flops_per_cycle"][assoc]
    t_v = physics.compute_time(psi, alloc.f_vehicle_hz, v["gpu_cores"], v["flops_per_cycle"])
    e_v = physics.compute_energy(
        psi, alloc.f_vehicle_hz, v["kappa"], v["gpu_cores"], v["flops_per_cycle"]
    )
    t_r = physics.compute_time(psi, alloc.f_rsu_hz, cores_r, fpc_r)
    e_r = physics.compute_energy(psi, alloc.f_rsu_hz, instance.rsu["kappa"][assoc], cores_r, fpc_r)
    gain = instance.channel_gain[np.arange(n), assoc]
    rate = physics.uplink_rate(alloc.b_hz, alloc.p_w, gain, instance.noise_psd_w_per_hz)
    return VehicleBreakdown(
        association=assoc,
        alpha=np.asarray(a, float),
        time_vehicle=a * t_v,
        time_transmit=physics.transmit_time(instance.bits, rate),
        time_rsu=off * t_r,
        energy_vehicle=a * e_v,
        energy_transmit=physics.transmit_energy(alloc.p_w, instance.bits, rate),
        energy_rsu=off * e_r,
    )


def rsu_usage(instance: Instance, alloc: Allocation, association: np.ndarray) -> RsuUsage:
    """Vehicles, offloaded layers and used share of bandwidth and frequency of every RSU."""
    m = instance.n_rsus
    assoc = np.asarray(association, int)
    count = np.bincount(assoc, minlength=m).astype(float)
    layers = np.bincount(assoc, weights=instance.layers - alloc.alpha, minlength=m)
    b = np.bincount(assoc, weights=alloc.b_hz, minlength=m)
    f = np.bincount(assoc, weights=alloc.f_rsu_hz, minlength=m)
    return RsuUsage(
        vehicles=count,
        layers=layers,
        bandwidth_share=b / instance.rsu["bandwidth_hz"],
        frequency_share=f / instance.rsu["f_max_hz"],
    )


def per_vehicle_limit(instance: Instance, field_name: str, given: Any = None) -> np.ndarray | None:
    """A per-vehicle limit (``deadline_s`` or ``energy_budget_j``) as a float array, NaN = none.

    ``given`` wins over the instance's field; an instance without the field, or a limit that
    is null for every vehicle, gives None.
    """
    if given is None:
        given = getattr(instance, field_name, None)
        if given is None:
            vehicle = getattr(instance, "vehicle", {})
            given = vehicle.get(field_name) if hasattr(vehicle, "get") else None
    if given is None:
        return None
    out = np.array([np.nan if x is None else float(x) for x in np.ravel(given)], dtype=float)
    if out.shape != (instance.n_vehicles,):
        raise ResultError(
            f"{field_name}: {out.size} entries, instance {instance.name} has "
            f"{instance.n_vehicles} vehicles"
        )
    return None if np.all(np.isnan(out)) else out


def binding(value: np.ndarray, limit: np.ndarray | None, rtol: float = BINDING_RTOL) -> np.ndarray:
    """True where ``value`` reaches ``limit`` within ``rtol`` relative (or exceeds it)."""
    if limit is None:
        return np.zeros(np.shape(value), bool)
    with np.errstate(invalid="ignore"):
        return np.isfinite(limit) & (value >= limit * (1.0 - rtol))
