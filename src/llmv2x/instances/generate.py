"""The default scenario (docs/choices.md, paper section IV-A), seeded and fully overridable.

Two draws of the channel, one random stream each (the draw order is part of the contract):

* dense (N * M <= ``DENSE_MAX_PAIRS``): one shadowing draw for every vehicle-RSU pair, the
  stream of every committed instance and built-in name; every pair is a link unless
  ``links`` asks for fewer;
* sparse (above it): each vehicle's ``CANDIDATE_FACTOR * K`` nearest RSUs (a KD-tree,
  O(N log M)) are its candidates, shadowing is drawn for those pairs only, and the K
  strongest candidates plus the associated (nearest) RSU are kept, so a million vehicles
  and 250,000 RSUs need memory and time linear in N.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from llmv2x.instances.schema import FORMAT, RANGES, Instance

if TYPE_CHECKING:
    from llmv2x.models.allocation import Allocation

NOISE_DBM_PER_HZ = -134.0
#: Largest N * M drawn the dense way (every pair's shadowing). 4,000,000 pairs is 32 MB per
#: N x M array; every committed instance (at most 1,000 x 50) is far below it.
DENSE_MAX_PAIRS = 4_000_000
#: Links per vehicle on the sparse path when ``links`` is 0 (automatic).
DEFAULT_SPARSE_LINKS = 8
#: Candidates per vehicle on the sparse path: the CANDIDATE_FACTOR * K nearest RSUs.
CANDIDATE_FACTOR = 4
#: Vehicles drawn per block on the sparse path (bounds the temporary arrays).
SPARSE_BLOCK = 100_000


def dbm_to_watt(dbm: float) -> float:
    """Convert a power in dBm (or a density in dBm/Hz) to W (or W/Hz)."""
    return 10.0 ** ((dbm - 30.0) / 10.0)


@dataclass(frozen=True)
class ScenarioParams:
    """Every default of the default scenario (docs/choices.md); each one can be overridden by
    keyword or CLI flag."""

    vehicles: int = 20
    rsus: int = 5
    area_x_m: float = 1000.0
    area_y_m: float = 1000.0
    min_distance_m: float = 10.0
    shadowing_db: float = 8.0
    noise_dbm_per_hz: float = NOISE_DBM_PER_HZ
    bandwidth_hz: float = 20.0e6
    p_min_w: float = 0.1
    p_max_w: float = 20.0
    layers: int = 32
    hidden_size: int = 4096
    batch_size: int = 1
    activation_bits: int = 16
    tokens_min: int = 128
    tokens_max: int = 512
    vehicle_gpu_cores: int = 2048
    vehicle_flops_per_cycle: float = 2.0
    vehicle_f_min_hz: float = 1.0e6
    vehicle_f_max_hz: float = 1.3e9
    vehicle_power_w: float = 40.0
    rsu_gpu_cores: int = 6912
    rsu_flops_per_cycle: float = 2.0
    rsu_f_max_hz: float = 1.41e9
    rsu_power_w: float = 400.0
    #: links kept per vehicle (K strongest plus the associated RSU); 0: automatic, every
    #: pair up to DENSE_MAX_PAIRS pairs, else DEFAULT_SPARSE_LINKS
    links: int = 0

    @property
    def vehicle_kappa(self) -> float:
        """kappa_1 so that the vehicle GPU draws vehicle_power_w at f_max (power = kappa f^3)."""
        return self.vehicle_power_w / self.vehicle_f_max_hz**3

    @property
    def rsu_kappa(self) -> float:
        """kappa_2 so that the RSU GPU draws rsu_power_w at f_max."""
        return self.rsu_power_w / self.rsu_f_max_hz**3


def path_loss_db(distance_m: np.ndarray, min_distance_m: float = 10.0) -> np.ndarray:
    """Path loss 128.1 + 37.6 log10(d / km) in dB (paper section IV-A), d floored at 10 m."""
    d_km = np.maximum(np.asarray(distance_m, float), min_distance_m) / 1000.0
    return 128.1 + 37.6 * np.log10(d_km)


def generate_instance(
    seed: int = 0,
    name: str | None = None,
    params: ScenarioParams | None = None,
    *,
    deadline_tightness: float | None = None,
    energy_tightness: float | None = None,
    **overrides: Any,
) -> Instance:
    """Draw one instance of the default scenario (docs/choices.md section 11).

    Draw order (fixed, so a seed always gives the same instance): RSU positions, vehicle
    positions, tokens, shadowing. Each vehicle is associated with its nearest RSU by
    Euclidean distance. Up to ``DENSE_MAX_PAIRS`` vehicle-RSU pairs, shadowing is one
    independent N(0, 8 dB) draw per pair (every committed instance); above it, only for each
    vehicle's ``CANDIDATE_FACTOR * K`` nearest RSUs (module docstring). ``links`` = K keeps
    each vehicle's K strongest links plus its associated RSU; 0 (the default) keeps every
    pair on the dense path and ``DEFAULT_SPARSE_LINKS`` on the sparse one.

    Parameters
    ----------
    seed : seed of ``numpy.random.default_rng``.
    name : instance name; default ``paper-seed{seed}``.
    params : scenario parameters; keyword ``overrides`` replace single fields of it.
    deadline_tightness, energy_tightness : tau_D, tau_E > 0: per-vehicle deadlines
        tau_D T_n(R) and energy budgets tau_E E_n^V(R) at the reference allocation R
        (``reference_allocation``; tau >= 1 keeps R feasible); None (default): none, and
        the instance is exactly the one drawn without them.
    """
    inst = _draw(seed, name, params, overrides)
    if deadline_tightness is None and energy_tightness is None:
        return inst
    return with_reference_limits(inst, deadline_tightness, energy_tightness)


def _draw(
    seed: int, name: str | None, params: ScenarioParams | None, overrides: dict[str, Any]
) -> Instance:
    """The scenario draw of ``generate_instance`` (no deadlines or energy budgets)."""
    p = replace(params or ScenarioParams(), **overrides)
    if p.links < 0:
        raise ValueError(f"links: {p.links} must be 0 (automatic) or a positive count")
    if p.vehicles < 1 or p.rsus < 1:
        raise ValueError(f"vehicles and rsus must be positive, got {p.vehicles} and {p.rsus}")
    rng = np.random.default_rng(seed)
    area = np.array([p.area_x_m, p.area_y_m])
    rsu_xy = rng.uniform(0.0, 1.0, size=(p.rsus, 2)) * area
    veh_xy = rng.uniform(0.0, 1.0, size=(p.vehicles, 2)) * area
    tokens = rng.integers(p.tokens_min, p.tokens_max, size=p.vehicles, endpoint=True)
    name = name if name is not None else f"paper-seed{seed}"
    if p.vehicles * p.rsus <= DENSE_MAX_PAIRS:
        shadow_db = rng.normal(0.0, p.shadowing_db, size=(p.vehicles, p.rsus))
        dist = np.linalg.norm(veh_xy[:, None, :] - rsu_xy[None, :, :], axis=2)
        association = np.argmin(dist, axis=1)
        gain = 10.0 ** (-(path_loss_db(dist, p.min_distance_m) + shadow_db) / 10.0)
        if p.links == 0 or p.links >= p.rsus:
            return _dense_instance(p, seed, name, rsu_xy, veh_xy, tokens, gain, association)
        cand = np.broadcast_to(np.arange(p.rsus), gain.shape)
        links = _strongest(cand, gain, association, p.links)
    else:
        k = p.links or DEFAULT_SPARSE_LINKS
        links, association = _sparse_links(rng, p, rsu_xy, veh_xy, k)
    return _sparse_instance(p, seed, name, rsu_xy, veh_xy, tokens, links, association)


def _strongest(
    cand: np.ndarray, gain: np.ndarray, association: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(vehicle, rsu, gain) of each row's k strongest candidates plus its associated RSU.

    ``cand`` and ``gain`` are (n, c) candidate RSUs and their gains; rows are vehicles
    ``0..n-1``. Links come out sorted by (vehicle, rsu), each pair once.
    """
    n, c = gain.shape
    if k < c:
        top = np.argpartition(-gain, k - 1, axis=1)[:, :k]
        keep = np.zeros(gain.shape, bool)
        np.put_along_axis(keep, top, True, axis=1)
    else:
        keep = np.ones(gain.shape, bool)
    keep |= cand == association[:, None]
    rows, cols = np.nonzero(keep)
    rsu = cand[rows, cols]
    g = gain[rows, cols]
    order = np.lexsort((rsu, rows))
    return rows[order], rsu[order], g[order]


def _sparse_links(
    rng: np.random.Generator, p: ScenarioParams, rsu_xy: np.ndarray, veh_xy: np.ndarray, k: int
) -> tuple[tuple[np.ndarray, np.ndarray, np.ndarray], np.ndarray]:
    """Links and association of the sparse path, drawn in blocks of ``SPARSE_BLOCK`` vehicles.

    Candidates: the ``CANDIDATE_FACTOR * k`` nearest RSUs of each vehicle (the nearest is its
    association); one shadowing draw per candidate pair, in vehicle order.
    """
    from scipy.spatial import cKDTree

    c = min(p.rsus, CANDIDATE_FACTOR * k)
    tree = cKDTree(rsu_xy)
    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    association = np.empty(p.vehicles, dtype=np.int64)
    for lo in range(0, p.vehicles, SPARSE_BLOCK):
        hi = min(lo + SPARSE_BLOCK, p.vehicles)
        dist, cand = tree.query(veh_xy[lo:hi], k=c)
        dist, cand = dist.reshape(hi - lo, c), cand.reshape(hi - lo, c)
        shadow_db = rng.normal(0.0, p.shadowing_db, size=(hi - lo, c))
        gain = 10.0 ** (-(path_loss_db(dist, p.min_distance_m) + shadow_db) / 10.0)
        association[lo:hi] = cand[:, 0]
        v, r, g = _strongest(cand, gain, cand[:, 0], k)
        parts.append((v + lo, r, g))
    links = tuple(np.concatenate([part[i] for part in parts]) for i in range(3))
    return links, association


def _columns(
    p: ScenarioParams, rsu_xy: np.ndarray, veh_xy: np.ndarray, tokens: np.ndarray
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """The vehicle and RSU columns (docs/data-format.md) of the scenario."""
    n, m = p.vehicles, p.rsus
    vehicle = {
        "x_m": veh_xy[:, 0],
        "y_m": veh_xy[:, 1],
        "tokens": tokens.astype(np.int64),
        "gpu_cores": np.full(n, int(p.vehicle_gpu_cores), dtype=np.int64),
        "flops_per_cycle": np.full(n, float(p.vehicle_flops_per_cycle)),
        "f_min_hz": np.full(n, float(p.vehicle_f_min_hz)),
        "f_max_hz": np.full(n, float(p.vehicle_f_max_hz)),
        "kappa": np.full(n, float(p.vehicle_kappa)),
        "p_min_w": np.full(n, float(p.p_min_w)),
        "p_max_w": np.full(n, float(p.p_max_w)),
    }
    rsu = {
        "x_m": rsu_xy[:, 0],
        "y_m": rsu_xy[:, 1],
        "gpu_cores": np.full(m, int(p.rsu_gpu_cores), dtype=np.int64),
        "flops_per_cycle": np.full(m, float(p.rsu_flops_per_cycle)),
        "f_max_hz": np.full(m, float(p.rsu_f_max_hz)),
        "kappa": np.full(m, float(p.rsu_kappa)),
        "bandwidth_hz": np.full(m, float(p.bandwidth_hz)),
    }
    return vehicle, rsu


def _llm(p: ScenarioParams) -> dict[str, int]:
    return {
        "layers": int(p.layers),
        "hidden_size": int(p.hidden_size),
        "batch_size": int(p.batch_size),
        "activation_bits": int(p.activation_bits),
    }


def _sparse_instance(p, seed, name, rsu_xy, veh_xy, tokens, links, association) -> Instance:
    """Build the instance from columns and sparse links (validated by ``Instance.from_arrays``)."""
    vehicle, rsu = _columns(p, rsu_xy, veh_xy, tokens)
    return Instance.from_arrays(
        name=name,
        seed=int(seed),
        area_m=(float(p.area_x_m), float(p.area_y_m)),
        llm=_llm(p),
        noise_psd_w_per_hz=dbm_to_watt(p.noise_dbm_per_hz),
        vehicle=vehicle,
        rsu=rsu,
        links=links,
        association=np.asarray(association, dtype=np.int64),
    )


def _dense_instance(p, seed, name, rsu_xy, veh_xy, tokens, gain, association) -> Instance:
    """Build the instance with every pair a link, through the format-1 dictionary."""
    vehicle, rsu = _columns(p, rsu_xy, veh_xy, tokens)

    def rows(cols: dict[str, np.ndarray], count: int) -> list[dict[str, Any]]:
        lists = {k: c.tolist() for k, c in cols.items()}
        return [{k: lists[k][i] for k in cols} for i in range(count)]

    data = {
        "format": FORMAT,
        "name": name,
        "seed": int(seed),
        "area_m": [float(p.area_x_m), float(p.area_y_m)],
        "llm": _llm(p),
        "noise_psd_w_per_hz": dbm_to_watt(p.noise_dbm_per_hz),
        "vehicles": rows(vehicle, p.vehicles),
        "rsus": rows(rsu, p.rsus),
        "channel_gain": gain.tolist(),
        "association": [int(a) for a in association],
    }
    return Instance.from_dict(data)


def scenario_fields() -> list[tuple[str, type, Any]]:
    """(name, type, default) of every scenario parameter, for the CLI's flags."""
    defaults = asdict(ScenarioParams())
    return [(f.name, type(defaults[f.name]), defaults[f.name]) for f in fields(ScenarioParams)]


#: Built-in named instances; ``paper-seed0`` is the default instance of `make demo`.
BUILTIN = {f"paper-seed{s}": (lambda s=s: generate_instance(seed=s)) for s in range(10)}


def builtin_instance(name: str) -> Instance:
    """A built-in named instance such as ``paper-seed0``."""
    return BUILTIN[name]()


def is_builtin(name: str) -> bool:
    """True if ``name`` is a built-in instance name."""
    return name in BUILTIN


def reference_allocation(instance: Instance) -> Allocation:
    """The reference allocation R of the generator (docs/data-format.md).

    Each RSU splits its bandwidth and frequency equally among the vehicles it serves,
    p = p_max, f_n = f_max, and alpha_n minimises vehicle n's completion time under R
    (ties to the smaller alpha): the completion time is linear in alpha, so alpha_n is
    Upsilon when a layer is faster on the vehicle than on its RSU share, else 1.
    """
    from llmv2x.models import physics
    from llmv2x.models.allocation import Allocation

    v, assoc = instance.vehicle, instance.association
    count = np.bincount(assoc, minlength=instance.n_rsus)[assoc]
    f_rsu = instance.rsu["f_max_hz"][assoc] / count
    t_vehicle = physics.compute_time(
        instance.psi, v["f_max_hz"], v["gpu_cores"], v["flops_per_cycle"]
    )
    t_rsu = physics.compute_time(
        instance.psi, f_rsu, instance.rsu_of("gpu_cores"), instance.rsu_of("flops_per_cycle")
    )
    alpha = np.where(t_vehicle < t_rsu, float(instance.layers), 1.0)
    return Allocation(
        alpha=alpha,
        p_w=v["p_max_w"],
        b_hz=instance.rsu["bandwidth_hz"][assoc] / count,
        f_vehicle_hz=v["f_max_hz"],
        f_rsu_hz=f_rsu,
        association=assoc,
    )


def reference_limits(instance: Instance) -> tuple[np.ndarray, np.ndarray]:
    """T_n(R) and E_n^V(R) = alpha_n E_n^cmp + E_n^com at the reference allocation R."""
    from llmv2x.models.evaluator import vehicle_metrics

    per = vehicle_metrics(instance, reference_allocation(instance))
    return per["completion_time_s"], per["vehicle_energy_j"] + per["transmit_energy_j"]


def with_reference_limits(
    instance: Instance, deadline_tightness: float | None, energy_tightness: float | None
) -> Instance:
    """``instance`` with deadlines tau_D T_n(R) and/or energy budgets tau_E E_n^V(R).

    Raises ValueError for a tightness that is not a positive number, or a limit outside
    the instance file's range (docs/data-format.md).
    """
    time_r, energy_r = reference_limits(instance)
    out: dict[str, np.ndarray] = {}
    for key, tau, base in (
        ("deadline_s", deadline_tightness, time_r),
        ("energy_budget_j", energy_tightness, energy_r),
    ):
        if tau is None:
            continue
        what = key.split("_")[0]
        if isinstance(tau, bool) or not isinstance(tau, (int, float)) or not tau > 0:
            raise ValueError(f"{what} tightness: {tau!r} must be a positive number")
        if not np.isfinite(tau):
            raise ValueError(f"{what} tightness: {tau!r} must be finite")
        limit = float(tau) * base
        lo, hi = RANGES[key]
        bad = np.flatnonzero(~((limit >= lo) & (limit <= hi)))
        if bad.size:
            i = int(bad[0])
            raise ValueError(
                f"{key}[{i}]: {limit[i]:.6g} at tightness {tau} is outside [{lo:g}, {hi:g}]"
            )
        limit.setflags(write=False)
        out[key] = limit
    return replace(instance, **out)


def violated_at_reference(instance: Instance, rtol: float = 1e-6) -> tuple[int, int]:
    """How many deadlines and energy budgets the reference allocation R breaks (beyond
    ``rtol``): none at tightness >= 1, where R proves the instance feasible; at a tightness
    below 1 R proves nothing (the instance may still be feasible, or not)."""
    time_r, energy_r = reference_limits(instance)
    counts = []
    for limit, value in ((instance.deadline_s, time_r), (instance.energy_budget_j, energy_r)):
        has = ~np.isnan(limit)
        counts.append(int(np.sum(value[has] > limit[has] * (1.0 + rtol))))
    return counts[0], counts[1]


def binding_at_reference(instance: Instance, rtol: float = 1e-6) -> tuple[int, int]:
    """How many deadlines and energy budgets bind (within ``rtol``) at the reference
    allocation R: every one at tightness 1, none above it."""
    time_r, energy_r = reference_limits(instance)
    counts = []
    for limit, value in ((instance.deadline_s, time_r), (instance.energy_budget_j, energy_r)):
        has = ~np.isnan(limit)
        counts.append(int(np.sum(np.abs(value[has] - limit[has]) <= rtol * limit[has])))
    return counts[0], counts[1]
