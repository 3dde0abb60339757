"""Exercise 1, reference answer: a per-vehicle deadline on the completion time couples the blocks.

Vehicle n finishes after

    T_n = alpha_n T_n^cmp(f_n) + (Upsilon - alpha_n) T_nm^cmp(f_nm) + T_n^com(p_n, b_n)

(eqs. (1), (4), (7)); the deadline asks T_n <= D_n. The constraint mixes both AO blocks:
sub-problem II's feasible set now depends on alpha and the frequencies through the time left
for transmission, D_n - compute time, and sub-problem I's through the transmission time.
:func:`required_power` makes that visible: the least power that meets the deadline is a
function of the *other* block's variables. :func:`deadline_instance` and
:func:`package_comparison` move on to the package's own deadlines (``deadline_s`` in the
instance, AO and the MINLP path model them).
"""

from __future__ import annotations

import numpy as np
import pyomo.environ as pyo

from llmv2x import Allocation, Instance, SolveSettings
from llmv2x.models import physics
from llmv2x.models.constants import HZ_PER_GHZ
from llmv2x.models.p1 import allocation_from_model, build_p1
from llmv2x.solvers.registry import get_backend


def compute_time_s(instance: Instance, alloc: Allocation) -> np.ndarray:
    """alpha_n T_n^cmp + (Upsilon - alpha_n) T_nm^cmp per vehicle, s (eqs. (1), (7))."""
    v = instance.vehicle
    t_v = physics.compute_time(
        instance.psi, alloc.f_vehicle_hz, v["gpu_cores"], v["flops_per_cycle"]
    )
    t_r = physics.compute_time(
        instance.psi,
        alloc.f_rsu_hz,
        instance.rsu_of("gpu_cores"),
        instance.rsu_of("flops_per_cycle"),
    )
    return alloc.alpha * t_v + (instance.layers - alloc.alpha) * t_r


def completion_time_s(instance: Instance, alloc: Allocation) -> np.ndarray:
    """Completion time T_n per vehicle, s: compute time plus transmission time (eq. (4))."""
    rate = physics.uplink_rate(alloc.b_hz, alloc.p_w, instance.gain, instance.noise_psd_w_per_hz)
    return compute_time_s(instance, alloc) + physics.transmit_time(instance.bits, rate)


def required_power(instance: Instance, alloc: Allocation, deadline_s: np.ndarray) -> np.ndarray:
    """Least power p_n (W) that meets the deadline at the allocation's alpha, f and b_n.

    The rate (3) increases in p, so T_n <= D_n is p_n >= (2^(S_n / (b_n s_n)) - 1) sigma^2 b_n / g_n
    with s_n = D_n - compute time, the time left for transmission. inf where s_n <= 0, and the
    result can exceed p_max (then no power meets the deadline at this alpha, f, b).
    """
    slack = np.asarray(deadline_s, float) - compute_time_s(instance, alloc)
    b = alloc.b_hz
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        p = np.expm1(np.log(2.0) * instance.bits / (b * slack)) * instance.noise_psd_w_per_hz * b
        p = p / instance.gain
    return np.where(slack > 0, p, np.inf)


def add_deadlines(m: pyo.ConcreteModel, instance: Instance, deadline_s: np.ndarray) -> None:
    """Add ``m.deadline[n]``: completion time of vehicle n <= deadline_s[n] to a P1 model.

    Written with the same formulas as the objective (:mod:`llmv2x.models.physics`) on the
    model's scaled variables. The transmission time S_n / r_n is a ratio; multiplied out,
    (D_n - compute time) r_n >= S_n keeps every expression finite.
    """
    v, r = instance.vehicle, instance.rsu
    deadline = np.broadcast_to(np.asarray(deadline_s, float), (instance.n_vehicles,))

    def rule(_m, n):
        a = int(instance.association[n])
        t_v = physics.compute_time(
            float(instance.psi[n]),
            _m.f_vehicle_ghz[n] * HZ_PER_GHZ,
            float(v["gpu_cores"][n]),
            float(v["flops_per_cycle"][n]),
        )
        t_r = physics.compute_time(
            float(instance.psi[n]),
            _m.f_rsu_ghz[n, a] * HZ_PER_GHZ,
            float(r["gpu_cores"][a]),
            float(r["flops_per_cycle"][a]),
        )
        compute = _m.alpha[n] * t_v + (instance.layers - _m.alpha[n]) * t_r
        # in Mbit so that both sides are O(1)-O(100)
        return (float(deadline[n]) - compute) * _m.rate_mbps[n] >= float(instance.bits[n]) / 1e6

    m.deadline = pyo.Constraint(m.N, rule=rule, doc="(D) completion time <= deadline, per vehicle")


def solve_with_deadlines(
    instance: Instance,
    settings: SolveSettings,
    deadline_s: np.ndarray,
    backend: str = "mindtpy",
    time_limit: float = 30.0,
    start: Allocation | None = None,
) -> tuple[Allocation, str]:
    """P1 plus deadlines, handed whole to a MINLP backend; returns (allocation, status).

    ``start`` (e.g. the unconstrained optimum with raised powers) initialises the model.
    """
    m = build_p1(instance, settings, start=start)
    add_deadlines(m, instance, deadline_s)
    out = get_backend(backend, "minlp").solve(m, time_limit, settings.gap, {}, False)
    if not out.has_point:
        return start, out.status
    return allocation_from_model(instance, m), out.status


def deadline_instance(tightness: float = 1.1) -> Instance:
    """The tutorial instance with the package's own deadlines: D_n = tightness x T_n(R) at the
    generator's reference allocation R (docs/data-format.md#deadline-and-energy-tightness)."""
    import llmv2x

    return llmv2x.generate_instance(
        seed=2, name="tutorial", vehicles=6, rsus=2, deadline_tightness=tightness
    )


def package_comparison(instance: Instance, time_limit: float = 10.0) -> dict[str, object]:
    """AO and SCIP (``formulation="strong"``) on an instance that carries ``deadline_s``.

    Returns both Results (keys ``ao``, ``scip``). The package models the deadline itself
    (docs/formulation.md#problem-variants), so no constraint is added by hand here; compare
    with :func:`add_deadlines` on the same ``instance.deadline_s``.
    """
    import llmv2x

    return {
        "ao": llmv2x.solve(instance, method="ao"),
        "scip": llmv2x.solve(
            instance,
            method="minlp",
            minlp_backend="scip",
            formulation="strong",
            time_limit=time_limit,
        ),
    }
