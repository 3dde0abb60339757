"""The default scenario of the default scenario (docs/choices.md) (paper section IV-A), seeded and fully overridable."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from typing import Any

import numpy as np

from llmv2x.instances.schema import FORMAT, Instance

NOISE_DBM_PER_HZ = -134.0


def dbm_to_watt(dbm: float) -> float:
    """Convert a power in dBm (or a density in dBm/Hz) to W (or W/Hz)."""
    return 10.0 ** ((dbm - 30.0) / 10.0)


@dataclass(frozen=True)
class ScenarioParams:
    """Every default of the default scenario (docs/choices.md); each one can be overridden by keyword or CLI flag."""

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
    seed: int = 0, name: str | None = None, params: ScenarioParams | None = None, **overrides: Any
) -> Instance:
    """Draw one instance of the default scenario (docs/choices.md section 11).

    Draw order (fixed, so a seed always gives the same instance): RSU positions, vehicle
    positions, tokens, shadowing (one independent N(0, 8 dB) draw per vehicle-RSU pair).
    Each vehicle is associated with its nearest RSU by Euclidean distance.

    Parameters
    ----------
    seed : seed of ``numpy.random.default_rng``.
    name : instance name; default ``paper-seed{seed}``.
    params : scenario parameters; keyword ``overrides`` replace single fields of it.
    """
    p = replace(params or ScenarioParams(), **overrides)
    rng = np.random.default_rng(seed)
    area = np.array([p.area_x_m, p.area_y_m])
    rsu_xy = rng.uniform(0.0, 1.0, size=(p.rsus, 2)) * area
    veh_xy = rng.uniform(0.0, 1.0, size=(p.vehicles, 2)) * area
    tokens = rng.integers(p.tokens_min, p.tokens_max, size=p.vehicles, endpoint=True)
    shadow_db = rng.normal(0.0, p.shadowing_db, size=(p.vehicles, p.rsus))

    dist = np.linalg.norm(veh_xy[:, None, :] - rsu_xy[None, :, :], axis=2)
    association = np.argmin(dist, axis=1)
    gain = 10.0 ** (-(path_loss_db(dist, p.min_distance_m) + shadow_db) / 10.0)

    vehicles = [
        {
            "x_m": float(veh_xy[n, 0]),
            "y_m": float(veh_xy[n, 1]),
            "tokens": int(tokens[n]),
            "gpu_cores": int(p.vehicle_gpu_cores),
            "flops_per_cycle": float(p.vehicle_flops_per_cycle),
            "f_min_hz": float(p.vehicle_f_min_hz),
            "f_max_hz": float(p.vehicle_f_max_hz),
            "kappa": float(p.vehicle_kappa),
            "p_min_w": float(p.p_min_w),
            "p_max_w": float(p.p_max_w),
        }
        for n in range(p.vehicles)
    ]
    rsus = [
        {
            "x_m": float(rsu_xy[m, 0]),
            "y_m": float(rsu_xy[m, 1]),
            "gpu_cores": int(p.rsu_gpu_cores),
            "flops_per_cycle": float(p.rsu_flops_per_cycle),
            "f_max_hz": float(p.rsu_f_max_hz),
            "kappa": float(p.rsu_kappa),
            "bandwidth_hz": float(p.bandwidth_hz),
        }
        for m in range(p.rsus)
    ]
    data = {
        "format": FORMAT,
        "name": name if name is not None else f"paper-seed{seed}",
        "seed": int(seed),
        "area_m": [float(p.area_x_m), float(p.area_y_m)],
        "llm": {
            "layers": int(p.layers),
            "hidden_size": int(p.hidden_size),
            "batch_size": int(p.batch_size),
            "activation_bits": int(p.activation_bits),
        },
        "noise_psd_w_per_hz": dbm_to_watt(p.noise_dbm_per_hz),
        "vehicles": vehicles,
        "rsus": rsus,
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
