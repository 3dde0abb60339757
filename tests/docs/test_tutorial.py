"""The tutorial notebook runs top to bottom, and its stored outputs come from such a run.

docs/tutorial.ipynb is committed *with* its outputs, so the site shows plots and tables without
executing anything at build time. This test executes a fresh copy with the project's own
interpreter and fails on any error. Set ``LLMV2X_UPDATE_TUTORIAL=1`` to write the executed
notebook back (after changing the notebook or the code it shows).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

NOTEBOOK = Path(__file__).resolve().parents[2] / "docs" / "tutorial.ipynb"
#: Per-cell kernel timeout: a guard against a hung cell, not a speed test (wall times depend on
#: the machine; the tutorial's run time on the 2-core reference machine is measured, not asserted).
CELL_TIMEOUT_S = 180


def _execute(nb, kernel_dir: Path):
    """Run ``nb`` on a kernel started as ``sys.executable -m ipykernel_launcher``: this venv,
    whatever kernel specs (or none) the machine has installed."""
    import json

    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import KernelManager

    spec = kernel_dir / "llmv2x-venv"
    spec.mkdir(parents=True)
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    spec.joinpath("kernel.json").write_text(
        json.dumps({"argv": argv, "display_name": "llmv2x venv", "language": "python"})
    )
    km = KernelManager(
        kernel_name="llmv2x-venv",
        kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(kernel_dir)]),
    )
    client = nbclient.NotebookClient(
        nb,
        km=km,
        timeout=CELL_TIMEOUT_S,
        allow_errors=False,
        resources={"metadata": {"path": str(NOTEBOOK.parent)}},
    )
    client.execute()
    return nb


def _code_cells(nb):
    return [c for c in nb.cells if c.cell_type == "code"]


def test_tutorial_runs_top_to_bottom_without_error(tmp_path):
    nb = nbformat.read(NOTEBOOK, as_version=4)
    _execute(nb, tmp_path / "kernels")
    errors = [o for c in _code_cells(nb) for o in c.get("outputs", []) if o.output_type == "error"]
    assert not errors
    if os.environ.get("LLMV2X_UPDATE_TUTORIAL"):
        nb.metadata["kernelspec"] = {
            "name": "python3",
            "display_name": "Python 3",
            "language": "python",
        }
        nbformat.write(nb, NOTEBOOK)


def test_stored_outputs_come_from_one_clean_run():
    """Cells were executed once each, in order, from a fresh kernel, without errors."""
    nb = nbformat.read(NOTEBOOK, as_version=4)
    cells = _code_cells(nb)
    counts = [c.get("execution_count") for c in cells]
    assert counts == list(range(1, len(cells) + 1)), (
        "stored outputs are stale or partial: re-run with LLMV2X_UPDATE_TUTORIAL=1 "
        "pytest tests/docs/test_tutorial.py"
    )
    for c in cells:
        for out in c.get("outputs", []):
            assert out.output_type != "error", c.source[:80]
            assert out.get("name") != "stderr" or "Warning" not in "".join(out.get("text", "")), (
                f"a warning was stored with the outputs: {c.source[:80]}"
            )


def test_every_step_of_the_issue_is_covered():
    """The notebook shows the calls the tutorial promises (names checked against the code)."""
    src = "\n".join(c.source for c in nbformat.read(NOTEBOOK, as_version=4).cells)
    for needle in (
        "generate_instance(",
        "build_p1(",
        'method="ao"',
        'trace["sqp"]',
        'trace["fractional"]',
        "minlp_backend=backend, time_limit=10",
        '"scip", "mindtpy"',
        'method="exact"',
        "qp_backend=qp",
        'objective="latency"',
    ):
        assert needle in src, needle
