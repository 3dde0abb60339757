"""The immutable, validated instance of docs/data-format.md (formats 1 and 2, JSON and ``.npz``).

This module holds the frozen ``Instance`` and the field tables shared by the readers:
``validate`` (the vectorised rules), ``format1`` (per-vehicle objects and a dense
``channel_gain``), ``format2`` (columns and sparse ``links``) and ``binary`` (``.npz``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from llmv2x.errors import InstanceError
from llmv2x.models import physics

FORMAT = "llmv2x-instance/1"
FORMAT2 = "llmv2x-instance/2"

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
#: Optional per-vehicle fields: absent or null means none (stored as NaN).
OPTIONAL_VEHICLE_FIELDS = ("deadline_s", "energy_budget_j")
RSU_FIELDS = ("x_m", "y_m", "gpu_cores", "flops_per_cycle", "f_max_hz", "kappa", "bandwidth_hz")
LINK_FIELDS = ("vehicle", "rsu", "gain")
#: Vehicle and RSU fields that must be integers (counts).
INTEGER_FIELDS = {"tokens", "gpu_cores"}
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
    "deadline_s": (1e-9, 1e9),
    "energy_budget_j": (1e-12, 1e12),
}
#: Smallest signal-to-noise ratio g_n p_min / (sigma^2 B_m) accepted (least power over the
#: whole RSU band, the worst feasible point); below it the rate (3) loses its digits and
#: log(1 + x) rounds to 0, an infinite transmit time.
MIN_SNR = 1e-12
#: ``to_dict()`` writes format 1 when every (vehicle, RSU) pair is a link and N*M is at most
#: this, else format 2 (docs/data-format.md, "Which format is written").
FORMAT1_MAX_PAIRS = 250_000
#: ``channel_gain`` (the dense N x M matrix) is refused above this many entries.
DENSE_MAX_ENTRIES = 50_000_000


class Links(NamedTuple):
    """The sparse channel: parallel arrays, one entry per (vehicle, RSU) link.

    A tuple (``vehicle, rsu, gain = instance.links``) whose columns can also be read by name,
    as attributes or keys (``links.gain``, ``links["gain"]``).
    """

    vehicle: np.ndarray
    rsu: np.ndarray
    gain: np.ndarray

    def __getitem__(self, key: Any) -> Any:  # type: ignore[override]
        """A column by position, slice or name."""
        if isinstance(key, str):
            if key not in self._fields:
                raise KeyError(key)
            return getattr(self, key)
        return tuple.__getitem__(self, key)


def _readonly(a: np.ndarray) -> np.ndarray:
    a = np.array(a, copy=True)
    a.setflags(write=False)
    return a


@dataclass(frozen=True, eq=False)
class Instance:
    """One problem instance: N vehicles, M RSUs, the LLM and the channel (docs/data-format.md).

    Arrays are read-only; build one only through ``from_dict``, ``from_json``, ``load``,
    ``from_arrays`` or ``llmv2x.instances.generate_instance``, which all validate.
    ``links`` holds the sparse channel: three arrays (vehicle, rsu, gain) sorted by
    (vehicle, rsu); ``link_start[n]:link_start[n + 1]`` are vehicle n's links.
    ``deadline_s`` and ``energy_budget_j`` are per-vehicle arrays, NaN where a vehicle has none.
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
    links: Links = field(repr=False)
    association: np.ndarray = field(repr=False)
    deadline_s: np.ndarray | None = field(default=None, repr=False)
    energy_budget_j: np.ndarray | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if not isinstance(self.links, Links):
            object.__setattr__(self, "links", Links(*self.links))
        for key in OPTIONAL_VEHICLE_FIELDS:
            if getattr(self, key) is None:
                none = np.full(int(self.association.shape[0]), np.nan)
                none.setflags(write=False)
                object.__setattr__(self, key, none)

    # ----- sizes and derived quantities (computed once) -----
    @property
    def n_vehicles(self) -> int:
        """N, the number of vehicles."""
        return int(self.association.shape[0])

    @property
    def n_rsus(self) -> int:
        """M, the number of RSUs (the length of the RSU columns)."""
        return int(self.rsu["bandwidth_hz"].shape[0])

    @property
    def n_links(self) -> int:
        """The number of (vehicle, RSU) links."""
        return int(self.links[0].shape[0])

    @property
    def is_dense(self) -> bool:
        """True when every (vehicle, RSU) pair is a link (format 1 can hold it)."""
        return self.n_links == self.n_vehicles * self.n_rsus

    @property
    def has_deadlines(self) -> bool:
        """True when some vehicle has a deadline (``deadline_s`` not NaN)."""
        return bool(np.any(~np.isnan(self.deadline_s)))

    @property
    def has_energy_budgets(self) -> bool:
        """True when some vehicle has an energy budget (``energy_budget_j`` not NaN)."""
        return bool(np.any(~np.isnan(self.energy_budget_j)))

    @cached_property
    def link_start(self) -> np.ndarray:
        """CSR offsets (N + 1 entries): vehicle n's links are ``link_start[n]:link_start[n+1]``."""
        starts = np.searchsorted(self.links[0], np.arange(self.n_vehicles + 1))
        return _readonly(starts)

    def candidates(self, n: int) -> np.ndarray:
        """The RSUs vehicle ``n`` has a link to, ascending."""
        s = self.link_start
        return self.links[1][s[n] : s[n + 1]]

    def link_gain(self, n: int, m: int) -> float:
        """The linear gain from vehicle ``n`` to RSU ``m``; 0.0 when there is no link."""
        s = self.link_start
        rsus = self.links[1][s[n] : s[n + 1]]
        i = int(np.searchsorted(rsus, m))
        if i < len(rsus) and rsus[i] == m:
            return float(self.links[2][s[n] + i])
        return 0.0

    @cached_property
    def association_link(self) -> np.ndarray:
        """For each vehicle, the index in ``links`` of its link to its own RSU."""
        m = self.n_rsus
        keys = self.links[0].astype(np.int64) * m + self.links[1]
        want = np.arange(self.n_vehicles, dtype=np.int64) * m + self.association
        return _readonly(np.searchsorted(keys, want))

    @cached_property
    def channel_gain(self) -> np.ndarray:
        """The dense N x M gain matrix, 0 where there is no link (small instances only)."""
        size = self.n_vehicles * self.n_rsus
        if size > DENSE_MAX_ENTRIES:
            raise InstanceError(
                f"channel_gain: a dense {self.n_vehicles} x {self.n_rsus} matrix "
                f"({size:.3g} entries) is too large; use links / link_gain instead"
            )
        dense = np.zeros((self.n_vehicles, self.n_rsus))
        dense[self.links[0], self.links[1]] = self.links[2]
        dense.setflags(write=False)
        return dense

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
        return _readonly(self.links[2][self.association_link])

    @cached_property
    def members(self) -> tuple[np.ndarray, ...]:
        """For each RSU m, the indices of the vehicles it serves (possibly empty)."""
        order = np.argsort(self.association, kind="stable")
        counts = np.bincount(self.association, minlength=self.n_rsus)
        parts = np.split(order, np.cumsum(counts)[:-1])
        for p in parts:
            p.setflags(write=False)
        return tuple(parts)

    @cached_property
    def served_rsus(self) -> np.ndarray:
        """Indices of RSUs that serve at least one vehicle (those with constraints (10c), (10e))."""
        counts = np.bincount(self.association, minlength=self.n_rsus)
        return _readonly(np.flatnonzero(counts > 0))

    def rsu_of(self, key: str) -> np.ndarray:
        """An RSU field gathered per vehicle: value at association[n] for each n."""
        return self.rsu[key][self.association]

    # ----- construction from arrays -----
    @classmethod
    def from_arrays(
        cls,
        *,
        name: str,
        seed: int | None,
        area_m: tuple[float, float] | np.ndarray,
        llm: Mapping[str, int],
        noise_psd_w_per_hz: float,
        vehicle: Mapping[str, np.ndarray],
        rsu: Mapping[str, np.ndarray],
        links: tuple[np.ndarray, np.ndarray, np.ndarray],
        association: np.ndarray,
    ) -> Instance:
        """Validate arrays (the format 2 columns) and build the instance.

        ``vehicle`` maps every name of ``VEHICLE_FIELDS`` (and optionally ``deadline_s``,
        ``energy_budget_j``, NaN = none) to an array of N entries, ``rsu`` every name of
        ``RSU_FIELDS`` to M entries; ``links`` is (vehicle, rsu, gain) in any order, each pair
        at most once; ``association[n]`` must be one of vehicle n's links. The arrays are
        copied. Errors name the format 2 path (``vehicles.kappa[17]``, ``links.gain[3]``).

        Raises
        ------
        InstanceError
            naming the first broken rule with its field path and index.
        """
        from llmv2x.instances.validate import COLUMNS, build

        return build(
            COLUMNS,
            name=name,
            seed=seed,
            area_m=area_m,
            llm=llm,
            noise=noise_psd_w_per_hz,
            vehicle=vehicle,
            rsu=rsu,
            links=links,
            association=association,
        )

    # ----- JSON and .npz -----
    def default_format(self) -> int:
        """1 when every pair is a link and N*M <= FORMAT1_MAX_PAIRS, else 2."""
        small = self.n_vehicles * self.n_rsus <= FORMAT1_MAX_PAIRS
        return 1 if small and self.is_dense else 2

    def to_dict(self, format: int | None = None) -> dict[str, Any]:  # noqa: A002
        """The instance dictionary (docs/data-format.md); ``from_dict(to_dict())`` round-trips.

        ``format`` is 1 (per-vehicle objects, dense ``channel_gain``) or 2 (columns, sparse
        ``links``); default ``default_format()``.
        """
        fmt = self.default_format() if format is None else format
        if fmt == 1:
            from llmv2x.instances.format1 import to_dict1

            return to_dict1(self)
        if fmt == 2:
            from llmv2x.instances.format2 import to_dict2

            return to_dict2(self)
        raise InstanceError(f"format: expected 1 or 2, got {format!r}")

    def to_json(self, indent: int | None = 1, format: int | None = None) -> str:  # noqa: A002
        """Instance JSON (docs/data-format.md) text in ``format`` (default ``default_format()``).

        Format 2 with an ``indent`` puts one column per line; ``indent=None`` is compact.
        """
        fmt = self.default_format() if format is None else format
        if fmt == 2:
            from llmv2x.instances.format2 import dumps2

            return dumps2(self.to_dict(2), indent)
        from llmv2x.jsonio import dumps_strict

        return dumps_strict(self.to_dict(fmt), "instance", indent=indent)

    def save(self, path: str | Path, format: int | None = None) -> None:  # noqa: A002
        """Write the instance atomically: ``.npz`` as the binary container, else JSON.

        ``format`` (1 or 2) applies to JSON; default ``default_format()``.
        """
        from llmv2x.instances.binary import is_binary_path, save_npz

        if is_binary_path(path):
            save_npz(self, path)
            return
        from llmv2x.jsonio import write_atomic

        write_atomic(path, self.to_json(format=format) + "\n")

    @classmethod
    def from_json(cls, text: str) -> Instance:
        """Parse and validate instance JSON (docs/data-format.md) text, format 1 or 2.

        Duplicate keys, ``NaN``/``Infinity``, deep nesting and over-long numbers are refused
        (``llmv2x.jsonio.loads_strict``) with an InstanceError naming the field.
        """
        from llmv2x.jsonio import loads_strict

        return cls.from_dict(loads_strict(text, "instance file", InstanceError))

    @classmethod
    def load(cls, path: str | Path) -> Instance:
        """Read and validate an instance file: ``.npz`` as the binary container, else JSON."""
        from llmv2x.instances.binary import is_binary_path, load_npz

        p = Path(path)
        if p.is_dir():
            raise InstanceError(f"{path} is a directory, not an instance file")
        if p.exists() and not p.is_file():
            raise InstanceError(f"{path} is not a regular file (a device, FIFO or socket)")
        if not p.is_file():
            raise InstanceError(f"{path}: no such instance file")
        if is_binary_path(p):
            return load_npz(p)
        try:
            text = p.read_text()
        except (OSError, UnicodeDecodeError) as exc:
            raise InstanceError(f"{path}: cannot read: {exc}") from None
        return cls.from_json(text)

    @classmethod
    def from_dict(cls, data: Any) -> Instance:
        """Validate an instance dictionary (docs/data-format.md, format 1 or 2) and build it.

        Raises
        ------
        InstanceError
            naming the first broken rule with its field path and index.
        """
        if isinstance(data, dict) and str(data.get("format", "")).startswith("llmv2x-result"):
            raise InstanceError(RESULT_NOT_INSTANCE)
        if isinstance(data, dict) and data.get("format") == FORMAT2:
            from llmv2x.instances.format2 import from_dict2

            return from_dict2(data)
        from llmv2x.instances.format1 import from_dict1

        return from_dict1(data)


RESULT_NOT_INSTANCE = "format: this looks like a result file, not an instance file"


def header(inst: Instance, fmt: str) -> dict[str, Any]:
    """The scalar part every instance file starts with: format, name, seed, area, LLM, noise."""
    return {
        "format": fmt,
        "name": inst.name,
        "seed": inst.seed,
        "area_m": [float(inst.area_m[0]), float(inst.area_m[1])],
        "llm": {
            "layers": inst.layers,
            "hidden_size": inst.hidden_size,
            "batch_size": inst.batch_size,
            "activation_bits": inst.activation_bits_per_value,
        },
        "noise_psd_w_per_hz": float(inst.noise_psd_w_per_hz),
    }
