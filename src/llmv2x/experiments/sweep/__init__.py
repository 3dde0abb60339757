"""Studies: instances x omega_t x methods x seeds -> one tidy table, one row per solve.

A ``Study`` lists the solves; ``run_study`` runs them serially, on a local process
pool (the default, all cores) or on a Dask distributed cluster, and returns the same table
whichever it used: one row per solve, sorted by the key
(instance, seed, method, omega_t, objective_variant), with the objective, every
docs/result-format.md metric, the status, the solve time, the message and ``error_kind``.
A solve that raises becomes a row with status ``error`` and the exception in ``message``;
the sweep goes on. A worker process that dies does not end the sweep either: the pool is
rebuilt and the unfinished solves run again (``executors.run_pool``). ``error_kind`` says
whether a failure is worth retrying (``errors``). With an output file the table is saved as
CSV (and Parquet when pyarrow is importable), each row appended as soon as it is known, and
a rerun solves only the keys that file does not hold yet, plus its ``transient`` error rows.

Workers receive instance *specifications* (a scenario seed and overrides, or JSON text),
never Pyomo models: each worker builds its instance and solves it itself.

The steps live in submodules: ``study`` (what to solve), ``worker`` (one solve),
``executors`` (serial, pool, Dask), ``table`` (the CSV), ``errors`` (error kinds).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from llmv2x.errors import SettingsError
from llmv2x.experiments.sets import METHOD_VARIANTS, OMEGA_T_GRID, PAPER_METHODS
from llmv2x.experiments.sweep.errors import MAX_ATTEMPTS, TRANSIENT_ERRORS, classify
from llmv2x.experiments.sweep.executors import (
    Runner,
    default_workers,
    run_dask,
    run_pool,
    run_serial,
)
from llmv2x.experiments.sweep.study import InstanceSpec, Study, Task, paper_study, resolve_method
from llmv2x.experiments.sweep.table import (
    COLUMNS,
    KEY,
    Appender,
    read_table,
    table_keys,
    tidy,
    write_table,
)
from llmv2x.experiments.sweep.worker import error_row, run_task


def run_study(
    study: Study,
    output: str | Path | None = None,
    *,
    workers: int | None = None,
    dask_scheduler: str | None = None,
    dask_workers: int | None = None,
    progress: bool = True,
    retry_errors: bool = False,
    description: str = "sweep",
    runner: Runner = run_task,
) -> pd.DataFrame:
    """Run every solve of ``study`` and return the table (one row per solve, sorted by key).

    Parameters
    ----------
    study : the solves to run.
    output : CSV file of the table. Rows it already holds (same key) are not solved again,
        except error rows of kind ``transient`` (the executor lost them, see
        ``llmv2x.experiments.sweep.errors``); new rows are appended as they finish and the
        file is rewritten sorted at the end, with a Parquet copy when pyarrow is importable.
        Rows of other studies in the file are kept in the file but not returned.
    workers : processes of the local pool; default all cores; 1 runs serially in this
        process. A pool whose worker dies is rebuilt and the unfinished solves rerun.
    dask_scheduler : address of a running Dask scheduler (``tcp://host:8786``); its workers
        need llmv2x installed.
    dask_workers : start a local Dask cluster with this many worker processes (one thread
        each). Either Dask option replaces the process pool.
    progress : show a tqdm progress bar (only when stderr is a terminal).
    retry_errors : solve again every saved row whose status is ``error``, whatever its kind.
    description : label of the progress bar.
    runner : the function that solves one task in a worker and returns its row (default
        ``run_task``); it must be picklable (a module-level function).

    Returns
    -------
    pandas.DataFrame
        Columns ``COLUMNS``; identical whatever the executor, except ``solve_time_s``.
    """
    from tqdm.auto import tqdm

    if workers is not None and workers < 1:
        raise SettingsError(f"workers: {workers} must be at least 1")
    if dask_workers is not None and dask_workers < 1:
        raise SettingsError(f"dask_workers: {dask_workers} must be at least 1")
    tasks = study.tasks()
    path = Path(output) if output is not None else None
    saved = read_table(path) if path is not None and path.exists() else tidy([])
    redo = (saved["status"] == "error") & (retry_errors | (saved["error_kind"] == "transient"))
    saved = saved[~redo]
    done = set(table_keys(saved))
    todo = [t for t in tasks if t.key not in done]

    rows: list[dict[str, Any]] = []
    appender = Appender(path)
    bar = tqdm(
        total=len(tasks),
        initial=len(tasks) - len(todo),
        desc=description,
        unit="solve",
        disable=None if progress else True,
        dynamic_ncols=True,
    )

    def on_row(row: dict[str, Any]) -> None:
        rows.append(row)
        appender.add(row)
        bar.update(1)
        if row["status"] == "error":
            bar.set_postfix_str(f"errors: {sum(r['status'] == 'error' for r in rows)}")

    try:
        if not todo:
            pass
        elif dask_scheduler or dask_workers:
            run_dask(todo, dask_scheduler, dask_workers, on_row, runner)
        else:
            n = min(workers or default_workers(), len(todo))
            if n <= 1:
                run_serial(todo, on_row, runner)
            else:
                run_pool(todo, n, on_row, runner)
    finally:
        bar.close()

    new = tidy(rows)
    if path is not None:
        # re-read: the file may hold rows of other studies, and error rows being retried
        kept = read_table(path)
        fresh = set(table_keys(new))
        kept = kept[np.array([k not in fresh for k in table_keys(kept)], dtype=bool)]
        full = tidy(pd.concat([kept, new], ignore_index=True)) if len(kept) else new
        full = full.drop_duplicates(list(KEY), keep="last").reset_index(drop=True)
        write_table(full, path)
    else:
        full = new
    wanted = {t.key for t in tasks}
    mask = np.array([k in wanted for k in table_keys(full)], dtype=bool)
    return full[mask].reset_index(drop=True)


__all__ = [
    "COLUMNS",
    "KEY",
    "MAX_ATTEMPTS",
    "METHOD_VARIANTS",
    "OMEGA_T_GRID",
    "PAPER_METHODS",
    "TRANSIENT_ERRORS",
    "InstanceSpec",
    "Study",
    "Task",
    "classify",
    "default_workers",
    "error_row",
    "paper_study",
    "read_table",
    "resolve_method",
    "run_study",
    "run_task",
    "tidy",
    "write_table",
]
