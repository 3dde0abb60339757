"""`llmv2x reproduce`: the paper's Figures 1 and 2, their data, and two sensitivity sets.

Three sets, each a study of AO under both recipes (``ao``: the default ``improved`` recipe;
``ao-paper``: the paper's plain recipe, nearest rounding), RLOR and RRLO over omega_t = 0.1,
..., 0.9 on K draws of the default scenario (instance ``{set}-seed{s}`` solved with random
seed ``s``):

- ``paper``: objective (10), noise -134 dBm/Hz (docs/choices.md): the paper's figures;
- ``latency``: the latency variant (transmission time charged too);
- ``noise174``: objective (10) with thermal noise at -174 dBm/Hz, where transmission no longer
  dwarfs what the allocation controls.

Each set writes into ``DIR/{set}/``: ``sweep.csv`` (+ ``sweep.parquet``), ``figure1.png/.pdf/
.csv`` (+ ``-diff.csv``), the same for ``figure2`` and ``claims.md/.csv``. A rerun resumes
each sweep, solving again the rows a dying worker lost; ``retry_errors`` redoes every error
row. The names and defaults live in ``llmv2x.experiments.sets``.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from llmv2x.errors import SettingsError
from llmv2x.experiments.sets import (
    DEFAULT_OUTPUT,
    DEFAULT_SEEDS,
    OMEGA_T_GRID,
    PAPER_METHODS,
    SETS,
    FigureSet,
    parse_sets,
)
from llmv2x.experiments.sweep import paper_study, run_study


def reproduce(
    out_dir: str | Path = DEFAULT_OUTPUT,
    seeds: int = DEFAULT_SEEDS,
    sets: Sequence[str] = tuple(SETS),
    *,
    workers: int | None = None,
    dask_scheduler: str | None = None,
    dask_workers: int | None = None,
    omega_t: Sequence[float] = OMEGA_T_GRID,
    methods: Sequence[str] = PAPER_METHODS,
    scenario: dict[str, Any] | None = None,
    progress: bool = True,
    retry_errors: bool = False,
) -> dict[str, dict[str, Any]]:
    """Run the sets' sweeps and write their figures, data and claims tables.

    Parameters
    ----------
    out_dir : output folder; set ``s`` goes to ``out_dir/s``.
    seeds : K, the number of scenario draws (instances) per set.
    sets : names from ``SETS``.
    workers, dask_scheduler, dask_workers : executor, as in ``run_study``.
    omega_t : weights of time.
    methods : methods to solve and draw.
    scenario : further scenario overrides for every set (e.g. ``vehicles=6``); a set's own
        overrides (the noise of ``noise174``) take precedence.
    progress : show a progress bar on a terminal.
    retry_errors : solve again every saved row whose status is ``error`` (transient or not;
        a rerun without it already retries the transient ones, see ``run_study``).

    Returns
    -------
    dict
        Per set: ``table`` (the DataFrame), ``files`` (paths written), ``seconds`` (wall
        time of the set) and ``errors`` (number of rows with status ``error``).
    """
    if seeds < 1:
        raise SettingsError(f"seeds: {seeds} must be at least 1")
    names = parse_sets(sets)
    out = Path(out_dir)
    report: dict[str, dict[str, Any]] = {}
    for name in names:
        spec = SETS[name]
        t0 = time.perf_counter()
        overrides = {**(scenario or {}), **spec.scenario}
        study = paper_study(seeds, omega_t, methods, spec.objective, prefix=name, **overrides)
        folder = out / name
        table = run_study(
            study,
            folder / "sweep.csv",
            workers=workers,
            dask_scheduler=dask_scheduler,
            dask_workers=dask_workers,
            progress=progress,
            retry_errors=retry_errors,
            description=name,
        )
        files = [folder / "sweep.csv", *write_figures(table, folder, spec.label)]
        report[name] = {
            "table": table,
            "files": files,
            "seconds": time.perf_counter() - t0,
            "errors": int((table["status"] == "error").sum()),
        }
    return report


# drawing is imported late: ``llmv2x --help`` and the sweep never need matplotlib
def write_figures(*args: Any, **kwargs: Any) -> list[Path]:
    """``llmv2x.experiments.figures.write_figures`` (imported on first use)."""
    from llmv2x.experiments.figures import write_figures as _write

    return _write(*args, **kwargs)


__all__ = ["DEFAULT_OUTPUT", "DEFAULT_SEEDS", "SETS", "FigureSet", "parse_sets", "reproduce"]
