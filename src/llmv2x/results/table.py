"""Results as pandas DataFrames: one row per vehicle, and many result files in one table.

pandas is imported inside the functions, never at import time (``llmv2x --help`` stays light).
Per-vehicle times and energies come from ``llmv2x.models.physics`` and the evaluator's
``rates``, the functions behind the evaluator's metrics: each column sums to its metric.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from llmv2x.errors import LlmV2xError, ResultError
from llmv2x.models.evaluator import METRIC_KEYS
from llmv2x.results.parse import ARRAYS

if TYPE_CHECKING:
    import pandas as pd

    from llmv2x.instances.schema import Instance
    from llmv2x.results.result import Result

#: the per-result columns of every table, after the per-vehicle ones
RESULT_COLUMNS = (
    "instance",
    "method",
    "objective_variant",
    "omega_t",
    "status",
    "objective",
    "lower_bound",
)
#: per-vehicle columns added when the instance is known; each sums to the metric of that name
VEHICLE_METRICS = METRIC_KEYS


def vehicle_metrics(instance: Instance, result: Result) -> dict[str, np.ndarray]:
    """The seven metrics of docs/result-format.md per vehicle (s and J), at ``result``'s point.

    ``metrics[k]`` of the result is the sum of ``vehicle_metrics(...)[k]`` over vehicles;
    the formulas are the evaluator's (``llmv2x.models.evaluator.vehicle_metrics``).
    """
    from llmv2x.models.evaluator import vehicle_metrics as per_vehicle

    if result.allocation is None:
        return {k: np.zeros(0) for k in VEHICLE_METRICS}
    per = per_vehicle(instance, result.allocation)
    return {k: per[k] for k in VEHICLE_METRICS}


def _check_instance(instance: Instance, result: Result) -> None:
    if result.instance != instance.name:
        raise ResultError(
            f"instance: the result is for {result.instance!r}, the instance is {instance.name!r}"
        )
    if result.allocation is not None and result.n_vehicles != instance.n_vehicles:
        raise ResultError(
            f"alpha: result has {result.n_vehicles} vehicles, instance {instance.n_vehicles}"
        )


def result_frame(result: Result, instance: Instance | None = None) -> pd.DataFrame:
    """``Result.to_frame``: one row per vehicle (no rows for a result without a point)."""
    import pandas as pd

    n = result.n_vehicles
    alloc = result.allocation
    cols: dict[str, Any] = {"vehicle": np.arange(n, dtype=np.int64)}
    own = None if alloc is None else alloc.association
    if own is not None:
        if instance is not None:
            _check_instance(instance, result)
        cols["rsu"] = np.asarray(own, np.int64)
    elif instance is not None:
        _check_instance(instance, result)
        cols["rsu"] = np.asarray(instance.association, np.int64)[:n]
    else:
        cols["rsu"] = pd.arrays.IntegerArray(np.zeros(n, np.int64), np.ones(n, bool))
    for k in ARRAYS:
        cols[k] = np.asarray(getattr(alloc, k)) if alloc is not None else np.zeros(0)
    alpha = cols["alpha"]
    if np.all(alpha == np.round(alpha)):
        cols["alpha"] = alpha.astype(np.int64)
    if instance is not None:
        cols.update(vehicle_metrics(instance, result))
    frame = pd.DataFrame(cols, copy=False)
    for k, value in _result_values(result).items():
        frame[k] = value
    return frame


def _result_values(result: Result) -> dict[str, Any]:
    def num(x: float | None) -> float:
        return np.nan if x is None else float(x)

    return {
        "instance": result.instance,
        "method": result.method,
        "objective_variant": result.objective_variant,
        "omega_t": float(result.omega_t),
        "status": result.status,
        "objective": num(result.objective),
        "lower_bound": num(result.lower_bound),
    }


def result_paths(paths_or_glob: str | os.PathLike[str] | Iterable[Any]) -> list[Path]:
    """The result files named: a path, a glob pattern (``runs/**/*.json``), or a list of them.

    A pattern expands to its matches, sorted; one that matches nothing is a ResultError.
    """
    if isinstance(paths_or_glob, (str, os.PathLike)):
        items: list[Any] = [paths_or_glob]
    else:
        items = list(paths_or_glob)
    out: list[Path] = []
    for item in items:
        text = os.fspath(item)
        if isinstance(item, str) and any(c in text for c in "*?["):
            found = sorted(glob.glob(text, recursive=True))
            if not found:
                raise ResultError(f"{text}: no result file matches")
            out.extend(Path(f) for f in found)
        else:
            out.append(Path(text))
    if not out:
        raise ResultError("load_table: no result files given")
    return out


def _instances_by_name(instances: Any) -> dict[str, Instance]:
    from llmv2x.instances import load_instance

    if instances is None:
        return {}
    if isinstance(instances, Mapping):
        return {str(k): load_instance(v) for k, v in instances.items()}
    if isinstance(instances, (str, os.PathLike)) or hasattr(instances, "n_vehicles"):
        instances = [instances]
    loaded = [load_instance(i) for i in instances]
    return {i.name: i for i in loaded}


def load_table(
    paths_or_glob: str | os.PathLike[str] | Iterable[Any],
    *,
    per: str = "vehicle",
    instances: Any = None,
) -> pd.DataFrame:
    """Many result files (JSON or ``.npz``) in one tidy pandas DataFrame.

    Parameters
    ----------
    paths_or_glob : a result file, a glob pattern (``"runs/*.json"``, ``**`` recursive) or an
        iterable of them; files are read in the order given, each pattern's matches sorted.
    per : ``"vehicle"`` (default): one row per vehicle per result, the columns of
        ``Result.to_frame`` after a ``file`` column. ``"result"``: one row per file with
        ``file``, the per-result fields, ``vehicles``, ``solve_time_s``, ``iterations`` and
        the seven metrics (NaN for a result without a point).
    instances : optional instances (objects, files or built-in names; a list, or a mapping
        from instance name) to add ``rsu`` and the per-vehicle times and energies; every
        result's instance must be among them.

    Raises
    ------
    ResultError
        a file that is not a valid result (the message names the file), a pattern that
        matches nothing, an unknown ``per``, a result whose instance was not given.
    """
    import pandas as pd

    from llmv2x.models.evaluator import METRIC_KEYS
    from llmv2x.results.result import Result

    if per not in ("vehicle", "result"):
        raise ResultError(f"per: expected 'vehicle' or 'result', got {per!r}")
    by_name = _instances_by_name(instances)
    frames: list[pd.DataFrame] = []
    rows: list[dict[str, Any]] = []
    for path in result_paths(paths_or_glob):
        try:
            res = Result.load(path)
        except LlmV2xError as exc:
            text = str(exc)
            raise ResultError(text if str(path) in text else f"{path}: {text}") from None
        inst = None
        if by_name:
            if res.instance not in by_name:
                raise ResultError(
                    f"{path}: instance {res.instance!r} is not among the instances given"
                )
            inst = by_name[res.instance]
        if per == "result":
            row = {"file": str(path), **_result_values(res), "vehicles": res.n_vehicles}
            row.update(solve_time_s=res.solve_time_s, iterations=res.iterations)
            row.update({k: res.metrics.get(k, np.nan) for k in METRIC_KEYS})
            rows.append(row)
        else:
            frame = result_frame(res, inst)
            frame.insert(0, "file", str(path))
            frames.append(frame)
    if per == "result":
        return pd.DataFrame(rows)
    return pd.concat(frames, ignore_index=True)
