"""Vectorised validation of an instance's arrays: every rule of docs/data-format.md, no loop.

``build`` takes the columns (NumPy arrays or anything ``np.asarray`` reads), checks every
rule with whole-array NumPy operations, and names the first offending index with the path of
the format it came from: a ``Naming`` turns (field, index) into ``vehicles.kappa[17]``
(format 2, ``COLUMNS``) or ``vehicles[17].kappa`` (format 1, ``DenseNaming``).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

import numpy as np

from llmv2x.errors import InstanceError
from llmv2x.instances.schema import (
    COORDINATE_FIELDS,
    INTEGER_FIELDS,
    LLM_FIELDS,
    MAX_INTEGER,
    MIN_SNR,
    OPTIONAL_VEHICLE_FIELDS,
    RANGES,
    RSU_FIELDS,
    VEHICLE_FIELDS,
    Instance,
)
from llmv2x.jsonio import json_kind
from llmv2x.models.constants import B_FLOOR_HZ, F_RSU_FLOOR_HZ


class Naming:
    """Field paths of format 2 (columns): ``vehicles.kappa[17]``, ``links.gain[3]``."""

    def vehicle(self, key: str, n: int | None = None) -> str:
        """Path of vehicle field ``key`` (of vehicle ``n``)."""
        return f"vehicles.{key}" if n is None else f"vehicles.{key}[{n}]"

    def rsu(self, key: str, m: int | None = None) -> str:
        """Path of RSU field ``key`` (of RSU ``m``)."""
        return f"rsus.{key}" if m is None else f"rsus.{key}[{m}]"

    def link(self, key: str, k: int | None = None) -> str:
        """Path of link field ``key`` (vehicle, rsu, gain) of link ``k``."""
        return f"links.{key}" if k is None else f"links.{key}[{k}]"


class DenseNaming(Naming):
    """Field paths of format 1: ``vehicles[17].kappa``, ``channel_gain[2][1]``."""

    def __init__(self, n_rsus: int) -> None:
        self.n_rsus = n_rsus

    def vehicle(self, key: str, n: int | None = None) -> str:  # noqa: D102
        return "vehicles" if n is None else f"vehicles[{n}].{key}"

    def rsu(self, key: str, m: int | None = None) -> str:  # noqa: D102
        return "rsus" if m is None else f"rsus[{m}].{key}"

    def link(self, key: str, k: int | None = None) -> str:  # noqa: D102
        if k is None:
            return "channel_gain"
        return f"channel_gain[{k // self.n_rsus}][{k % self.n_rsus}]"


COLUMNS = Naming()


# ---------------------------------------------------------------------------
# scalars
# ---------------------------------------------------------------------------


def fmt_value(v: Any) -> str:
    """A value as JSON would show it (``json.dumps``), or its repr."""
    try:
        return json.dumps(v)
    except (TypeError, ValueError):
        return repr(v)


def number(
    v: Any, where: str, *, positive: bool = True, integer: bool = False, field: str | None = None
) -> float:
    """One scalar checked: a finite number, integer if asked, positive, in ``RANGES[field]``."""
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, float, np.integer, np.floating)):
        raise InstanceError(f"{where}: expected a number, got {fmt_value(v)}")
    if isinstance(v, (np.integer, np.floating)):
        v = v.item()
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


# ---------------------------------------------------------------------------
# columns
# ---------------------------------------------------------------------------


def _show(v: float, integer: bool) -> str:
    if integer and math.isfinite(v) and v == int(v):
        return str(int(v))
    return repr(float(v))


def _first(bad: np.ndarray) -> int | None:
    """Index of the first True entry, or None."""
    if not bad.any():
        return None
    return int(np.argmax(bad))


def as_array(values: Any, where: str, length: int | None, *, integer_only: bool = False) -> Any:
    """``values`` as a 1-D numeric array of ``length`` entries (no bool, object or text)."""
    a = np.asarray(values)
    if a.ndim != 1:
        raise InstanceError(f"{where}: expected a one-dimensional array, got shape {a.shape}")
    if length is not None and a.shape[0] != length:
        raise InstanceError(f"{where}: expected {length} entries, got {a.shape[0]}")
    kinds = "iu" if integer_only else "iuf"
    if a.dtype.kind not in kinds:
        what = "integers" if integer_only else "numbers"
        raise InstanceError(f"{where}: expected {what}, got an array of {a.dtype}")
    return a


def check_column(
    a: np.ndarray, path: Any, key: str, *, optional: bool = False, field: str | None = None
) -> np.ndarray:
    """The rules of one numeric column, vectorised; ``path(i)`` names entry i.

    Returns the column as float64 (NaN kept where ``optional``: none).
    """
    integer = key in INTEGER_FIELDS
    positive = key not in COORDINATE_FIELDS
    x = a.astype(np.float64, copy=False)
    finite = np.isfinite(x)
    bad = ~finite & ~np.isnan(x) if optional else ~finite
    if (i := _first(bad)) is not None:
        raise InstanceError(f"{path(i)}: {x[i]} is not finite")
    xs = np.where(finite, x, 1.0) if optional else x
    if integer:
        if (i := _first(xs != np.floor(xs))) is not None:
            raise InstanceError(f"{path(i)}: {float(x[i])!r} is not an integer")
        if (i := _first(np.abs(xs) > MAX_INTEGER)) is not None:
            raise InstanceError(f"{path(i)}: {x[i]:.6g} is larger than {MAX_INTEGER}")
    if positive and (i := _first(xs <= 0)) is not None:
        raise InstanceError(f"{path(i)}: {_show(x[i], integer)} must be positive")
    low, high = RANGES[field or key]
    if (i := _first((xs < low) | (xs > high))) is not None:
        raise InstanceError(
            f"{path(i)}: {_show(x[i], integer)} is outside the physical range "
            f"[{low:g}, {high:g}] (docs/data-format.md)"
        )
    return x


def _fields(
    given: Mapping[str, Any], required: tuple[str, ...], optional: tuple[str, ...], path: Any
) -> None:
    for key in given:
        if key not in required and key not in optional:
            raise InstanceError(f"{path(key)}: unknown field")
    for key in required:
        if key not in given:
            raise InstanceError(f"{path(key)}: missing field")


# ---------------------------------------------------------------------------
# the whole instance
# ---------------------------------------------------------------------------


def check_scalars(name: Any, seed: Any, area_m: Any, llm: Any, noise: Any) -> tuple:
    """The top-level scalars: name, seed, area_m, llm, noise (paths as in both formats)."""
    if not isinstance(name, str) or not name:
        raise InstanceError("name: expected a non-empty string")
    if isinstance(seed, np.integer):
        seed = int(seed)
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise InstanceError(f"seed: expected an integer or null, got {fmt_value(seed)}")
    area = list(area_m) if isinstance(area_m, (list, tuple, np.ndarray)) else area_m
    if not isinstance(area, list):
        raise InstanceError(f"area_m: expected a list, got {json_kind(area_m)}")
    if len(area) != 2:
        raise InstanceError(f"area_m: expected 2 entries, got {len(area)}")
    area_t = tuple(number(area[i], f"area_m[{i}]", field="area_m") for i in (0, 1))
    if not isinstance(llm, Mapping):
        raise InstanceError(f"llm: expected an object, got {json_kind(llm)}")
    _fields(llm, LLM_FIELDS, (), lambda k: f"llm.{k}")
    llm_i = {k: int(number(llm[k], f"llm.{k}", integer=True, field=k)) for k in LLM_FIELDS}
    noise_f = number(noise, "noise_psd_w_per_hz", field="noise_psd_w_per_hz")
    return name, seed, area_t, llm_i, noise_f


def build(
    naming: Naming,
    *,
    name: Any,
    seed: Any,
    area_m: Any,
    llm: Any,
    noise: Any,
    vehicle: Mapping[str, Any],
    rsu: Mapping[str, Any],
    links: Any,
    association: Any,
    copy: bool = True,
) -> Instance:
    """Check every rule on the arrays and return the Instance (links sorted by vehicle, rsu).

    With ``copy`` (the default), no array of the Instance shares memory with an input array;
    readers whose arrays nobody else holds pass ``copy=False`` to save the copies.

    Raises
    ------
    InstanceError
        naming the first broken rule with the path ``naming`` gives it.
    """
    name, seed, area_t, llm_i, noise_f = check_scalars(name, seed, area_m, llm, noise)
    if not isinstance(vehicle, Mapping):
        raise InstanceError(f"vehicles: expected an object, got {json_kind(vehicle)}")
    if not isinstance(rsu, Mapping):
        raise InstanceError(f"rsus: expected an object, got {json_kind(rsu)}")
    _fields(vehicle, VEHICLE_FIELDS, OPTIONAL_VEHICLE_FIELDS, lambda k: f"vehicles.{k}")
    _fields(rsu, RSU_FIELDS, (), lambda k: f"rsus.{k}")

    n_veh = len(np.asarray(vehicle[VEHICLE_FIELDS[0]]).reshape(-1))
    n_rsu = len(np.asarray(rsu[RSU_FIELDS[0]]).reshape(-1))
    if n_veh == 0:
        raise InstanceError("vehicles: at least one vehicle is needed")
    if n_rsu == 0:
        raise InstanceError("rsus: at least one RSU is needed")

    veh: dict[str, np.ndarray] = {}
    for key in (*VEHICLE_FIELDS, *OPTIONAL_VEHICLE_FIELDS):
        if key not in vehicle:
            continue
        optional = key in OPTIONAL_VEHICLE_FIELDS
        a = as_array(vehicle[key], naming.vehicle(key), n_veh)
        veh[key] = check_column(a, lambda i, k=key: naming.vehicle(k, i), key, optional=optional)
    if (n := _first(veh["p_min_w"] > veh["p_max_w"])) is not None:
        raise InstanceError(
            f"{naming.vehicle('p_min_w', n)}: {float(veh['p_min_w'][n])!r} is greater than "
            f"p_max_w {float(veh['p_max_w'][n])!r}"
        )
    if (n := _first(veh["f_min_hz"] > veh["f_max_hz"])) is not None:
        raise InstanceError(
            f"{naming.vehicle('f_min_hz', n)}: {float(veh['f_min_hz'][n])!r} is greater than "
            f"f_max_hz {float(veh['f_max_hz'][n])!r}"
        )
    rs: dict[str, np.ndarray] = {}
    for key in RSU_FIELDS:
        a = as_array(rsu[key], naming.rsu(key), n_rsu)
        rs[key] = check_column(a, lambda i, k=key: naming.rsu(k, i), key)

    lv, lr, lg, order, keys = _check_links(naming, links, n_veh, n_rsu)
    assoc, pos = _check_association(naming, association, n_veh, n_rsu, keys)

    counts = np.bincount(assoc, minlength=n_rsu)
    if (m := _first(counts * F_RSU_FLOOR_HZ > rs["f_max_hz"])) is not None:
        raise InstanceError(
            f"{naming.rsu('f_max_hz', m)}: {float(rs['f_max_hz'][m])!r} cannot give {counts[m]} "
            f"vehicles the floor of {F_RSU_FLOOR_HZ:g} Hz each"
        )
    if (m := _first(counts * B_FLOOR_HZ > rs["bandwidth_hz"])) is not None:
        raise InstanceError(
            f"{naming.rsu('bandwidth_hz', m)}: {float(rs['bandwidth_hz'][m])!r} cannot give "
            f"{counts[m]} vehicles the floor of {B_FLOOR_HZ:g} Hz each"
        )

    g = lg[pos]
    snr = g * veh["p_min_w"] / (noise_f * rs["bandwidth_hz"][assoc])
    if (n := _first(~(snr >= MIN_SNR))) is not None:
        m = int(assoc[n])
        k = int(pos[n]) if order is None else int(order[pos[n]])
        raise InstanceError(
            f"{naming.link('gain', k)}: signal-to-noise ratio {snr[n]:.3g} at p_min_w over the "
            f"whole band of rsus[{m}] is below {MIN_SNR:g}; the rate (3) is not computable"
        )

    given = [x for x in (*vehicle.values(), *rsu.values(), *links, association)]
    given = [x for x in given if isinstance(x, np.ndarray)] if copy else []

    def own(a: np.ndarray) -> np.ndarray:
        if any(np.may_share_memory(a, x) for x in given):
            a = a.copy()
        a.setflags(write=False)
        return a

    def frozen(d: dict[str, np.ndarray], keys: tuple[str, ...]) -> Mapping[str, np.ndarray]:
        out = {}
        for k in keys:
            out[k] = own(d[k].astype(np.int64, copy=False) if k in INTEGER_FIELDS else d[k])
        return MappingProxyType(out)

    inst = Instance(
        name=name,
        seed=seed,
        area_m=area_t,
        layers=llm_i["layers"],
        hidden_size=llm_i["hidden_size"],
        batch_size=llm_i["batch_size"],
        activation_bits_per_value=llm_i["activation_bits"],
        noise_psd_w_per_hz=noise_f,
        vehicle=frozen(veh, VEHICLE_FIELDS),
        rsu=frozen(rs, RSU_FIELDS),
        links=(own(lv), own(lr), own(lg)),
        association=own(assoc),
        deadline_s=own(veh["deadline_s"]) if "deadline_s" in veh else None,
        energy_budget_j=own(veh["energy_budget_j"]) if "energy_budget_j" in veh else None,
    )
    inst.__dict__["association_link"] = own(pos)
    return inst


def _check_links(
    naming: Naming, links: Any, n_veh: int, n_rsu: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None, np.ndarray]:
    """Links checked and sorted by (vehicle, rsu): (vehicle, rsu, gain, order, sorted keys).

    ``order`` maps a sorted position to the caller's index (None when already sorted).
    """
    if not isinstance(links, (tuple, list)) or len(links) != 3:
        raise InstanceError("links: expected three arrays (vehicle, rsu, gain)")
    lv = as_array(links[0], naming.link("vehicle"), None, integer_only=True)
    n_links = lv.shape[0]
    lr = as_array(links[1], naming.link("rsu"), n_links, integer_only=True)
    lg = as_array(links[2], naming.link("gain"), n_links)
    if (k := _first((lv < 0) | (lv >= n_veh))) is not None:
        raise InstanceError(
            f"{naming.link('vehicle', k)}: {lv[k]} is out of range for {n_veh} vehicles"
        )
    if (k := _first((lr < 0) | (lr >= n_rsu))) is not None:
        raise InstanceError(f"{naming.link('rsu', k)}: {lr[k]} is out of range for {n_rsu} RSUs")
    lg = check_column(lg, lambda i: naming.link("gain", i), "gain", field="channel_gain")
    lv = lv.astype(np.int64, copy=False)
    lr = lr.astype(np.int64, copy=False)
    keys = lv * n_rsu + lr
    order = None
    if n_links > 1 and not bool(np.all(keys[1:] > keys[:-1])):
        order = np.argsort(keys, kind="stable")
        keys = keys[order]
        same = np.flatnonzero(keys[1:] == keys[:-1])
        if same.size:
            i = int(same[np.argmin(order[same + 1])])
            later = int(order[i + 1])
            first = int(order[np.searchsorted(keys, keys[i + 1])])
            raise InstanceError(
                f"links[{later}]: pair (vehicle {lv[later]}, rsu {lr[later]}) "
                f"repeats links[{first}]"
            )
        lv, lr, lg = lv[order], lr[order], lg[order]
    has = np.zeros(n_veh, dtype=bool)
    has[lv] = True
    if (n := _first(~has)) is not None:
        raise InstanceError(f"links: vehicle {n} has no link (each vehicle needs at least one)")
    return lv, lr, lg, order, keys


def _check_association(
    naming: Naming, association: Any, n_veh: int, n_rsu: int, keys: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The association checked: (association, index of each vehicle's link in sorted links)."""
    a = as_array(association, "association", n_veh, integer_only=True)
    if (n := _first((a < 0) | (a >= n_rsu))) is not None:
        raise InstanceError(f"association[{n}]: {a[n]} is out of range for {n_rsu} RSUs")
    a = a.astype(np.int64, copy=False)
    want = np.arange(n_veh, dtype=np.int64) * n_rsu + a
    pos = np.searchsorted(keys, want)
    found = keys[np.minimum(pos, keys.shape[0] - 1)] == want
    if (n := _first(~found)) is not None:
        raise InstanceError(f"association[{n}]: rsu {a[n]} is not one of vehicle {n}'s links")
    return a, pos
