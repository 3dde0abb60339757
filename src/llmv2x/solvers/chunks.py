"""Method ``exact`` on chunks of RSUs: serially, on a local process pool or on Dask.

Under fixed association P1 separates by RSU (docs/exact.md): the compute part's layer split
and frequency split, and the communication part's power and bandwidth, each involve one RSU
and the vehicles it serves. So the RSUs are cut into chunks of about ``chunk_vehicles``
vehicles (an RSU is never split), each chunk becomes an instance of its own (its RSUs, their
vehicles, each vehicle's associated link only), solved by the same steps as
``llmv2x.solvers.exact.solve_exact`` on whichever executor is asked for, and the
allocation is stitched back and verified once on the whole instance by the NumPy
evaluator. Every step is vectorised, so planning, stitching and verifying are linear in N.

The chunks are solved independently and RSUs keep their relative vehicle order, so the
allocation is the one an unchunked solve finds (alpha exactly; the objective to rounding:
the sums are taken in another order). tests/solvers/test_chunks.py checks it on a real
process pool and a real local Dask cluster.
"""

from __future__ import annotations

import logging
import multiprocessing
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from llmv2x.errors import LlmV2xError, SolveError
from llmv2x.instances.schema import VEHICLE_FIELDS, Instance
from llmv2x.models.allocation import Allocation
from llmv2x.results import Result, make_result
from llmv2x.settings import SolveSettings
from llmv2x.solvers.deadline import Deadline

METHOD = "exact"
#: Executors a chunked solve can run on (method options ``executor`` and ``workers``).
EXECUTORS = ("serial", "process", "dask")
#: Default vehicles per chunk: large enough that one chunk's solve (about 0.2 s) outweighs
#: shipping it to a worker, small enough that 1,000,000 vehicles make 50 chunks.
CHUNK_VEHICLES = 20_000
#: Above this many vehicles ``exact`` is chunked even with one worker (bounds its memory).
AUTO_CHUNK_VEHICLES = 100_000

RSU_KEYS = ("x_m", "y_m", "gpu_cores", "flops_per_cycle", "f_max_hz", "kappa", "bandwidth_hz")
ALLOCATION_KEYS = ("alpha", "p_w", "b_hz", "f_vehicle_hz", "f_rsu_hz")

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Chunk:
    """One chunk: global indices of its RSUs and of the vehicles they serve (both ascending)."""

    rsus: np.ndarray
    vehicles: np.ndarray


def plan_chunks(instance: Instance, chunk_vehicles: int = CHUNK_VEHICLES) -> list[Chunk]:
    """Cut the RSUs, in index order, into chunks of about ``chunk_vehicles`` vehicles.

    An RSU is never split (one serving more vehicles than ``chunk_vehicles`` is a chunk of
    its own); RSUs serving nobody ride along with their neighbours in index order. Linear in
    N + M.
    """
    if chunk_vehicles < 1:
        raise LlmV2xError(f"chunk_vehicles: {chunk_vehicles} must be at least 1")
    assoc = np.asarray(instance.association)
    counts = np.bincount(assoc, minlength=instance.n_rsus)
    before = np.cumsum(counts) - counts
    _, chunk_of_rsu = np.unique(before // chunk_vehicles, return_inverse=True)
    n_chunks = int(chunk_of_rsu[-1]) + 1
    rsu_bounds = np.searchsorted(chunk_of_rsu, np.arange(n_chunks + 1))
    veh_chunk = chunk_of_rsu[assoc]
    order = np.argsort(veh_chunk, kind="stable")
    veh_bounds = np.searchsorted(veh_chunk[order], np.arange(n_chunks + 1))
    rsus = np.arange(instance.n_rsus)
    return [
        Chunk(rsus[rsu_bounds[c] : rsu_bounds[c + 1]], order[veh_bounds[c] : veh_bounds[c + 1]])
        for c in range(n_chunks)
    ]


def chunk_payload(instance: Instance, chunk: Chunk) -> dict[str, Any]:
    """The plain arrays a worker needs to rebuild the chunk as an instance (picklable)."""
    v, r = instance.vehicle, instance.rsu
    return {
        "name": f"{instance.name}[rsus {int(chunk.rsus[0])}..{int(chunk.rsus[-1])}]",
        "seed": instance.seed,
        "area_m": tuple(instance.area_m),
        "llm": {
            "layers": instance.layers,
            "hidden_size": instance.hidden_size,
            "batch_size": instance.batch_size,
            "activation_bits": instance.activation_bits_per_value,
        },
        "noise_psd_w_per_hz": float(instance.noise_psd_w_per_hz),
        "vehicle": {k: np.asarray(v[k])[chunk.vehicles] for k in VEHICLE_FIELDS},
        "rsu": {k: np.asarray(r[k])[chunk.rsus] for k in RSU_KEYS},
        "association": np.searchsorted(chunk.rsus, instance.association[chunk.vehicles]),
        "gain": np.asarray(instance.gain)[chunk.vehicles],
    }


def chunk_instance(payload: dict[str, Any]) -> Instance:
    """The chunk as a validated instance: each vehicle keeps its associated link only."""
    n = len(payload["association"])
    assoc = np.asarray(payload["association"], dtype=np.int64)
    return Instance.from_arrays(
        name=payload["name"],
        seed=payload["seed"],
        area_m=payload["area_m"],
        llm=payload["llm"],
        noise_psd_w_per_hz=payload["noise_psd_w_per_hz"],
        vehicle=payload["vehicle"],
        rsu=payload["rsu"],
        links=(np.arange(n, dtype=np.int64), assoc, np.asarray(payload["gain"], float)),
        association=assoc,
    )


def solve_chunk(
    payload: dict[str, Any], settings: SolveSettings, deadline_at: float | None = None
) -> dict[str, Any]:
    """Solve one chunk as ``solve_exact`` would; runs in a worker.

    ``deadline_at`` is the solve's deadline on the ``time.time()`` clock (the one clock
    that worker processes share), None for no limit.

    Returns the chunk's allocation arrays (``ALLOCATION_KEYS``, in the chunk's vehicle
    order) and its certificate: ``lower_bound`` (compute plus communication), ``certified``,
    ``compute_certified``, ``nodes`` and ``hit`` (the time limit passed).
    """
    from llmv2x.solvers.comm import optimal_comm
    from llmv2x.solvers.exact import optimal_split
    from llmv2x.solvers.frequencies import best_vehicle_frequency, rsu_frequency_split

    sub = chunk_instance(payload)
    deadline = Deadline(None if deadline_at is None else deadline_at - time.time())
    comp = optimal_split(sub, settings, deadline)
    comm = optimal_comm(sub, settings)
    return {
        "alpha": comp.alpha,
        "p_w": comm.p_w,
        "b_hz": comm.b_hz,
        "f_vehicle_hz": best_vehicle_frequency(sub, settings),
        "f_rsu_hz": rsu_frequency_split(sub, settings, comp.alpha),
        "lower_bound": comp.lower_bound + comm.lower_bound,
        "certified": bool(comp.certified and comm.certified),
        "compute_certified": bool(comp.certified),
        "nodes": int(comp.nodes),
        "hit": bool(deadline.hit),
    }


# ---------------------------------------------------------------------------------------------
# executors
# ---------------------------------------------------------------------------------------------

ChunkFn = Callable[..., dict[str, Any]]


def _map_serial(fn: ChunkFn, payloads: Sequence[dict], *args: Any) -> list[dict[str, Any]]:
    return [fn(p, *args) for p in payloads]


def _map_process(
    fn: ChunkFn, payloads: Sequence[dict], workers: int, *args: Any
) -> list[dict[str, Any]]:
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    # spawn, as the sweeps do: the parent may hold threads that fork would copy
    ctx = multiprocessing.get_context("spawn")
    workers = max(1, min(workers, len(payloads)))
    with ProcessPoolExecutor(
        max_workers=workers, mp_context=ctx, initializer=_ignore_sigint
    ) as pool:
        futures = [pool.submit(fn, p, *args) for p in payloads]
        try:
            return [f.result() for f in futures]
        except BrokenProcessPool as exc:  # killed by the OS (memory), a crash in C code
            raise SolveError(f"a chunk's worker process died ({exc}); try fewer workers or "
                             "a smaller chunk_vehicles") from None  # fmt: skip


def _ignore_sigint() -> None:
    """Pool workers leave Ctrl-C to the parent, which stops the pool and says so once
    (a terminal sends SIGINT to the whole process group: each worker printed a traceback)."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _map_dask(
    fn: ChunkFn, payloads: Sequence[dict], workers: int, scheduler: str | None, *args: Any
) -> list[dict[str, Any]]:
    from llmv2x.parallel import dask_client

    workers = max(1, min(workers, len(payloads)))  # no idle worker processes to start

    client, cluster = dask_client(
        workers, scheduler, "dask_scheduler" if scheduler else "executor dask"
    )
    try:
        data = client.scatter(list(payloads))
        futures = client.map(fn, data, *[[a] * len(data) for a in args], pure=False)
        try:
            return client.gather(futures)
        except Exception as exc:  # a worker died: KilledWorker, or its scattered data lost
            if type(exc).__name__ not in ("KilledWorker", "FutureCancelledError", "CancelledError"):
                raise
            raise SolveError(f"a chunk's Dask worker died ({type(exc).__name__}); try "
                             "fewer workers or a smaller chunk_vehicles") from None  # fmt: skip
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def map_chunks(
    fn: ChunkFn,
    payloads: Sequence[dict[str, Any]],
    *args: Any,
    executor: str = "serial",
    workers: int = 1,
    dask_scheduler: str | None = None,
) -> list[dict[str, Any]]:
    """``[fn(p, *args) for p in payloads]`` on the executor asked for, in payload order.

    Parameters
    ----------
    fn : a module-level function (workers import it by name).
    payloads : one picklable argument per chunk.
    args : further arguments, the same for every chunk.
    executor : ``serial`` (this process), ``process`` (a local spawn pool of ``workers``) or
        ``dask`` (a local cluster of ``workers`` processes, or the one at ``dask_scheduler``).
    """
    if executor == "serial":
        return _map_serial(fn, payloads, *args)
    if executor == "process":
        return _map_process(fn, payloads, workers, *args)
    if executor == "dask":
        return _map_dask(fn, payloads, workers, dask_scheduler, *args)
    raise LlmV2xError(f"executor: {executor!r} is not one of {', '.join(EXECUTORS)}")


# ---------------------------------------------------------------------------------------------
# the method
# ---------------------------------------------------------------------------------------------


def chunked(instance: Instance, settings: SolveSettings) -> bool:
    """True when ``exact`` should run on chunks: asked for by an option, or N is large."""
    from llmv2x.problem import Problem

    if not Problem.of(instance, settings).is_default:
        return False  # the family's variants run whole (llmv2x.solvers.certify)
    opts = settings.options
    asked = any(k in opts for k in ("workers", "executor", "chunk_vehicles", "dask_scheduler"))
    return asked or instance.n_vehicles > AUTO_CHUNK_VEHICLES


def solve_exact_auto(instance: Instance, settings: SolveSettings) -> Result:
    """Method ``exact``: on chunks when ``chunked`` says so, else ``solve_exact`` in one piece."""
    if chunked(instance, settings):
        return solve_exact_chunked(instance, settings)
    from llmv2x.solvers.exact import solve_exact

    return solve_exact(instance, settings)


def executor_options(opts: dict[str, Any]) -> tuple[int, str]:
    """(workers, executor) from a chunked method's options, checked: the executor is one of
    ``EXECUTORS`` (default ``serial`` for one worker, else ``process``), and
    ``dask_scheduler`` is only given with the ``dask`` executor (it was silently ignored)."""
    workers = int(opts.get("workers", 1))
    executor = opts.get("executor") or ("serial" if workers == 1 else "process")
    if executor not in EXECUTORS:
        raise LlmV2xError(f"executor: {executor!r} is not one of {', '.join(EXECUTORS)}")
    if opts.get("dask_scheduler") and executor != "dask":
        raise LlmV2xError(f"dask_scheduler: only read with executor dask, not {executor}")
    return workers, executor


def solve_exact_chunked(instance: Instance, settings: SolveSettings) -> Result:
    """Method ``exact`` with the RSUs solved in chunks on an executor, then verified whole.

    Options (``settings.options``): ``workers`` (default 1), ``executor`` (``serial``,
    ``process`` or ``dask``; default ``serial`` for one worker, else ``process``),
    ``chunk_vehicles`` (default ``CHUNK_VEHICLES``), ``dask_scheduler`` (address of a
    running cluster; default a local one). The status and bound follow ``solve_exact``: the
    bound is the sum of the chunks' proven bounds, ``optimal`` when every chunk's
    certificate holds. ``solvers`` records the executor and the number of chunks.
    """
    t0 = time.perf_counter()
    opts = settings.options
    workers, executor = executor_options(opts)
    chunks = plan_chunks(instance, int(opts.get("chunk_vehicles", CHUNK_VEHICLES)))
    payloads = [chunk_payload(instance, c) for c in chunks]
    # the chunk workers get the settings without the chunking options (they solve whole)
    inner = settings.with_(options={})
    deadline = Deadline(settings.time_limit, start=t0)
    # one deadline for every chunk, wherever and whenever it runs (not a limit per chunk)
    deadline_at = time.time() + deadline.remaining() if deadline.limited else None
    log.info("exact: %d chunks on %s (%d workers)", len(chunks), executor, workers)
    parts = map_chunks(
        solve_chunk,
        payloads,
        inner,
        deadline_at,
        executor=executor,
        workers=workers,
        dask_scheduler=opts.get("dask_scheduler"),
    )
    n = instance.n_vehicles
    arrays = {k: np.empty(n) for k in ALLOCATION_KEYS}
    for chunk, part in zip(chunks, parts, strict=True):
        for k in ALLOCATION_KEYS:
            arrays[k][chunk.vehicles] = part[k]
    alloc = Allocation(**arrays)
    certified = all(p["certified"] for p in parts)
    timed_out = any(p["hit"] and not p["compute_certified"] for p in parts)
    status = "optimal" if certified else ("time_limit" if timed_out else "feasible")
    bound = float(np.sum([p["lower_bound"] for p in parts]))
    result = make_result(
        instance,
        settings,
        METHOD,
        alloc,
        status,
        time.perf_counter() - t0,
        solvers={
            "exact": "llmv2x structure",
            "executor": f"{executor} x{workers}",
            "chunks": str(len(chunks)),
        },  # fmt: skip
        iterations=sum(p["nodes"] for p in parts),
        message="" if certified else "search stopped before closing; lower_bound is the proven one",
    )
    if result.objective is None:
        return result
    lower = result.objective if certified else min(bound, result.objective)
    return _with_bound(result, lower)


def _with_bound(result: Result, lower_bound: float) -> Result:
    from dataclasses import replace

    return replace(result, lower_bound=lower_bound)
