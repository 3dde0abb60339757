"""The immutable, validated instance of docs/data-format.md (format ``llmv2x-instance/1``)."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np

from llmv2x.errors import InstanceError
from llmv2x.jsonio import dumps_strict, loads_strict, write_atomic
from llmv2x.models import physics
from llmv2x.models.constants import B_FLOOR_HZ, F_RSU_FLOOR_HZ

FORMAT = "llmv2x-instance/1"

TOP_FIELDS = (
    "format",
    "name",
    "seed",
    "area_m",
    "llm",
    "noise_psd_w_per_hz",
    "vehicles",
    "rsus",
    "channel_gain",
    "association",
)
LLM_FIELDS = ("layers", "hidden_size", "batch_size", "activation_bits")
VEHICLE_FIELDS = (
    "x_m",
    "y_m",
    "tokens",
    "gpu_cores",
    "flops_per_cycle",
    "f_min_hz",
    "f_max_hz",
    "kappa",
    "p_min_w",
    "p_max_w",
)
RSU_FIELDS = ("x_m", "y_m", "gpu_cores", "flops_per_cycle", "f_max_hz", "kappa", "bandwidth_hz")
#: Vehicle and RSU fields that must be integers (counts).
INTEGER_FIELDS = {"tokens"}
#: Fields that may be any finite number (coordinates); all others must be positive.
COORDINATE_FIELDS = {"x_m", "y_m"}
#: Largest integer field accepted: every integer up to 2**53 is exact as a float and an int64.
MAX_INTEGER = 2**53
#: Physical range [low, high] of every numeric field (docs/data-format.md, "Physical ranges").
#: Orders of magnitude wider than any real scenario, narrow enough that eqs. (1)-(10) stay
#: finite in double precision at every corner (tests/instances/test_schema.py checks one).
RANGES: dict[str, tuple[float, float]] = {
    "area_m": (1.0, 1e7),
    "x_m": (-1e9, 1e9),
    "y_m": (-1e9, 1e9),
    "layers": (1, 10_000),
    "hidden_size": (1, 1_000_000),
    "batch_size": (1, 10_000),
    "activation_bits": (1, 1024),
    "noise_psd_w_per_hz": (1e-30, 1e-3),
    "tokens": (1, 100_000_000),
    "gpu_cores": (1, 100_000_000),
    "flops_per_cycle": (1e-3, 1e6),
    "f_min_hz": (1.0, 1e12),
    "f_max_hz": (1.0, 1e12),
    "kappa": (1e-40, 1e-15),
    "p_min_w": (1e-9, 1e6),
    "p_max_w": (1e-9, 1e6),
    "bandwidth_hz": (1e3, 1e12),
    "channel_gain": (1e-30, 1e3),
}
#: Smallest signal-to-noise ratio g_n p_min / (sigma^2 B_m) accepted (least power over the
#: whole RSU band, the worst feasible point); below it the rate (3) loses its digits and
#: log(1 + x) rounds to 0, an infinite transmit time.
MIN_SNR = 1e-12


def _readonly(a: np.ndarray) -> np.ndarray:
    a = np.array(a, copy=True)
    a.setflags(write=False)
    return a


@dataclass(frozen=True, eq=False)
class Instance:
    """One problem instance: N vehicles, M RSUs, the LLM and the channel (docs/data-format.md).

    Arrays are read-only; build one only through ``from_dict``, ``from_json``,
    ``load`` or ``llmv2x.instances.generate_instance``, which all validate.
    To change an instance, build a new dictionary with ``to_dict`` and validate it again.
    """

    name: str
    seed: int | None
    area_m: tuple[float, float]
    layers: int
    hidden_size: int
    batch_size: int
    activation_bits_per_value: int
    noise_psd_w_per_hz: float
    vehicle: Mapping[str, np.ndarray] = field(repr=False)
    rsu: Mapping[str, np.ndarray] = field(repr=False)
    channel_gain: np.ndarray = field(repr=False)
    association: np.ndarray = field(repr=False)

    # ----- sizes and derived quantities (computed once) -----
    @property
    def n_vehicles(self) -> int:
        """N, the number of vehicles."""
        return int(self.association.shape[0])

    @property
    def n_rsus(self) -> int:
        """M, the number of RSUs."""
        return int(self.channel_gain.shape[1])

    @cached_property
    def psi(self) -> np.ndarray:
        """psi(d_n), forward FLOPs of one layer for each vehicle (section II-A)."""
        return _readonly(
            physics.flops_per_layer(
                self.vehicle["tokens"].astype(float), float(self.hidden_size), self.batch_size
            )
        )

    @cached_property
    def bits(self) -> np.ndarray:
        """S_n, activation bits each vehicle sends (docs/formulation.md)."""
        return _readonly(
            physics.activation_bits(
                self.vehicle["tokens"].astype(float),
                float(self.hidden_size),
                self.batch_size,
                self.activation_bits_per_value,
            )
        )

    @cached_property
    def gain(self) -> np.ndarray:
        """g_n, the channel gain from each vehicle to its own RSU."""
        return _readonly(self.channel_gain[np.arange(self.n_vehicles), self.association])

    @cached_property
    def members(self) -> tuple[np.ndarray, ...]:
        """For each RSU m, the indices of the vehicles it serves (possibly empty)."""
        return tuple(_readonly(np.flatnonzero(self.association == m)) for m in range(self.n_rsus))

    @cached_property
    def served_rsus(self) -> np.ndarray:
        """Indices of RSUs that serve at least one vehicle (those with constraints (10c), (10e))."""
        return _readonly(np.array([m for m, v in enumerate(self.members) if len(v) > 0], int))

    def rsu_of(self, key: str) -> np.ndarray:
        """An RSU field gathered per vehicle: value at association[n] for each n."""
        return self.rsu[key][self.association]

    # ----- JSON -----
    def to_dict(self) -> dict[str, Any]:
        """The instance dictionary (docs/data-format.md); ``from_dict(to_dict())`` round-trips."""

        def conv(key: str, v: Any) -> Any:
            return int(v) if key in INTEGER_FIELDS or key in ("gpu_cores",) else float(v)

        vehicles = [
            {k: conv(k, self.vehicle[k][n]) for k in VEHICLE_FIELDS} for n in range(self.n_vehicles)
        ]
        rsus = [{k: conv(k, self.rsu[k][m]) for k in RSU_FIELDS} for m in range(self.n_rsus)]
        return {
            "format": FORMAT,
            "name": self.name,
            "seed": self.seed,
            "area_m": [float(self.area_m[0]), float(self.area_m[1])],
            "llm": {
                "layers": self.layers,
                "hidden_size": self.hidden_size,
                "batch_size": self.batch_size,
                "activation_bits": self.activation_bits_per_value,
            },
            "noise_psd_w_per_hz": float(self.noise_psd_w_per_hz),
            "vehicles": vehicles,
            "rsus": rsus,
            "channel_gain": [[float(g) for g in row] for row in self.channel_gain],
            "association": [int(a) for a in self.association],
        }

    def to_json(self, indent: int | None = 1) -> str:
        """instance JSON (docs/data-format.md) text."""
        return dumps_strict(self.to_dict(), "instance", indent=indent)

    def save(self, path: str | Path) -> None:
        """Write the instance as JSON atomically (a whole file or nothing; mode as ``open``)."""
        write_atomic(path, self.to_json() + "\n")

    @classmethod
    def from_json(cls, text: str) -> Instance:
        """Parse and validate instance JSON (docs/data-format.md) text.

        Duplicate keys, ``NaN``/``Infinity``, deep nesting and over-long numbers are refused
        (``llmv2x.jsonio.loads_strict``) with an InstanceError naming the field.
        """
        return cls.from_dict(loads_strict(text, "instance file", InstanceError))

    @classmethod
    def load(cls, path: str | Path) -> Instance:
        """Read and validate an instance file."""
        p = Path(path)
        if p.is_dir():
            raise InstanceError(f"{path} is a directory, not an instance file")
        if p.exists() and not p.is_file():
            raise InstanceError(f"{path} is not a regular file (a device, FIFO or socket)")
        if not p.is_file():
            raise InstanceError(f"{path}: no such instance file")
        try:
            text = p.read_text()
        except (OSError, UnicodeDecodeError) as exc:
            raise InstanceError(f"{path}: cannot read: {exc}") from None
        return cls.from_json(text)

    @classmethod
    def from_dict(cls, data: Any) -> Instance:
        """Validate a instance dictionary (docs/data-format.md) and build the instance.

        Raises
        ------
        InstanceError
            naming the first broken rule with its field path and index.
        """
        return _validate(data)


# ---------------------------------------------------------------------------
# validation
# ---------------------------------------------------------------------------


def _fields(obj: Any, expected: tuple[str, ...], where: str) -> None:
    if not isinstance(obj, dict):
        raise InstanceError(f"{where or 'instance'}: expected an object, got {type(obj).__name__}")
    for key in obj:
        if key not in expected:
            raise InstanceError(f"{where + '.' if where else ''}{key}: unknown field")
    for key in expected:
        if key not in obj:
            raise InstanceError(f"{where + '.' if where else ''}{key}: missing field")


def _number(
    v: Any,
    where: str,
    *,
    positive: bool = True,
    integer: bool = False,
    field: str | None = None,
) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise InstanceError(f"{where}: expected a number, got {json.dumps(v)}")
    try:
        finite = math.isfinite(v)
    except OverflowError:  # a JSON integer literal too large for a float
        raise InstanceError(f"{where}: integer too large to be a finite number") from None
    if not finite:
        raise InstanceError(f"{where}: {v} is not finite")
    if integer and float(v) != int(v):
        raise InstanceError(f"{where}: {v} is not an integer")
    if integer and abs(v) > MAX_INTEGER:
        raise InstanceError(f"{where}: {v:.6g} is larger than {MAX_INTEGER}")
    if positive and v <= 0:
        raise InstanceError(f"{where}: {v} must be positive")
    if field is not None:
        low, high = RANGES[field]
        if not low <= v <= high:
            raise InstanceError(
                f"{where}: {v!r} is outside the physical range [{low:g}, {high:g}] "
                "(docs/data-format.md)"
            )
    return float(v)


def _list(v: Any, where: str, length: int | None = None) -> list[Any]:
    if not isinstance(v, list):
        raise InstanceError(f"{where}: expected a list, got {type(v).__name__}")
    if length is not None and len(v) != length:
        raise InstanceError(f"{where}: expected {length} entries, got {len(v)}")
    return v


def _validate(data: Any) -> Instance:
    _fields(data, TOP_FIELDS, "")
    if data["format"] != FORMAT:
        raise InstanceError(f"format: expected {FORMAT!r}, got {data['format']!r}")
    name = data["name"]
    if not isinstance(name, str) or not name:
        raise InstanceError("name: expected a non-empty string")
    seed = data["seed"]
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise InstanceError(f"seed: expected an integer or null, got {json.dumps(seed)}")
    area = _list(data["area_m"], "area_m", 2)
    area_m = tuple(_number(area[i], f"area_m[{i}]", field="area_m") for i in (0, 1))

    _fields(data["llm"], LLM_FIELDS, "llm")
    llm = {k: int(_number(data["llm"][k], f"llm.{k}", integer=True, field=k)) for k in LLM_FIELDS}
    noise = _number(data["noise_psd_w_per_hz"], "noise_psd_w_per_hz", field="noise_psd_w_per_hz")

    vehicles = _list(data["vehicles"], "vehicles")
    rsus = _list(data["rsus"], "rsus")
    if not vehicles:
        raise InstanceError("vehicles: at least one vehicle is needed")
    if not rsus:
        raise InstanceError("rsus: at least one RSU is needed")
    n_veh, n_rsu = len(vehicles), len(rsus)

    veh: dict[str, list[float]] = {k: [] for k in VEHICLE_FIELDS}
    for n, v in enumerate(vehicles):
        _fields(v, VEHICLE_FIELDS, f"vehicles[{n}]")
        for k in VEHICLE_FIELDS:
            veh[k].append(
                _number(
                    v[k],
                    f"vehicles[{n}].{k}",
                    positive=k not in COORDINATE_FIELDS,
                    integer=k in INTEGER_FIELDS or k == "gpu_cores",
                    field=k,
                )
            )
        if v["p_min_w"] > v["p_max_w"]:
            raise InstanceError(
                f"vehicles[{n}].p_min_w: {v['p_min_w']} is greater than p_max_w {v['p_max_w']}"
            )
        if v["f_min_hz"] > v["f_max_hz"]:
            raise InstanceError(
                f"vehicles[{n}].f_min_hz: {v['f_min_hz']} is greater than f_max_hz {v['f_max_hz']}"
            )
    rsu: dict[str, list[float]] = {k: [] for k in RSU_FIELDS}
    for m, r in enumerate(rsus):
        _fields(r, RSU_FIELDS, f"rsus[{m}]")
        for k in RSU_FIELDS:
            rsu[k].append(
                _number(
                    r[k],
                    f"rsus[{m}].{k}",
                    positive=k not in COORDINATE_FIELDS,
                    integer=k == "gpu_cores",
                    field=k,
                )
            )

    rows = _list(data["channel_gain"], "channel_gain", n_veh)
    gain = np.empty((n_veh, n_rsu))
    for n, row in enumerate(rows):
        _list(row, f"channel_gain[{n}]", n_rsu)
        for m, g in enumerate(row):
            gain[n, m] = _number(g, f"channel_gain[{n}][{m}]", field="channel_gain")

    assoc_list = _list(data["association"], "association", n_veh)
    assoc = np.empty(n_veh, dtype=int)
    for n, a in enumerate(assoc_list):
        if isinstance(a, bool) or not isinstance(a, int):
            raise InstanceError(f"association[{n}]: expected an RSU index, got {json.dumps(a)}")
        if not 0 <= a < n_rsu:
            raise InstanceError(f"association[{n}]: {a} is out of range for {n_rsu} RSUs")
        assoc[n] = a

    counts = np.bincount(assoc, minlength=n_rsu)
    for m in range(n_rsu):
        if counts[m] * F_RSU_FLOOR_HZ > rsu["f_max_hz"][m]:
            raise InstanceError(
                f"rsus[{m}].f_max_hz: {rsu['f_max_hz'][m]} cannot give {counts[m]} vehicles "
                f"the floor of {F_RSU_FLOOR_HZ:g} Hz each"
            )
        if counts[m] * B_FLOOR_HZ > rsu["bandwidth_hz"][m]:
            raise InstanceError(
                f"rsus[{m}].bandwidth_hz: {rsu['bandwidth_hz'][m]} cannot give {counts[m]} "
                f"vehicles the floor of {B_FLOOR_HZ:g} Hz each"
            )

    for n in range(n_veh):
        m = int(assoc[n])
        snr = gain[n, m] * veh["p_min_w"][n] / (noise * rsu["bandwidth_hz"][m])
        if snr < MIN_SNR:
            raise InstanceError(
                f"channel_gain[{n}][{m}]: signal-to-noise ratio {snr:.3g} at p_min_w over the "
                f"whole band of rsus[{m}] is below {MIN_SNR:g}; the rate (3) is not computable"
            )

    def arrays(d: dict[str, list[float]]) -> Mapping[str, np.ndarray]:
        out = {}
        for k, vals in d.items():
            dtype = int if k in INTEGER_FIELDS or k == "gpu_cores" else float
            out[k] = _readonly(np.asarray(vals, dtype=dtype))
        return MappingProxyType(out)

    return Instance(
        name=name,
        seed=seed,
        area_m=area_m,
        layers=llm["layers"],
        hidden_size=llm["hidden_size"],
        batch_size=llm["batch_size"],
        activation_bits_per_value=llm["activation_bits"],
        noise_psd_w_per_hz=noise,
        vehicle=arrays(veh),
        rsu=arrays(rsu),
        channel_gain=_readonly(gain),
        association=_readonly(assoc),
    )
