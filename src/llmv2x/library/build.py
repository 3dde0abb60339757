"""``llmv2x library build``: write and solve every problem of the catalogue (docs/library.md).

Per problem ``DIR/NAME/`` receives, one stage at a time:

* ``export``: ``instance.json``, ``NAME.nl`` (with ``NAME.row``/``NAME.col``), ``NAME.gms``
  and the export's index files, plus the model's counts;
* ``scip``, ``gurobi``: method ``minlp`` with that backend, the problem's formulation and
  the time limit, as ``scip.json`` / ``gurobi.json`` result files; a model too large for
  gurobipy's pip licence is recorded as ``licence limit``;
* ``certify``: ``certificate.json``, the result of method ``exact`` when it proves
  optimality. Otherwise (``exact`` stopped short, or does not handle the problem's variant
  yet) the best point of ``exact`` and the ``scip``/``gurobi`` stages with the best proven
  bound among them (status ``feasible``, or ``unknown`` without a point); such a stage is
  redone by a later build when ``exact`` newly accepts the variant or a minlp stage changed.

A stage is finished when its marker ``NAME/STAGE.done`` exists; the marker is written
atomically after every file of the stage, so a build killed halfway redoes only the stages
without one. A ``scip``/``gurobi`` marker of another time limit counts as unfinished.
``DIR/library.json`` names the catalogue version; a folder of another version is refused.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from llmv2x.errors import LlmV2xError, SettingsError
from llmv2x.jsonio import write_atomic
from llmv2x.library.catalogue import (
    CATALOGUE,
    CATALOGUE_VERSION,
    LibraryProblem,
    by_name,
    catalogue_digest,
    select,
)
from llmv2x.library.stages import MINLP_STAGES, RUN, based_on, exact_accepts

#: The stages, in the order they run for a problem.
STAGES = ("export", "scip", "gurobi", "certify")
#: Format tag of ``DIR/library.json``.
LIBRARY_FORMAT = "llmv2x-library/1"
#: Default time limit (s) of the ``scip`` and ``gurobi`` stages.
DEFAULT_TIME_LIMIT_S = 60.0

Progress = Callable[[str], None]


@dataclass
class BuildReport:
    """What a build did: per problem, the stages it ran, skipped and failed."""

    folder: Path
    ran: dict[str, list[str]] = field(default_factory=dict)
    skipped: dict[str, list[str]] = field(default_factory=dict)
    failed: dict[str, dict[str, str]] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def n_ran(self) -> int:
        """Stages run, over all problems."""
        return sum(len(v) for v in self.ran.values())


def parse_stages(text: str | Sequence[str]) -> tuple[str, ...]:
    """The stages named in ``text`` (comma-separated), in run order; SettingsError if unknown."""
    names = [s.strip() for s in (text.split(",") if isinstance(text, str) else text)]
    bad = [s for s in names if s not in STAGES]
    if bad or not names:
        raise SettingsError(
            f"--stages: {bad[0] if bad else text!r} is not one of {', '.join(STAGES)}"
        )
    return tuple(s for s in STAGES if s in names)


def marker_path(folder: Path, name: str, stage: str) -> Path:
    """The marker file of ``stage`` of problem ``name``."""
    return folder / name / f"{stage}.done"


def read_markers(folder: Path, name: str) -> dict[str, dict[str, Any]]:
    """Stage -> marker content, for the finished stages of problem ``name``."""
    out = {}
    for stage in STAGES:
        path = marker_path(folder, name, stage)
        if path.is_file():
            try:
                out[stage] = json.loads(path.read_text())
            except (OSError, ValueError):
                continue  # an unreadable marker is no marker: the stage is redone
    return out


def open_library(folder: str | Path, create: bool = True) -> Path:
    """Check (and with ``create``, make) a library folder of this catalogue version.

    Raises
    ------
    LlmV2xError
        a file in the way; a folder with files but no ``library.json``; a ``library.json``
        of another catalogue version.
    """
    folder = Path(folder)
    meta = folder / "library.json"
    digest = catalogue_digest()
    if folder.exists() and not folder.is_dir():
        raise LlmV2xError(f"{folder} is a file, not a library folder")
    if meta.is_file():
        try:
            found = json.loads(meta.read_text())
            theirs = (found["catalogue_version"], found["catalogue_digest"])
        except (OSError, ValueError, KeyError, TypeError):
            raise LlmV2xError(f"{meta}: not a library index of llmv2x") from None
        if theirs != (CATALOGUE_VERSION, digest):
            raise LlmV2xError(
                f"{folder} holds catalogue version {theirs[0]} ({theirs[1]}); this llmv2x "
                f"builds version {CATALOGUE_VERSION} ({digest}): use a new folder"
            )
        return folder
    if folder.is_dir() and any(folder.iterdir()):
        raise LlmV2xError(
            f"{folder} has files but no library.json: not a library folder; use a new or "
            "empty folder"
        )
    if not create:
        raise LlmV2xError(f"{folder}: no library here (no library.json)")
    folder.mkdir(parents=True, exist_ok=True)
    text = {
        "format": LIBRARY_FORMAT,
        "catalogue_version": CATALOGUE_VERSION,
        "catalogue_digest": digest,
        "problems": len(CATALOGUE),
    }
    write_atomic(meta, json.dumps(text, indent=1) + "\n")
    return folder


def build(
    folder: str | Path,
    only: str | None = None,
    stages: Sequence[str] = STAGES,
    time_limit: float = DEFAULT_TIME_LIMIT_S,
    workers: int = 1,
    progress: Progress | None = None,
) -> BuildReport:
    """Build the library (or the problems matching ``only``) into ``folder``; resumable.

    Parameters
    ----------
    folder : the library folder (created if missing; see ``open_library``).
    only : shell glob on problem names (None: every problem).
    stages : which stages to run (``STAGES``); finished ones are skipped.
    time_limit : seconds of the ``scip`` and ``gurobi`` stages.
    workers : problems built at once (processes; 1: in this process).
    progress : called with one line per stage run.

    Returns
    -------
    BuildReport; ``index.csv`` in ``folder`` is rewritten from the markers at the end.
    """
    if not time_limit > 0:
        raise SettingsError(f"--time-limit: {time_limit} must be positive")
    if workers < 1:
        raise SettingsError(f"--workers: {workers} must be at least 1")
    stages = parse_stages(stages)
    problems = select(only)
    folder = open_library(folder)
    t0 = time.perf_counter()
    report = BuildReport(folder)
    jobs = [(folder, p.name, stages, float(time_limit)) for p in problems]
    if workers == 1:
        outcomes = (build_problem(*job, progress=progress) for job in jobs)
        for name, ran, skipped, failed in outcomes:
            _note(report, name, ran, skipped, failed)
    else:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            futures = [pool.submit(build_problem, *job) for job in jobs]
            for fut in futures:
                name, ran, skipped, failed = fut.result()
                if progress:
                    for stage in ran:
                        progress(f"{name}: {stage} done")
                    for stage, why in failed.items():
                        progress(f"{name}: {stage} failed: {why}")
                _note(report, name, ran, skipped, failed)
    write_library_index(folder)
    report.seconds = time.perf_counter() - t0
    return report


def _note(report: BuildReport, name: str, ran: list, skipped: list, failed: dict) -> None:
    report.ran[name], report.skipped[name] = ran, skipped
    if failed:
        report.failed[name] = failed


def write_library_index(folder: Path) -> Path:
    """Rewrite ``folder/index.csv``: one row per problem with at least one finished stage."""
    from llmv2x.library.index import index_row, write_index

    rows = []
    for p in CATALOGUE:
        markers = read_markers(folder, p.name)
        if markers:
            rows.append(index_row(p, markers))
    path = folder / "index.csv"
    write_index(path, rows)
    return path


def build_problem(
    folder: Path,
    name: str,
    stages: Sequence[str],
    time_limit: float,
    progress: Progress | None = None,
) -> tuple[str, list[str], list[str], dict[str, str]]:
    """Run the unfinished ``stages`` of problem ``name``; (name, ran, skipped, failed)."""
    problem = by_name()[name]
    pdir = folder / name
    pdir.mkdir(exist_ok=True)
    instance = problem.instance()
    ran: list[str] = []
    skipped: list[str] = []
    failed: dict[str, str] = {}
    for stage in stages:
        markers = read_markers(folder, name)
        if not _stale(problem, instance, stage, markers, time_limit):
            skipped.append(stage)
            continue
        t = time.perf_counter()
        try:
            marker = RUN[stage](problem, instance, pdir, time_limit, markers)
        except Exception as exc:  # noqa: BLE001 - one problem's failure must not stop the build
            lines = str(exc).strip().splitlines()
            failed[stage] = f"{type(exc).__name__}: {lines[0] if lines else ''}"
            if progress:
                progress(f"{name}: {stage} failed: {failed[stage]}")
            continue
        marker["stage_seconds"] = round(time.perf_counter() - t, 3)
        write_atomic(marker_path(folder, name, stage), json.dumps(marker, indent=1) + "\n")
        ran.append(stage)
        if progress:
            progress(
                f"{name}: {stage} {marker.get('status', 'done')} ({marker['stage_seconds']:.1f} s)"
            )
    return name, ran, skipped, failed


def _stale(
    problem: LibraryProblem,
    instance: Any,
    stage: str,
    markers: dict[str, dict[str, Any]],
    time_limit: float,
) -> bool:
    """True when ``stage`` must run: no marker, another time limit, or a certificate
    short of a proven optimum that ``exact`` (newly accepting the variant) or changed minlp
    stages can improve."""
    marker = markers.get(stage)
    if marker is None:
        return True
    if stage in MINLP_STAGES:
        return marker.get("time_limit") != time_limit
    if stage == "certify" and marker.get("status") != "optimal":
        exact_ran = marker.get("exact", marker.get("source") == "exact")
        if marker.get("based_on") != based_on(markers):
            return True  # the minlp stages changed: their points and bounds may be better
        return not exact_ran and exact_accepts(problem, instance)
    return False


def cpu_count() -> int:
    """Cores this process may use (for the report)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1
