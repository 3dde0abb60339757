"""The binary container of format 2: a NumPy ``.npz`` file of the same columns.

One array per column, named by its format 2 path (``vehicles.kappa``, ``links.gain``,
``association``), and ``meta``: a JSON string with the scalars (format, name, seed, area_m,
llm, noise_psd_w_per_hz). Loaded with ``allow_pickle=False``, so a hostile file cannot run
code; every array goes through the same validation as format 2 JSON
(docs/data-format.md, "Binary container").
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from llmv2x.errors import InstanceError
from llmv2x.instances.schema import (
    FORMAT2,
    LINK_FIELDS,
    OPTIONAL_VEHICLE_FIELDS,
    RESULT_NOT_INSTANCE,
    RSU_FIELDS,
    VEHICLE_FIELDS,
    Instance,
    header,
)
from llmv2x.instances.validate import COLUMNS, build
from llmv2x.jsonio import json_kind

#: The file extension that selects the binary container (anything else is JSON).
BINARY_SUFFIX = ".npz"
META_FIELDS = ("format", "name", "seed", "area_m", "llm", "noise_psd_w_per_hz")


def is_binary_path(path: str | Path) -> bool:
    """True when ``path`` names a binary container (its extension is ``.npz``)."""
    return Path(path).suffix.lower() == BINARY_SUFFIX


def to_arrays(inst: Instance) -> dict[str, np.ndarray]:
    """Every column of ``inst`` by its format 2 path, plus ``meta``."""
    meta = {
        **header(inst, FORMAT2),
    }
    out = {"meta": np.array(json.dumps(meta))}
    for k in VEHICLE_FIELDS:
        out[f"vehicles.{k}"] = inst.vehicle[k]
    if inst.has_deadlines:
        out["vehicles.deadline_s"] = inst.deadline_s
    if inst.has_energy_budgets:
        out["vehicles.energy_budget_j"] = inst.energy_budget_j
    for k in RSU_FIELDS:
        out[f"rsus.{k}"] = inst.rsu[k]
    for k, a in zip(LINK_FIELDS, inst.links, strict=True):
        out[f"links.{k}"] = a
    out["association"] = inst.association
    return out


def _mode_for(path: Path) -> int:
    try:
        return path.stat().st_mode & 0o7777
    except OSError:
        mask = os.umask(0o022)  # the only portable way to read it; restored at once
        os.umask(mask)
        return 0o666 & ~mask


def save_npz(inst: Instance, path: str | Path) -> None:
    """Write ``inst`` as an uncompressed ``.npz`` atomically (a whole file or nothing)."""
    path = Path(os.path.realpath(path)) if Path(path).is_symlink() else Path(path)
    if not path.parent.is_dir():
        raise InstanceError(f"{path}: folder {path.parent} does not exist")
    if path.is_dir():
        raise InstanceError(f"{path} is a directory, not a file")
    mode = _mode_for(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            np.savez(fh, **to_arrays(inst))
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _meta(raw: Any) -> dict[str, Any]:
    from llmv2x.jsonio import loads_strict

    if raw.ndim != 0 or raw.dtype.kind != "U":
        raise InstanceError(f"meta: expected a JSON string, got an array of {raw.dtype}")
    meta = loads_strict(str(raw), "instance meta", InstanceError)
    if not isinstance(meta, dict):
        raise InstanceError(f"meta: expected a JSON object, got {json_kind(meta)}")
    if str(meta.get("format", "")).startswith("llmv2x-result"):
        raise InstanceError(RESULT_NOT_INSTANCE)
    for key in meta:
        if key not in META_FIELDS:
            raise InstanceError(f"meta.{key}: unknown field")
    for key in META_FIELDS:
        if key not in meta:
            raise InstanceError(f"meta.{key}: missing field")
    if meta["format"] != FORMAT2:
        raise InstanceError(f"meta.format: expected {FORMAT2!r}, got {meta['format']!r}")
    return meta


def from_arrays_dict(arrays: dict[str, np.ndarray]) -> Instance:
    """Validate the arrays of a container (as ``to_arrays`` names them) and build the instance."""
    if "meta" not in arrays:
        raise InstanceError("meta: missing field")
    meta = _meta(arrays["meta"])
    groups: dict[str, dict[str, np.ndarray]] = {"vehicles": {}, "rsus": {}, "links": {}}
    for key, a in arrays.items():
        if key in ("meta", "association"):
            continue
        head, _, tail = key.partition(".")
        if head not in groups or not tail:
            raise InstanceError(f"{key}: unknown field")
        groups[head][tail] = a
    allowed = {"vehicles": VEHICLE_FIELDS + OPTIONAL_VEHICLE_FIELDS, "rsus": RSU_FIELDS}
    allowed["links"] = LINK_FIELDS
    for head, cols in groups.items():
        for key in cols:
            if key not in allowed[head]:
                raise InstanceError(f"{head}.{key}: unknown field")
    for key in LINK_FIELDS:
        if key not in groups["links"]:
            raise InstanceError(f"links.{key}: missing field")
    if "association" not in arrays:
        raise InstanceError("association: missing field")
    return build(
        COLUMNS,
        name=meta["name"],
        seed=meta["seed"],
        area_m=meta["area_m"],
        llm=meta["llm"],
        noise=meta["noise_psd_w_per_hz"],
        vehicle=groups["vehicles"],
        rsu=groups["rsus"],
        links=tuple(groups["links"][k] for k in LINK_FIELDS),
        association=arrays["association"],
        copy=False,
    )


def _group(name: str) -> str | None:
    head = name.partition(".")[0]
    if name == "association":
        return "vehicles"
    return head if head in ("vehicles", "rsus", "links") else None


def load_npz(path: str | Path) -> Instance:
    """Read and validate a ``.npz`` instance; never unpickles, headers checked first."""
    from llmv2x.npzio import read_entries

    return from_arrays_dict(read_entries(path, "instance file", InstanceError, _group))
