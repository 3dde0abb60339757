"""Format 2 (``llmv2x-instance/2``): one array per field and sparse ``links``.

Read: each JSON list becomes a NumPy column in one pass, and ``validate.build`` checks the
columns with format 2 paths (``vehicles.kappa[17]``, ``links.gain[3]``). Written with one
column per line, so a file of a million vehicles is still a few hundred lines.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from llmv2x.errors import InstanceError, LlmV2xError
from llmv2x.instances.columns import json_column, json_list
from llmv2x.instances.format1 import check_top
from llmv2x.instances.schema import (
    FORMAT2,
    LINK_FIELDS,
    OPTIONAL_VEHICLE_FIELDS,
    RSU_FIELDS,
    VEHICLE_FIELDS,
    Instance,
    header,
)
from llmv2x.instances.validate import COLUMNS, build
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
    "links",
    "association",
)


def _table(obj: Any, where: str, fields: tuple[str, ...], optional: tuple[str, ...] = ()) -> dict:
    if not isinstance(obj, dict):
        hint = " (format 2 has one list per field)" if isinstance(obj, list) else ""
        raise InstanceError(f"{where}: expected an object of columns, got {json_kind(obj)}{hint}")
    for key in obj:
        if key not in fields and key not in optional:
            raise InstanceError(f"{where}.{key}: unknown field")
    for key in fields:
        if key not in obj:
            raise InstanceError(f"{where}.{key}: missing field")
    return obj


def from_dict2(data: dict[str, Any]) -> Instance:
    """Validate a format 2 dictionary (docs/data-format.md) and build the instance."""
    if "channel_gain" in data and "links" not in data:
        raise InstanceError(
            f"format: {FORMAT2!r} has sparse links, but this file has the format 1 layout "
            "(a dense channel_gain); say 'llmv2x-instance/1'"
        )
    check_top(data, TOP_FIELDS)
    vehicles = _table(data["vehicles"], "vehicles", VEHICLE_FIELDS, OPTIONAL_VEHICLE_FIELDS)
    rsus = _table(data["rsus"], "rsus", RSU_FIELDS)
    links = _table(data["links"], "links", LINK_FIELDS)
    n_veh = len(json_list(vehicles[VEHICLE_FIELDS[0]], f"vehicles.{VEHICLE_FIELDS[0]}"))
    n_rsu = len(json_list(rsus[RSU_FIELDS[0]], f"rsus.{RSU_FIELDS[0]}"))
    veh = {}
    for key in (*VEHICLE_FIELDS, *OPTIONAL_VEHICLE_FIELDS):
        if key in vehicles and not (key in OPTIONAL_VEHICLE_FIELDS and vehicles[key] is None):
            # an optional column given as null is absent, as an omitted one
            values = json_list(vehicles[key], f"vehicles.{key}", n_veh)
            veh[key] = json_column(
                values,
                lambda i, k=key: f"vehicles.{k}[{i}]",
                nullable=key in OPTIONAL_VEHICLE_FIELDS,
            )
    rsu = {
        key: json_column(
            json_list(rsus[key], f"rsus.{key}", n_rsu), lambda i, k=key: f"rsus.{k}[{i}]"
        )
        for key in RSU_FIELDS
    }
    lv = json_list(links["vehicle"], "links.vehicle")
    cols = (
        json_column(lv, lambda k: f"links.vehicle[{k}]", index=True, what="a vehicle index"),
        json_column(
            json_list(links["rsu"], "links.rsu", len(lv)),
            lambda k: f"links.rsu[{k}]",
            index=True,
            what="an RSU index",
        ),
        json_column(json_list(links["gain"], "links.gain", len(lv)), lambda k: f"links.gain[{k}]"),
    )
    assoc = json_column(
        json_list(data["association"], "association", n_veh),
        lambda n: f"association[{n}]",
        index=True,
        what="an RSU index",
    )
    return build(
        COLUMNS,
        name=data["name"],
        seed=data["seed"],
        area_m=data["area_m"],
        llm=data["llm"],
        noise=data["noise_psd_w_per_hz"],
        vehicle=veh,
        rsu=rsu,
        links=cols,
        association=assoc,
        copy=False,
    )


def _nullable(a: np.ndarray) -> list[float | None]:
    return [None if x != x else x for x in a.tolist()]


def to_dict2(inst: Instance) -> dict[str, Any]:
    """The format 2 dictionary: columns, links sorted by (vehicle, rsu), nulls for NaN."""
    vehicles: dict[str, Any] = {k: inst.vehicle[k].tolist() for k in VEHICLE_FIELDS}
    if inst.has_deadlines:
        vehicles["deadline_s"] = _nullable(inst.deadline_s)
    if inst.has_energy_budgets:
        vehicles["energy_budget_j"] = _nullable(inst.energy_budget_j)
    return {
        **header(inst, FORMAT2),
        "vehicles": vehicles,
        "rsus": {k: inst.rsu[k].tolist() for k in RSU_FIELDS},
        "links": {k: a.tolist() for k, a in zip(LINK_FIELDS, inst.links, strict=True)},
        "association": inst.association.tolist(),
    }


def dumps2(data: dict[str, Any], indent: int | None) -> str:
    """Format 2 JSON text: compact when ``indent`` is None, else one column per line."""
    try:
        if indent is None:
            return json.dumps(data, allow_nan=False, separators=(",", ":"))
        pad = " " * indent
        lines = []
        for key, value in data.items():
            if isinstance(value, dict) and key != "llm":
                inner = [
                    f"{pad * 2}{json.dumps(k)}: {json.dumps(v, allow_nan=False)}"
                    for k, v in value.items()
                ]
                lines.append(f"{pad}{json.dumps(key)}: {{\n" + ",\n".join(inner) + f"\n{pad}}}")
            else:
                lines.append(f"{pad}{json.dumps(key)}: {json.dumps(value, allow_nan=False)}")
        return "{\n" + ",\n".join(lines) + "\n}"
    except ValueError:
        raise LlmV2xError("instance: a value is NaN or infinite, which JSON cannot hold") from None
