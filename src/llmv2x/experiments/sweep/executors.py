"""Executors: serial, a local process pool that survives dying workers, and Dask."""

from __future__ import annotations

import logging
import multiprocessing
import os
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from llmv2x.experiments.sweep.errors import MAX_ATTEMPTS
from llmv2x.experiments.sweep.study import Task
from llmv2x.experiments.sweep.table import Key
from llmv2x.experiments.sweep.worker import error_row

OnRow = Callable[[dict[str, Any]], None]
Runner = Callable[[Task], dict[str, Any]]

log = logging.getLogger(__name__)


def default_workers() -> int:
    """The number of cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def run_serial(tasks: Sequence[Task], on_row: OnRow, runner: Runner) -> None:
    """Solve the tasks one after the other in this process."""
    for task in tasks:
        on_row(runner(task))


class WorkerDied(Exception):
    """A solve took its worker process down on every attempt (the row's message)."""


def run_pool(
    tasks: Sequence[Task],
    workers: int,
    on_row: OnRow,
    runner: Runner,
    max_attempts: int = MAX_ATTEMPTS,
) -> None:
    """Solve the tasks on a local process pool, rebuilt whenever a worker dies.

    At most ``workers`` tasks are in flight, so when the pool breaks (a worker killed by
    the OS, a segfault in a native solver) the unfinished tasks are exactly those that were
    running. Each of them is charged one attempt and run again, alone, on a fresh pool:
    the one that kills its worker is found, and the others are not charged twice for it.
    A task that takes its worker down ``max_attempts`` times becomes an ``error`` row of
    kind ``crash`` saying so. No task is lost.
    """
    # spawn, not fork: the parent may hold threads (tqdm, a Dask client) that fork would copy
    ctx = multiprocessing.get_context("spawn")
    queue: deque[Task] = deque(tasks)
    suspects: deque[Task] = deque()
    deaths: dict[Key, int] = {}
    while queue or suspects:
        lost: list[tuple[Task, BaseException]] = []
        pool = ProcessPoolExecutor(max_workers=workers, mp_context=ctx)
        running: dict[Future, Task] = {}
        try:
            broken = False
            while not broken:
                while not any(deaths.get(t.key) for t in running.values()):
                    if suspects:  # a task that was running when a worker died runs alone
                        if running:
                            break
                        task = suspects.popleft()
                    elif queue and len(running) < workers:
                        task = queue.popleft()
                    else:
                        break
                    try:
                        running[pool.submit(runner, task)] = task
                    except BrokenProcessPool as exc:
                        lost.append((task, exc))
                        broken = True
                        break
                if not running:
                    break
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                for fut in done:
                    task = running.pop(fut)
                    try:
                        row = fut.result()
                    except BrokenProcessPool as exc:
                        lost.append((task, exc))
                        broken = True
                        continue
                    except Exception as exc:  # e.g. the task could not be pickled
                        row = error_row(task, exc)
                    on_row(row)
            for fut, task in running.items():  # the rest of a broken pool's tasks
                exc = fut.exception()
                if isinstance(exc, BrokenProcessPool):
                    lost.append((task, exc))
                elif exc is not None:
                    on_row(error_row(task, exc))
                else:
                    on_row(fut.result())
        except BaseException:
            pool.shutdown(wait=False, cancel_futures=True)
            raise
        pool.shutdown(wait=True)
        if lost:
            log.warning("a worker process died; rebuilding the pool, %d task(s) to redo", len(lost))
        for task, exc in lost:
            n = deaths[task.key] = deaths.get(task.key, 0) + 1
            if n >= max_attempts:
                died = WorkerDied(
                    f"the worker process died on each of {n} attempts at this solve "
                    f"(last: {type(exc).__name__}: {exc})"
                )
                on_row(error_row(task, died, kind="crash"))
            else:
                suspects.append(task)


def run_dask(
    tasks: Sequence[Task],
    scheduler: str | None,
    n_workers: int | None,
    on_row: OnRow,
    runner: Runner,
) -> None:
    """Solve the tasks on a Dask cluster: a running one at ``scheduler``, or a local one.

    Dask retries a task whose worker died by itself; one it gives up on (``KilledWorker``)
    becomes a ``transient`` error row, solved again by the next run.
    """
    from distributed import as_completed as dask_as_completed

    from llmv2x.parallel import dask_client

    client, cluster = dask_client(n_workers or default_workers(), scheduler, "--dask-scheduler")
    try:
        futures = client.map(runner, list(tasks), pure=False)
        by_key = {f.key: t for f, t in zip(futures, tasks, strict=True)}
        for fut in dask_as_completed(futures):
            try:
                row = fut.result()
            except Exception as exc:  # the worker died (KilledWorker) or the task was lost
                row = error_row(by_key[fut.key], exc)
            on_row(row)
            fut.release()
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
