"""The independent NumPy evaluator: objective (10) or its latency variant, metrics, feasibility.

Every solution a method returns passes through ``evaluate`` before it is reported.
It uses only ``llmv2x.models.physics``, the same formulas as the Pyomo builders, and checks
the point against its ``Problem`` (docs/formulation.md#problem-variants): budgets as
equalities or inequalities, the association, deadlines and energy budgets.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from llmv2x.instances.schema import Instance
from llmv2x.models import physics
from llmv2x.models.allocation import Allocation
from llmv2x.models.constants import B_FLOOR_HZ, F_RSU_FLOOR_HZ, FEAS_TOL
from llmv2x.models.variants import (
    association_ok,
    bad_association,
    budget_sums,
    link_gains,
    per_vehicle_excess,
)
from llmv2x.problem import VARIANT_TOL, Problem
from llmv2x.settings import SolveSettings

METRIC_KEYS = (
    "compute_time_s",
    "transmit_time_s",
    "completion_time_s",
    "vehicle_energy_j",
    "transmit_energy_j",
    "rsu_energy_j",
    "energy_j",
)


@dataclass(frozen=True)
class CostTerms:
    """Per-vehicle cost terms of eq. (10): local compute, RSU compute, communication."""

    vehicle: np.ndarray  # alpha_n (omega_t T_n + omega_e E_n)
    rsu: np.ndarray  # (Upsilon - alpha_n)(omega_t T_nm + omega_e E_nm)
    comm: np.ndarray  # omega_e E^com (+ omega_t T^com for latency)

    @property
    def compute(self) -> float:
        """The compute part, sub-problem I's objective (11)."""
        return float(np.sum(self.vehicle) + np.sum(self.rsu))

    @property
    def communication(self) -> float:
        """The communication part, sub-problem II's objective (40)."""
        return float(np.sum(self.comm))

    @property
    def total(self) -> float:
        """Objective (10), or the latency variant."""
        return self.compute + self.communication


def own_association(instance: Instance, association: np.ndarray | None) -> np.ndarray | None:
    """``association``, or None when it is the instance's own (its gains and RSU fields are
    then gathered once and cached by the instance: the P1 path, bit for bit)."""
    if association is None or np.array_equal(association, instance.association):
        return None
    return association


def _gain(instance: Instance, association: np.ndarray | None) -> np.ndarray:
    """g_n on the link each vehicle uses: the instance's own when ``association`` is None."""
    return instance.gain if association is None else link_gains(instance, association)[0]


def _rsu_of(instance: Instance, key: str, association: np.ndarray | None) -> np.ndarray:
    """An RSU field per vehicle at the RSU it uses (the instance's when None)."""
    return instance.rsu_of(key) if association is None else instance.rsu[key][association]


def rates(
    instance: Instance,
    p_w: np.ndarray,
    b_hz: np.ndarray,
    association: np.ndarray | None = None,
) -> np.ndarray:
    """Uplink rate of every vehicle to its RSU, eq. (3), bit/s, on the link of
    ``association`` (None: the instance's association)."""
    return physics.uplink_rate(
        np.asarray(b_hz, float),
        np.asarray(p_w, float),
        _gain(instance, association),
        instance.noise_psd_w_per_hz,
    )


def vehicle_layer_cost(instance: Instance, omega_t: float, f_hz: np.ndarray) -> np.ndarray:
    """omega_t T_n^cmp + omega_e E_n^cmp for each vehicle, eqs. (1)-(2)."""
    v = instance.vehicle
    return physics.layer_cost(
        omega_t, instance.psi, f_hz, v["kappa"], v["gpu_cores"], v["flops_per_cycle"]
    )


def rsu_layer_cost(
    instance: Instance, omega_t: float, f_hz: np.ndarray, association: np.ndarray | None = None
) -> np.ndarray:
    """omega_t T_nm^cmp + omega_e E_nm^cmp for each vehicle at its RSU, eqs. (7)-(8)."""
    return physics.layer_cost(
        omega_t,
        instance.psi,
        f_hz,
        _rsu_of(instance, "kappa", association),
        _rsu_of(instance, "gpu_cores", association),
        _rsu_of(instance, "flops_per_cycle", association),
    )


def comm_cost(
    instance: Instance,
    omega_t: float,
    latency: bool,
    p_w: np.ndarray,
    b_hz: np.ndarray,
    association: np.ndarray | None = None,
) -> np.ndarray:
    """Communication cost of every vehicle (eq. (5)'s omega_e E^com, + omega_t T^com if latency)."""
    return physics.transmit_cost(
        omega_t,
        np.asarray(p_w, float),
        instance.bits,
        rates(instance, p_w, b_hz, association),
        latency,
    )


def cost_terms(instance: Instance, alloc: Allocation, settings: SolveSettings) -> CostTerms:
    """The terms of objective (10) (eqs. (5) and (9)) at ``alloc``."""
    w = settings.omega_t
    a = alloc.alpha
    assoc = own_association(instance, alloc.association)
    return CostTerms(
        vehicle=a * vehicle_layer_cost(instance, w, alloc.f_vehicle_hz),
        rsu=(instance.layers - a) * rsu_layer_cost(instance, w, alloc.f_rsu_hz, assoc),
        comm=comm_cost(instance, w, settings.latency, alloc.p_w, alloc.b_hz, assoc),
    )


def objective(instance: Instance, alloc: Allocation, settings: SolveSettings) -> float:
    """Objective (10) (``paper``) or its ``latency`` variant at ``alloc``."""
    return cost_terms(instance, alloc, settings).total


def vehicle_metrics(instance: Instance, alloc: Allocation) -> dict[str, np.ndarray]:
    """The seven result metrics per vehicle (s and J): eqs. (1)-(8) at ``alloc``.

    compute time alpha T^cmp + (Upsilon - alpha) T_nm^cmp (eqs. (1), (7)), transmit time
    and energy (4), vehicle energy alpha E^cmp (2), RSU energy (Upsilon - alpha) E_nm^cmp
    (8); completion and total energy are their sums. A zero rate gives an infinite time.
    The RSU of each vehicle is the allocation's association (None: the instance's).
    """
    v = instance.vehicle
    a = alloc.alpha
    assoc = own_association(instance, alloc.association)
    psi = instance.psi
    t_v = physics.compute_time(psi, alloc.f_vehicle_hz, v["gpu_cores"], v["flops_per_cycle"])
    e_v = physics.compute_energy(
        psi, alloc.f_vehicle_hz, v["kappa"], v["gpu_cores"], v["flops_per_cycle"]
    )
    cores_r = _rsu_of(instance, "gpu_cores", assoc)
    fpc_r = _rsu_of(instance, "flops_per_cycle", assoc)
    t_r = physics.compute_time(psi, alloc.f_rsu_hz, cores_r, fpc_r)
    kappa_r = _rsu_of(instance, "kappa", assoc)
    e_r = physics.compute_energy(psi, alloc.f_rsu_hz, kappa_r, cores_r, fpc_r)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = rates(instance, alloc.p_w, alloc.b_hz, assoc)
        t_c = physics.transmit_time(instance.bits, r)
        e_c = physics.transmit_energy(alloc.p_w, instance.bits, r)
    off = instance.layers - a
    out = {
        "compute_time_s": a * t_v + off * t_r,
        "transmit_time_s": np.broadcast_to(t_c, a.shape).astype(float),
        "vehicle_energy_j": a * e_v,
        "transmit_energy_j": np.broadcast_to(e_c, a.shape).astype(float),
        "rsu_energy_j": off * e_r,
    }
    out["completion_time_s"] = out["compute_time_s"] + out["transmit_time_s"]
    out["energy_j"] = out["vehicle_energy_j"] + out["transmit_energy_j"] + out["rsu_energy_j"]
    return {k: out[k] for k in METRIC_KEYS}


def metrics(instance: Instance, alloc: Allocation) -> dict[str, float]:
    """Result metrics (docs/result-format.md): sums over vehicles of ``vehicle_metrics``."""
    per = vehicle_metrics(instance, alloc)
    out = {
        k: float(np.sum(per[k]))
        for k in (
            "compute_time_s",
            "transmit_time_s",
            "vehicle_energy_j",
            "transmit_energy_j",
            "rsu_energy_j",
        )
    }
    out["completion_time_s"] = out["compute_time_s"] + out["transmit_time_s"]
    out["energy_j"] = out["vehicle_energy_j"] + out["transmit_energy_j"] + out["rsu_energy_j"]
    return {k: out[k] for k in METRIC_KEYS}


def _below(x: np.ndarray, lo: np.ndarray) -> float:
    lo = np.broadcast_to(np.asarray(lo, float), x.shape)
    return float(np.max(np.maximum(0.0, lo - x) / np.maximum(np.abs(lo), 1e-300), initial=0.0))


def _above(x: np.ndarray, hi: np.ndarray) -> float:
    hi = np.broadcast_to(np.asarray(hi, float), x.shape)
    return float(np.max(np.maximum(0.0, x - hi) / np.maximum(np.abs(hi), 1e-300), initial=0.0))


DEFAULT_KEYS = ("10a", "10b", "10c", "10d", "10e", "floors", "finite")


def check(
    instance: Instance, alloc: Allocation, problem: Problem | None = None
) -> tuple[dict[str, float], dict[str, str]]:
    """``violations`` with, for the per-vehicle keys, where the largest one is.

    Returns ``(violations, where)``; ``where`` maps ``deadline``, ``energy_budget`` and
    ``association`` to a name like ``deadline[3]`` (vehicle 3).
    """
    problem = problem or Problem()
    v = instance.vehicle
    arrays = (alloc.alpha, alloc.p_w, alloc.b_hz, alloc.f_vehicle_hz, alloc.f_rsu_hz)
    n = instance.n_vehicles
    if any(a.shape != (n,) for a in arrays):
        raise ValueError(f"allocation arrays must have {n} entries")
    finite = 0.0 if all(np.all(np.isfinite(a)) for a in arrays) else 1.0
    a = alloc.alpha
    out = {
        "10a": max(
            float(np.max(np.abs(a - np.round(a)), initial=0.0)),
            _below(a, np.ones(n)),
            _above(a, np.full(n, float(instance.layers))),
        ),
        "10b": max(_below(alloc.p_w, v["p_min_w"]), _above(alloc.p_w, v["p_max_w"])),
        "10d": max(
            _below(alloc.f_vehicle_hz, v["f_min_hz"]), _above(alloc.f_vehicle_hz, v["f_max_hz"])
        ),
        "floors": max(
            _below(alloc.b_hz, np.full(n, B_FLOOR_HZ)),
            _below(alloc.f_rsu_hz, np.full(n, F_RSU_FLOOR_HZ)),
        ),
        "finite": finite,
    }
    where: dict[str, str] = {}
    assoc_ok = association_ok(instance, alloc, problem)
    if assoc_ok is False:
        out["association"] = 1.0
        bad = bad_association(instance, alloc, problem)
        where["association"] = f"association[{bad}]"
        out["10c"] = out["10e"] = float("inf")  # the sums are not defined
    else:
        # per-RSU sums in one pass (linear in N; a loop over RSUs took seconds at M = 250,000)
        assoc = instance.association if alloc.association is None else alloc.association
        out["10c"], out["10e"] = budget_sums(instance, alloc, problem, assoc)
        if assoc_ok is not None:
            out["association"] = 0.0
    keys = [*DEFAULT_KEYS, *(["association"] if "association" in out else [])]
    if problem.deadlines or problem.energy_budgets:
        per = None
        if assoc_ok is not False:
            with np.errstate(all="ignore"):
                per = vehicle_metrics(instance, alloc)
        for flag, key, limit, value in (
            (problem.deadlines, "deadline", instance.deadline_s, ("completion_time_s",)),
            (
                problem.energy_budgets,
                "energy_budget",
                instance.energy_budget_j,
                ("vehicle_energy_j", "transmit_energy_j"),
            ),
        ):
            if not flag:
                continue
            keys.append(key)
            if per is None:
                out[key], where[key] = float("inf"), key
                continue
            total = per[value[0]] if len(value) == 1 else per[value[0]] + per[value[1]]
            out[key], i = per_vehicle_excess(total, limit)
            where[key] = f"{key}[{i}]"
    return {k: out[k] for k in keys}, where


def violations(
    instance: Instance, alloc: Allocation, problem: Problem | None = None
) -> dict[str, float]:
    """Largest relative violation of each constraint of P1, (10a)-(10e) and the floors.

    Keys: ``10a`` (alpha integral in [1, Upsilon]), ``10b`` (p bounds), ``10c`` (per-RSU
    bandwidth sum), ``10d`` (vehicle frequency bounds), ``10e`` (per-RSU frequency sum),
    ``floors`` (b_n >= 1 kHz, f_nm >= 1 MHz), ``finite`` (1 if any value is not finite).
    Under a ``problem`` (default P1): (10c) and (10e) as inequalities when its budgets are,
    over the vehicles each RSU serves under the point's association; ``association`` (1 if
    a vehicle uses an RSU it may not: not one of its links under ``decision``, not the
    instance's under ``fixed``; present under ``decision`` or when the point carries another
    association); ``deadline`` and ``energy_budget`` (largest relative excess over
    ``deadline_s`` and ``energy_budget_j``) when the problem has them.
    """
    return check(instance, alloc, problem)[0]


@dataclass(frozen=True)
class Evaluation:
    """What the evaluator says about an allocation.

    ``worst`` names the constraint furthest beyond its tolerance when the point is
    infeasible, with the vehicle for the per-vehicle ones (``deadline[3]``); else "".
    """

    feasible: bool
    objective: float
    max_violation: float
    metrics: dict[str, float]
    violations: dict[str, float] = field(default_factory=dict)
    compute_part: float = float("nan")
    communication_part: float = float("nan")
    worst: str = ""


def _tolerance(key: str, tol: float) -> float:
    """Deadlines and energy budgets hold to 1e-6 relative, everything else to ``tol``."""
    return max(tol, VARIANT_TOL) if key in ("deadline", "energy_budget") else tol


def evaluate(
    instance: Instance,
    alloc: Allocation,
    settings: SolveSettings,
    tol: float = FEAS_TOL,
    problem: Problem | None = None,
) -> Evaluation:
    """Check feasibility of ``alloc`` and compute objective (10) and the metrics.

    The problem is ``problem``, or ``Problem.of(instance, settings)``. Feasible means every
    bound and per-RSU sum holds within ``tol`` relative (1e-9, docs/formulation.md), every
    alpha_n is an integer, the association is allowed, and deadlines and energy budgets
    hold within 1e-6 relative.
    """
    problem = problem or Problem.of(instance, settings)
    viol, where = check(instance, alloc, problem)
    worst = max(viol.values())
    beyond = {k: x for k, x in viol.items() if not x <= _tolerance(k, tol)}
    name = max(beyond, key=beyond.get) if beyond else ""
    if viol.get("association"):  # the sums are not defined without a valid association
        name = "association"
    name = where.get(name, name)
    if viol["finite"] or viol.get("association"):
        return Evaluation(False, float("nan"), float("inf"), {}, viol, worst=name)
    terms = cost_terms(instance, alloc, settings)
    return Evaluation(
        feasible=not beyond,
        objective=terms.total,
        max_violation=worst,
        metrics=metrics(instance, alloc),
        violations=viol,
        compute_part=terms.compute,
        communication_part=terms.communication,
        worst=name,
    )
