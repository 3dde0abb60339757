"""Task runners that kill their own worker process, for the sweep's fault tests.

They live in a module of their own so that spawned pool workers can import them. Each one
solves the task for real with ``run_task`` when it does not kill the worker.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any

from llmv2x.experiments.sweep import Task, run_task


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def kill_once(task: Task, victim: tuple, marker: str) -> dict[str, Any]:
    """Kill the worker the first time ``victim`` (a task key) is solved, then solve it."""
    if task.key == victim and not Path(marker).exists():
        Path(marker).touch()
        _die()
    return run_task(task)


def kill_always(task: Task, victim: tuple) -> dict[str, Any]:
    """Kill the worker every time ``victim`` is solved; solve every other task."""
    if task.key == victim:
        with open(os.environ["LLMV2X_FAULT_LOG"], "a") as fh:
            fh.write("killed\n")
        _die()
    return run_task(task)
