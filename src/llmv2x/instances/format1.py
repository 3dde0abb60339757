"""Format 1 (``llmv2x-instance/1``): one object per vehicle and RSU, a dense ``channel_gain``.

Read: the objects become columns, the N x M matrix becomes N*M links, and ``validate.build``
checks them with format 1 paths (``vehicles[3].kappa``, ``channel_gain[2][1]``).
Written only for an instance whose every (vehicle, RSU) pair is a link.
"""

from __future__ import annotations

from itertools import chain
from typing import Any

import numpy as np

from llmv2x.errors import InstanceError
from llmv2x.instances.columns import json_column, json_list
from llmv2x.instances.schema import (
    FORMAT,
    FORMAT2,
    OPTIONAL_VEHICLE_FIELDS,
    RSU_FIELDS,
    VEHICLE_FIELDS,
    Instance,
    header,
)
from llmv2x.instances.validate import DenseNaming, build, check_scalars
from llmv2x.jsonio import json_kind

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


def check_top(data: Any, fields: tuple[str, ...]) -> None:
    """``data`` is an object with exactly ``fields`` (unknown ones first, then missing)."""
    if not isinstance(data, dict):
        raise InstanceError(f"instance: expected an object, got {json_kind(data)}")
    for key in data:
        if key not in fields:
            raise InstanceError(f"{key}: unknown field")
    for key in fields:
        if key not in data:
            raise InstanceError(f"{key}: missing field")


def _objects(
    items: list[Any], fields: tuple[str, ...], optional: tuple[str, ...], where: str
) -> None:
    """Every item is an object with ``fields`` and perhaps some of ``optional``."""
    required = set(fields)
    allowed = required | set(optional)
    for i, item in enumerate(items):
        if type(item) is dict and item.keys() == required:
            continue
        if not isinstance(item, dict):
            raise InstanceError(f"{where}[{i}]: expected an object, got {json_kind(item)}")
        for key in item:
            if key not in allowed:
                raise InstanceError(f"{where}[{i}].{key}: unknown field")
        for key in fields:
            if key not in item:
                raise InstanceError(f"{where}[{i}].{key}: missing field")


def from_dict1(data: Any) -> Instance:
    """Validate a format 1 dictionary (docs/data-format.md) and build the instance."""
    check_top(data, TOP_FIELDS)
    if data["format"] != FORMAT:
        raise InstanceError(f"format: expected {FORMAT!r} or {FORMAT2!r}, got {data['format']!r}")
    check_scalars(
        data["name"], data["seed"], data["area_m"], data["llm"], data["noise_psd_w_per_hz"]
    )
    vehicles = json_list(data["vehicles"], "vehicles")
    rsus = json_list(data["rsus"], "rsus")
    if not vehicles:
        raise InstanceError("vehicles: at least one vehicle is needed")
    if not rsus:
        raise InstanceError("rsus: at least one RSU is needed")
    n_veh, n_rsu = len(vehicles), len(rsus)
    _objects(vehicles, VEHICLE_FIELDS, OPTIONAL_VEHICLE_FIELDS, "vehicles")
    _objects(rsus, RSU_FIELDS, (), "rsus")

    veh = {}
    for key in VEHICLE_FIELDS:
        veh[key] = json_column([v[key] for v in vehicles], lambda i, k=key: f"vehicles[{i}].{k}")
    for key in OPTIONAL_VEHICLE_FIELDS:
        values = [v.get(key) for v in vehicles]
        if any(x is not None for x in values):
            veh[key] = json_column(values, lambda i, k=key: f"vehicles[{i}].{k}", nullable=True)
    rsu = {
        key: json_column([r[key] for r in rsus], lambda i, k=key: f"rsus[{i}].{k}")
        for key in RSU_FIELDS
    }

    rows = json_list(data["channel_gain"], "channel_gain", n_veh)
    if set(map(type, rows)) != {list} or set(map(len, rows)) != {n_rsu}:
        for n, row in enumerate(rows):
            json_list(row, f"channel_gain[{n}]", n_rsu)
    gain = json_column(
        list(chain.from_iterable(rows)), lambda k: f"channel_gain[{k // n_rsu}][{k % n_rsu}]"
    )
    assoc = json_column(
        json_list(data["association"], "association", n_veh),
        lambda n: f"association[{n}]",
        index=True,
        what="an RSU index",
    )
    links = (
        np.repeat(np.arange(n_veh, dtype=np.int64), n_rsu),
        np.tile(np.arange(n_rsu, dtype=np.int64), n_veh),
        gain,
    )
    return build(
        DenseNaming(n_rsu),
        name=data["name"],
        seed=data["seed"],
        area_m=data["area_m"],
        llm=data["llm"],
        noise=data["noise_psd_w_per_hz"],
        vehicle=veh,
        rsu=rsu,
        links=links,
        association=assoc,
        copy=False,
    )


def to_dict1(inst: Instance) -> dict[str, Any]:
    """The format 1 dictionary of a dense instance (every pair a link)."""
    if not inst.is_dense:
        raise InstanceError(
            f"format 1 holds a dense channel_gain, but this instance has {inst.n_links} links "
            f"for {inst.n_vehicles} x {inst.n_rsus} pairs; write format 2"
        )
    cols = {k: inst.vehicle[k].tolist() for k in VEHICLE_FIELDS}
    keys = list(VEHICLE_FIELDS)
    for key, has in (
        ("deadline_s", inst.has_deadlines),
        ("energy_budget_j", inst.has_energy_budgets),
    ):
        if has:
            cols[key] = [None if x != x else x for x in getattr(inst, key).tolist()]
            keys.append(key)
    vehicles = [
        dict(zip(keys, vals, strict=True)) for vals in zip(*(cols[k] for k in keys), strict=True)
    ]
    rcols = [inst.rsu[k].tolist() for k in RSU_FIELDS]
    rsus = [dict(zip(RSU_FIELDS, vals, strict=True)) for vals in zip(*rcols, strict=True)]
    return {
        **header(inst, FORMAT),
        "vehicles": vehicles,
        "rsus": rsus,
        "channel_gain": inst.channel_gain.tolist(),
        "association": inst.association.tolist(),
    }
