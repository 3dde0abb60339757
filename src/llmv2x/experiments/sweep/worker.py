"""One solve, inside a worker: build the instance from its spec, solve, return the row."""

from __future__ import annotations

import math
import time
from typing import Any

from llmv2x.experiments.sweep.errors import classify
from llmv2x.experiments.sweep.study import InstanceSpec, Task, resolve_method
from llmv2x.experiments.sweep.table import KEY
from llmv2x.instances import Instance
from llmv2x.models.evaluator import METRIC_KEYS

_INSTANCES: dict[InstanceSpec, Instance] = {}


def _instance(spec: InstanceSpec) -> Instance:
    """The worker's instance for ``spec``, built once per process."""
    inst = _INSTANCES.get(spec)
    if inst is None:
        if len(_INSTANCES) > 64:
            _INSTANCES.clear()
        inst = _INSTANCES[spec] = spec.load()
    return inst


def _empty_row(task: Task) -> dict[str, Any]:
    key = dict(zip(KEY, task.key, strict=True))
    return {
        **key,
        "objective": math.nan,
        **dict.fromkeys(METRIC_KEYS, math.nan),
        "status": "error",
        "solve_time_s": 0.0,
        "message": "",
        "error_kind": "",
    }


def error_row(
    task: Task, exc: BaseException, solve_time_s: float = 0.0, kind: str | None = None
) -> dict[str, Any]:
    """The row of a solve that raised: status ``error``, the exception as the message.

    ``kind`` is the row's ``error_kind``; by default ``transient`` or ``raised`` from the
    exception's type (``llmv2x.experiments.sweep.errors``).
    """
    row = _empty_row(task)
    row["message"] = f"{type(exc).__name__}: {exc}".strip().replace("\n", " ")
    row["solve_time_s"] = float(solve_time_s)
    row["error_kind"] = kind if kind is not None else classify(exc)
    return row


def run_task(task: Task) -> dict[str, Any]:
    """Solve one task and return its table row; never raises for a failing solve.

    Any exception (an LlmV2xError or a bug) becomes a row with status ``error``.
    """
    from llmv2x.api import solve

    method, variant_options = resolve_method(task.method)
    t0 = time.perf_counter()
    try:
        inst = _instance(task.spec)
        res = solve(
            inst,
            method=method,
            omega_t=task.omega_t,
            objective=task.objective,
            seed=task.seed,
            **{**dict(task.options), **dict(variant_options)},
        )
    except Exception as exc:  # a failing solve is data, not the end of the sweep
        return error_row(task, exc, time.perf_counter() - t0)
    row = _empty_row(task)
    row["objective"] = math.nan if res.objective is None else float(res.objective)
    for k in METRIC_KEYS:
        row[k] = float(res.metrics.get(k, math.nan))
    row["status"] = res.status
    row["solve_time_s"] = float(res.solve_time_s)
    row["message"] = res.message.replace("\n", " ")
    return row
