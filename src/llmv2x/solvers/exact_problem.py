"""Method ``exact``, step 1: the compute part's per-vehicle data and the dominance order.

``_Problem`` fixes every vehicle frequency at its best (closed form) and collects A_n,
Upsilon A_n, w_n and the share bounds; ``_dominance`` is the order between an RSU's vehicles
that the enumeration and the branch and bound both use (docs/exact.md proves both). The
method's entry point is ``llmv2x.solvers.exact``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from llmv2x.instances.schema import Instance
from llmv2x.models import physics
from llmv2x.models.constants import F_RSU_FLOOR_HZ
from llmv2x.models.evaluator import vehicle_layer_cost
from llmv2x.settings import SolveSettings
from llmv2x.solvers.frequencies import (
    argmin_shifted,
    best_vehicle_frequency,
    rsu_cost_derivatives,
    solve_separable,
)


@dataclass(frozen=True)
class _Problem:
    """Per-vehicle data of the compute part once the vehicle frequency is fixed at its best."""

    instance: Instance
    settings: SolveSettings
    offload_fixed: np.ndarray  # A_n = a_n(f*): the vehicle's cost with alpha_n = 1
    unit: np.ndarray  # u_n = A_n / psi_n, the vehicle's cost per FLOP (from its hardware alone)
    local: np.ndarray  # Upsilon A_n: the vehicle's cost with alpha_n = Upsilon
    weight: np.ndarray  # w_n = (Upsilon - 1) psi_n: FLOPs the RSU runs if n offloads
    f_max: np.ndarray  # F_m per vehicle
    count: np.ndarray  # vehicles at n's RSU
    hi: np.ndarray  # largest share any vehicle can get, F_m - (k_m - 1) floor

    @classmethod
    def build(cls, instance: Instance, settings: SolveSettings) -> _Problem:
        """Collect A_n, Upsilon A_n, w_n and the share bounds."""
        f = best_vehicle_frequency(instance, settings)
        a = vehicle_layer_cost(instance, settings.omega_t, f)
        v = instance.vehicle
        # per FLOP from the hardware alone, so identical vehicles get bit-identical u_n
        unit = physics.layer_cost(
            settings.omega_t, 1.0, f, v["kappa"], v["gpu_cores"], v["flops_per_cycle"]
        )
        counts = np.bincount(instance.association, minlength=instance.n_rsus)
        count = counts[instance.association].astype(float)
        f_max = instance.rsu_of("f_max_hz").astype(float)
        return cls(
            instance=instance,
            settings=settings,
            offload_fixed=a,
            unit=np.asarray(unit, float),
            local=instance.layers * a,
            weight=(instance.layers - 1.0) * instance.psi,
            f_max=f_max,
            count=count,
            hi=f_max - (count - 1.0) * F_RSU_FLOOR_HZ,
        )

    def rsu_cost(self, idx: np.ndarray, f: np.ndarray) -> np.ndarray:
        """w_n h_m(f): the RSU's cost of offloaded vehicles ``idx`` at shares f, eqs. (7)-(9)."""
        inst = self.instance
        return physics.layer_cost(
            self.settings.omega_t,
            self.weight[idx],
            f,
            inst.rsu_of("kappa")[idx],
            inst.rsu_of("gpu_cores")[idx],
            inst.rsu_of("flops_per_cycle")[idx],
        )

    def prices(self, idx: np.ndarray, sigma: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """v_n(sigma) = min_{floor <= f <= hi} w_n h(f) + sigma f, and its minimiser, per pair.

        ``idx`` and ``sigma`` have the same shape (one vehicle and one price per entry).
        """
        idx = np.asarray(idx)
        d1, d2 = rsu_cost_derivatives(self.instance, self.settings, self.weight[idx], idx)
        lo = np.full(idx.shape, F_RSU_FLOOR_HZ)
        f = argmin_shifted(d1, d2, lo, self.hi[idx], sigma)
        return self.rsu_cost(idx, f) + sigma * f, f

    def leaf_values(
        self, idx: np.ndarray, group: np.ndarray, offload: np.ndarray, n_groups: int
    ) -> np.ndarray:
        """Exact compute cost of each group (one RSU and one choice of S each), eq. (11).

        ``idx`` lists the RSU's vehicles once per group, ``offload`` says which offload. A
        group with no local vehicle shares F_m exactly among its offloaders; otherwise the
        offloaders face sum f <= F_m - |S| floor and the local vehicles absorb the rest.
        """
        value = np.bincount(
            group,
            weights=np.where(offload, self.offload_fixed[idx], self.local[idx]),
            minlength=n_groups,
        )
        n_local = np.bincount(group, weights=~offload, minlength=n_groups)
        fm = np.zeros(n_groups)
        fm[group] = self.f_max[idx]
        off = np.flatnonzero(offload)
        if off.size == 0:
            return value
        oi, og = idx[off], group[off]
        budget = fm - n_local * F_RSU_FLOOR_HZ
        n_off = np.bincount(og, minlength=n_groups)
        hi = (budget - (n_off - 1) * F_RSU_FLOOR_HZ)[og]
        d1, d2 = rsu_cost_derivatives(self.instance, self.settings, self.weight[oi], oi)
        sol = solve_separable(
            d1, d2, np.full(oi.size, F_RSU_FLOOR_HZ), hi, og, budget, inequality=n_local > 0
        )
        return value + np.bincount(og, weights=self.rsu_cost(oi, sol.x), minlength=n_groups)


def _dominance(p: _Problem, idx: np.ndarray) -> np.ndarray:
    """[i, j] True when vehicle i dominates j: if j offloads in an optimum, i may offload too.

    With u_n = A_n / psi_n the vehicle's cost per FLOP, i dominates j when psi_i >= psi_j and
    u_i >= u_j (ties broken by index so the relation is a strict order); docs/exact.md proves
    that some optimum with S non-empty never has j offloading while i keeps all layers.
    """
    psi = p.instance.psi[idx]
    u = p.unit[idx]
    k = len(idx)
    ge = (psi[:, None] >= psi[None, :]) & (u[:, None] >= u[None, :])
    strict = (psi[:, None] > psi[None, :]) | (u[:, None] > u[None, :])
    first = np.arange(k)[:, None] < np.arange(k)[None, :]
    return ge & (strict | first)


def _starts(group_sorted: np.ndarray) -> np.ndarray:
    """First position of each group in a sorted group-index array."""
    return np.r_[0, np.flatnonzero(np.diff(group_sorted)) + 1]
