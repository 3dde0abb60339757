"""Studies: instances x omega_t x methods x seeds -> one tidy table, one row per solve.

A ``Study`` lists the solves; ``run_study`` runs them serially, on a local process
pool (the default, all cores) or on a Dask distributed cluster, and returns the same table
whichever it used: one row per solve, sorted by the key
(instance, seed, method, omega_t, objective_variant), with the objective, every docs/result-format.md
metric, the status, the solve time and the message. A solve that raises becomes a row with
status ``error`` and the exception in ``message``; the sweep goes on. With an output file the
table is saved as CSV (and Parquet when pyarrow is importable), each row appended as soon as
it is known, and a rerun solves only the keys that file does not hold yet.

Workers receive instance *specifications* (a scenario seed and overrides, or JSON text),
never Pyomo models: each worker builds its instance and solves it itself.
"""

from __future__ import annotations

import csv
import importlib.util
import math
import multiprocessing
import os
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from llmv2x.errors import LlmV2xError, SettingsError
from llmv2x.instances import Instance, load_instance
from llmv2x.models.evaluator import METRIC_KEYS
from llmv2x.settings import Objective, SolveSettings

#: the paper's sweep of the weight of time (Figures 1 and 2)
OMEGA_T_GRID: tuple[float, ...] = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
#: the paper's method and its two baselines (section IV-B)
PAPER_METHODS: tuple[str, ...] = ("ao", "rlor", "rrlo")
#: the columns that identify a solve; a saved row with the same key is not solved again
KEY: tuple[str, ...] = ("instance", "seed", "method", "omega_t", "objective_variant")
COLUMNS: tuple[str, ...] = (
    *KEY,
    "objective",
    *METRIC_KEYS,
    "status",
    "solve_time_s",
    "message",
)
_FLOAT_COLUMNS = ("omega_t", "objective", *METRIC_KEYS, "solve_time_s")
_STR_COLUMNS = ("instance", "method", "objective_variant", "status", "message")

Key = tuple[str, int, str, float, str]


# ---------------------------------------------------------------------------
# what to solve
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class InstanceSpec:
    """How a worker obtains an instance: generated from a scenario seed, or JSON text.

    Build one with ``generated``, ``from_instance`` or ``from_file``. The spec is
    small and picklable; the worker turns it into an ``Instance`` with ``load``.

    Attributes
    ----------
    name : instance name, the ``instance`` column of the table.
    seed : scenario seed; also the default random seed of the baselines.
    scenario : overrides of ``generate_instance`` as sorted (name, value) pairs; None when
        the instance is given as ``text``.
    text : instance JSON (docs/data-format.md) of the instance, or None for a generated one.
    """

    name: str
    seed: int | None = None
    scenario: tuple[tuple[str, Any], ...] | None = None
    text: str | None = None

    @classmethod
    def generated(cls, seed: int, name: str | None = None, **scenario: Any) -> InstanceSpec:
        """The default scenario drawn with ``seed``, with keyword overrides.

        Parameters
        ----------
        seed : seed of the scenario (placement, tokens, shadowing).
        name : instance name; default ``paper-seed{seed}``.
        **scenario : fields of ``llmv2x.instances.ScenarioParams`` to override,
            e.g. ``noise_dbm_per_hz=-174.0``. They are checked by the worker that builds
            the instance; an unknown field makes that solve's row an ``error``.
        """
        return cls(
            name=name if name is not None else f"paper-seed{seed}",
            seed=int(seed),
            scenario=tuple(sorted(scenario.items())),
        )

    @classmethod
    def from_instance(cls, instance: Instance) -> InstanceSpec:
        """A spec that carries ``instance`` as JSON text (works on remote Dask workers)."""
        return cls(name=instance.name, seed=instance.seed, text=instance.to_json(indent=None))

    @classmethod
    def from_file(cls, path: str | Path) -> InstanceSpec:
        """Read and validate an instance file (or built-in name) now; the spec carries its
        JSON text, so workers need not share the file system."""
        return cls.from_instance(load_instance(path))

    def load(self) -> Instance:
        """Build the instance (generate it, or validate the JSON text)."""
        if self.text is not None:
            return Instance.from_json(self.text)
        from llmv2x.instances import generate_instance

        return generate_instance(self.seed or 0, name=self.name, **dict(self.scenario or ()))


@dataclass(frozen=True)
class Task:
    """One solve of a study: an instance, a random seed, a method, omega_t and the variant."""

    spec: InstanceSpec
    seed: int
    method: str
    omega_t: float
    objective: str = "paper"
    options: tuple[tuple[str, Any], ...] = ()

    @property
    def key(self) -> Key:
        """(instance, seed, method, omega_t, objective_variant), as in the table."""
        return _key(self.spec.name, self.seed, self.method, self.omega_t, self.objective)


def _key(instance: Any, seed: Any, method: Any, omega_t: Any, variant: Any) -> Key:
    # omega_t is rounded so that 0.1 read back from a CSV matches 0.1 written by a worker
    return (str(instance), int(seed), str(method), round(float(omega_t), 12), str(variant))


@dataclass(frozen=True)
class Study:
    """Instances x omega_t values x methods x seeds, all under one objective variant.

    Attributes
    ----------
    instances : instance specifications (names must be unique).
    omega_t : weights of time to sweep, each in [0, 1].
    methods : method names of ``llmv2x solve`` (checked when the study is made).
    seeds : random seeds of the randomised methods, crossed with everything else; None
        pairs each instance with its own scenario seed (one solve per instance), which is
        the paper study: instance ``paper-seed{s}`` is solved with seed ``s``.
    objective : ``paper`` or ``latency``.
    options : further solve settings or method options for every solve, as (name, value)
        pairs, e.g. ``(("time_limit", 60.0),)``.
    """

    instances: tuple[InstanceSpec, ...]
    omega_t: tuple[float, ...] = OMEGA_T_GRID
    methods: tuple[str, ...] = PAPER_METHODS
    seeds: tuple[int, ...] | None = None
    objective: str = "paper"
    options: tuple[tuple[str, Any], ...] = ()

    def __post_init__(self) -> None:
        from llmv2x.solvers.methods import get_method

        object.__setattr__(self, "instances", tuple(self.instances))
        object.__setattr__(self, "methods", tuple(self.methods))
        object.__setattr__(self, "omega_t", tuple(float(w) for w in self.omega_t))
        if self.seeds is not None:
            object.__setattr__(self, "seeds", tuple(int(s) for s in self.seeds))
        object.__setattr__(self, "objective", Objective.parse(self.objective).value)
        names = [s.name for s in self.instances]
        if len(set(names)) != len(names):
            raise SettingsError("study: instance names must be unique")
        for w in self.omega_t:
            SolveSettings(omega_t=w)  # refuses a weight outside [0, 1] with a clear message
        for m in self.methods:
            get_method(m)  # refuses an unknown method now, not once per solve

    def tasks(self) -> list[Task]:
        """Every solve of the study, in key order."""
        out = []
        for spec in self.instances:
            seeds = self.seeds if self.seeds is not None else (spec.seed or 0,)
            for seed in seeds:
                for method in self.methods:
                    for w in self.omega_t:
                        out.append(Task(spec, seed, method, w, self.objective, self.options))
        return sorted(out, key=lambda t: t.key)


def paper_study(
    seeds: int = 20,
    omega_t: Sequence[float] = OMEGA_T_GRID,
    methods: Sequence[str] = PAPER_METHODS,
    objective: str = "paper",
    prefix: str = "paper",
    **scenario: Any,
) -> Study:
    """The paper's study: the default scenario drawn with seeds 0..K-1, each instance solved
    with its own seed as the baselines' random seed.

    Parameters
    ----------
    seeds : K, the number of scenario draws.
    omega_t : weights of time (default 0.1, 0.2, ..., 0.9).
    methods : default AO, RLOR, RRLO.
    objective : ``paper`` (eq. (10)) or ``latency``.
    prefix : instance names are ``{prefix}-seed{s}``.
    **scenario : overrides of the scenario, e.g. ``noise_dbm_per_hz=-174.0``.
    """
    specs = tuple(
        InstanceSpec.generated(s, name=f"{prefix}-seed{s}", **scenario) for s in range(seeds)
    )
    return Study(specs, tuple(omega_t), tuple(methods), None, objective)


# ---------------------------------------------------------------------------
# one solve (runs inside a worker)
# ---------------------------------------------------------------------------

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
    }


def error_row(task: Task, exc: BaseException, solve_time_s: float = 0.0) -> dict[str, Any]:
    """The row of a solve that raised: status ``error``, the exception as the message."""
    row = _empty_row(task)
    row["message"] = f"{type(exc).__name__}: {exc}".strip().replace("\n", " ")
    row["solve_time_s"] = float(solve_time_s)
    return row


def run_task(task: Task) -> dict[str, Any]:
    """Solve one task and return its table row; never raises for a failing solve.

    Any exception (an LlmV2xError or a bug) becomes a row with status ``error``.
    """
    from llmv2x.api import solve

    t0 = time.perf_counter()
    try:
        inst = _instance(task.spec)
        res = solve(
            inst,
            method=task.method,
            omega_t=task.omega_t,
            objective=task.objective,
            seed=task.seed,
            **dict(task.options),
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


# ---------------------------------------------------------------------------
# executors
# ---------------------------------------------------------------------------

OnRow = Callable[[dict[str, Any]], None]


def default_workers() -> int:
    """The number of cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def _run_serial(tasks: Sequence[Task], on_row: OnRow) -> None:
    for task in tasks:
        on_row(run_task(task))


def _run_pool(tasks: Sequence[Task], workers: int, on_row: OnRow) -> None:
    # spawn, not fork: the parent may hold threads (tqdm, a Dask client) that fork would copy
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
        futures = {pool.submit(run_task, t): t for t in tasks}
        try:
            for fut in as_completed(futures):
                try:
                    row = fut.result()
                except Exception as exc:  # the worker process died (BrokenProcessPool)
                    row = error_row(futures[fut], exc)
                on_row(row)
        except BaseException:
            pool.shutdown(wait=False, cancel_futures=True)
            raise


def _run_dask(
    tasks: Sequence[Task], scheduler: str | None, n_workers: int | None, on_row: OnRow
) -> None:
    import logging

    from distributed import Client, LocalCluster
    from distributed import as_completed as dask_as_completed

    cluster = None
    if scheduler:
        try:
            client = Client(scheduler, timeout="30s")
        except OSError as exc:
            raise LlmV2xError(f"--dask-scheduler: cannot reach {scheduler}: {exc}") from None
    else:
        cluster = LocalCluster(
            n_workers=n_workers or default_workers(),
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            silence_logs=logging.ERROR,
        )
        client = Client(cluster)
    try:
        futures = client.map(run_task, list(tasks), pure=False)
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


# ---------------------------------------------------------------------------
# the table: reading, appending, writing
# ---------------------------------------------------------------------------


def tidy(rows: Iterable[dict[str, Any]] | pd.DataFrame) -> pd.DataFrame:
    """The rows as the study table: fixed columns and dtypes, sorted by key."""
    df = pd.DataFrame(rows if isinstance(rows, pd.DataFrame) else list(rows))
    for col in COLUMNS:
        if col not in df:
            df[col] = "" if col in _STR_COLUMNS else math.nan
    df = df[list(COLUMNS)].copy()
    for col in _FLOAT_COLUMNS:
        df[col] = pd.to_numeric(df[col], errors="coerce").astype(float)
    df["omega_t"] = df["omega_t"].round(12)
    df["seed"] = df["seed"].astype(np.int64)
    for col in _STR_COLUMNS:
        df[col] = df[col].astype(object).where(df[col].notna(), "").astype(str)
    return df.sort_values(list(KEY), kind="stable").reset_index(drop=True)


def read_table(path: str | Path) -> pd.DataFrame:
    """A saved study table (CSV), floats read back exactly."""
    # pandas 3 reads floats back exactly by default and deprecates the option
    exact = {} if int(pd.__version__.split(".")[0]) >= 3 else {"float_precision": "round_trip"}
    try:
        df = pd.read_csv(path, keep_default_na=False, na_values=["", "nan"], **exact)
    except (OSError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise LlmV2xError(f"{path}: cannot read the study table: {exc}") from None
    missing = [c for c in COLUMNS if c not in df.columns]
    if missing:
        raise LlmV2xError(f"{path}: not a study table (missing columns {', '.join(missing)})")
    return tidy(df)


def _keys(df: pd.DataFrame) -> list[Key]:
    cols = [df[c].tolist() for c in KEY]
    return [_key(*k) for k in zip(*cols, strict=True)]


def write_table(df: pd.DataFrame, path: str | Path) -> list[Path]:
    """Save the table as CSV, and as Parquet next to it when pyarrow is importable.

    Each file is written to a temporary name and renamed, so a reader never sees half of it.
    Returns the paths written.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    df.to_csv(tmp, index=False)
    os.replace(tmp, path)
    written = [path]
    if importlib.util.find_spec("pyarrow") is not None:
        pq = path.with_suffix(".parquet")
        tmpq = pq.with_name(f".{pq.name}.tmp")
        df.to_parquet(tmpq, index=False)
        os.replace(tmpq, pq)
        written.append(pq)
    return written


class _Appender:
    """Appends each finished row to the CSV at once, so an interrupted sweep loses nothing."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            if not path.exists() or path.stat().st_size == 0:
                with path.open("w", newline="") as fh:
                    csv.writer(fh).writerow(COLUMNS)

    def add(self, row: dict[str, Any]) -> None:
        if self.path is None:
            return
        with self.path.open("a", newline="") as fh:
            csv.writer(fh).writerow([_cell(row[c]) for c in COLUMNS])


def _cell(v: Any) -> Any:
    # repr of a float round-trips exactly; NaN as an empty cell
    if isinstance(v, float):
        return "" if math.isnan(v) else repr(v)
    return v


# ---------------------------------------------------------------------------
# the entry point
# ---------------------------------------------------------------------------


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
) -> pd.DataFrame:
    """Run every solve of ``study`` and return the table (one row per solve, sorted by key).

    Parameters
    ----------
    study : the solves to run.
    output : CSV file of the table. Rows it already holds (same key) are not solved again;
        new rows are appended as they finish and the file is rewritten sorted at the end,
        with a Parquet copy when pyarrow is importable. Rows of other studies in the file are
        kept in the file but not returned.
    workers : processes of the local pool; default all cores; 1 runs serially in this
        process.
    dask_scheduler : address of a running Dask scheduler (``tcp://host:8786``); its workers
        need llmv2x installed.
    dask_workers : start a local Dask cluster with this many worker processes (one thread
        each). Either Dask option replaces the process pool.
    progress : show a tqdm progress bar (only when stderr is a terminal).
    retry_errors : solve again the saved rows whose status is ``error``.
    description : label of the progress bar.

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
    if retry_errors:
        saved = saved[saved["status"] != "error"]
    done = set(_keys(saved))
    todo = [t for t in tasks if t.key not in done]

    rows: list[dict[str, Any]] = []
    appender = _Appender(path)
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
            _run_dask(todo, dask_scheduler, dask_workers, on_row)
        else:
            n = min(workers or default_workers(), len(todo))
            if n <= 1:
                _run_serial(todo, on_row)
            else:
                _run_pool(todo, n, on_row)
    finally:
        bar.close()

    new = tidy(rows)
    if path is not None:
        # re-read: the file may hold rows of other studies, and error rows being retried
        kept = read_table(path)
        fresh = set(_keys(new))
        kept = kept[np.array([k not in fresh for k in _keys(kept)], dtype=bool)]
        full = tidy(pd.concat([kept, new], ignore_index=True)) if len(kept) else new
        full = full.drop_duplicates(list(KEY), keep="last").reset_index(drop=True)
        write_table(full, path)
    else:
        full = new
    wanted = {t.key for t in tasks}
    mask = np.array([k in wanted for k in _keys(full)], dtype=bool)
    return full[mask].reset_index(drop=True)


__all__ = [
    "COLUMNS",
    "KEY",
    "OMEGA_T_GRID",
    "PAPER_METHODS",
    "InstanceSpec",
    "Study",
    "Task",
    "default_workers",
    "error_row",
    "paper_study",
    "read_table",
    "run_study",
    "run_task",
    "tidy",
    "write_table",
]
