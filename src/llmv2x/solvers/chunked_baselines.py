"""Baselines that decompose by RSU (``equal``, ``local``, ``offload``) on RSU chunks.

Each of these fixes or optimises every vehicle against its own RSU only, so, like ``exact``
(``llmv2x.solvers.chunks``), it can run on chunks of RSUs on an executor and be stitched
back and verified once. ``equal`` is closed form, so its chunked allocation is the one-piece
allocation. ``local`` and ``offload`` optimise the radio by fractional programming, whose
stopping test looks at the whole instance it is given: on chunks each chunk stops on its
own, so the point agrees with the one-piece point to that loop's tolerance, not bit for bit
(tests/solvers/test_chunks.py measures both).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from llmv2x.instances.schema import Instance
from llmv2x.models.allocation import Allocation
from llmv2x.results import Result, make_result
from llmv2x.settings import SolveSettings
from llmv2x.solvers.chunks import (
    ALLOCATION_KEYS,
    CHUNK_VEHICLES,
    chunk_instance,
    chunk_payload,
    chunked,
    executor_options,
    map_chunks,
    plan_chunks,
)
from llmv2x.solvers.deadline import Deadline

#: method -> "module:function" of its one-piece solve
ONE_PIECE = {
    "equal": "llmv2x.baselines.equal:solve_equal",
    "local": "llmv2x.baselines.fixed_split:solve_local",
    "offload": "llmv2x.baselines.fixed_split:solve_offload",
}
CHUNK_OPTIONS = ("workers", "executor", "chunk_vehicles", "dask_scheduler")


def _one_piece(method: str):
    import importlib

    mod, func = ONE_PIECE[method].split(":")
    return getattr(importlib.import_module(mod), func)


def solve_chunk_with(
    payload: dict[str, Any], settings: SolveSettings, method: str, deadline_at: float | None
) -> dict[str, Any]:
    """Solve one chunk with ``method``'s one-piece solve; runs in a worker."""
    sub = chunk_instance(payload)
    left = None if deadline_at is None else max(deadline_at - time.time(), 1e-3)
    res = _one_piece(method)(sub, settings.with_(time_limit=left))
    out: dict[str, Any] = {"status": res.status, "iterations": res.iterations}
    out["solvers"] = dict(res.solvers)
    if res.allocation is not None:
        for k in ALLOCATION_KEYS:
            out[k] = getattr(res.allocation, k)
    return out


def solve_chunked(method: str, instance: Instance, settings: SolveSettings) -> Result:
    """``method`` on RSU chunks (options as ``llmv2x.solvers.chunks.solve_exact_chunked``).

    Status ``feasible``, or ``time_limit`` when some chunk was cut short, or ``error`` when
    some chunk has no point; the allocation is verified on the whole instance.
    """
    t0 = time.perf_counter()
    opts = settings.options
    workers, executor = executor_options(opts)
    chunks = plan_chunks(instance, int(opts.get("chunk_vehicles", CHUNK_VEHICLES)))
    payloads = [chunk_payload(instance, c) for c in chunks]
    inner = settings.with_(options={k: v for k, v in opts.items() if k not in CHUNK_OPTIONS})
    deadline = Deadline(settings.time_limit, start=t0)
    deadline_at = time.time() + deadline.remaining() if deadline.limited else None
    parts = map_chunks(
        solve_chunk_with,
        payloads,
        inner,
        method,
        deadline_at,
        executor=executor,
        workers=workers,
        dask_scheduler=opts.get("dask_scheduler"),
    )
    solvers = {**parts[0]["solvers"], "executor": f"{executor} x{workers}",
               "chunks": str(len(chunks))}  # fmt: skip
    iterations = max(p["iterations"] for p in parts)
    missing = [i for i, p in enumerate(parts) if "alpha" not in p]
    if missing:
        first = chunks[missing[0]].rsus
        return make_result(
            instance, settings, method, None, "error", time.perf_counter() - t0,
            solvers=solvers, iterations=iterations,
            message=f"the chunk of RSUs {first[0]}..{first[-1]} has no point",
        )  # fmt: skip
    n = instance.n_vehicles
    arrays = {k: np.empty(n) for k in ALLOCATION_KEYS}
    for chunk, part in zip(chunks, parts, strict=True):
        for k in ALLOCATION_KEYS:
            arrays[k][chunk.vehicles] = part[k]
    cut = any(p["status"] == "time_limit" for p in parts)
    return make_result(
        instance,
        settings,
        method,
        Allocation(**arrays),
        "time_limit" if cut else "feasible",
        time.perf_counter() - t0,
        solvers=solvers,
        iterations=iterations,
        message="time limit reached in some chunk" if cut else "",
    )


def _auto(method: str, instance: Instance, settings: SolveSettings) -> Result:
    if chunked(instance, settings):
        return solve_chunked(method, instance, settings)
    return _one_piece(method)(instance, settings)


def solve_equal_auto(instance: Instance, settings: SolveSettings) -> Result:
    """Method ``equal``: on RSU chunks when asked (or N is large), else in one piece."""
    return _auto("equal", instance, settings)


def solve_local_auto(instance: Instance, settings: SolveSettings) -> Result:
    """Method ``local``: on RSU chunks when asked (or N is large), else in one piece."""
    return _auto("local", instance, settings)


def solve_offload_auto(instance: Instance, settings: SolveSettings) -> Result:
    """Method ``offload``: on RSU chunks when asked (or N is large), else in one piece."""
    return _auto("offload", instance, settings)
