"""One way to reach a Dask cluster, shared by the sweeps and the chunked solvers."""

from __future__ import annotations

import logging
from typing import Any

from llmv2x.errors import LlmV2xError


def dask_client(n_workers: int, scheduler: str | None, what: str) -> tuple[Any, Any]:
    """A ``distributed.Client`` and the LocalCluster it owns (None for a remote scheduler).

    ``scheduler`` is the address of a running scheduler, or None to start ``n_workers``
    single-threaded worker processes here. ``what`` names the setting in messages. The local
    workers start without Dask's default ``MALLOC_TRIM_THRESHOLD_=65536``: it turns off
    glibc's adaptive mmap threshold, so every NumPy temporary above 128 kB is mapped and
    unmapped, and a chunk's solve spent 5x its time in page faults
    (benchmarks/results/scale.md). The caller closes both.
    """
    # importing distributed applies its own logging config (INFO); keep the level the
    # caller (the command line's -q / -v) gave the "distributed" logger, if any
    level = logging.getLogger("distributed").level
    try:
        import dask
        from distributed import Client, LocalCluster
    except ImportError:
        raise LlmV2xError(f"{what}: dask.distributed is not installed") from None
    if level != logging.NOTSET:
        for name in [n for n in logging.root.manager.loggerDict if n.startswith("distributed")]:
            logging.getLogger(name).setLevel(level)
    if scheduler:
        try:
            return Client(scheduler, timeout="30s"), None
        except OSError as exc:
            raise LlmV2xError(f"{what}: cannot reach {scheduler}: {exc}") from None
    with dask.config.set({"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None}):
        cluster = LocalCluster(
            n_workers=n_workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            silence_logs=logging.ERROR,
        )
    return Client(cluster), cluster
