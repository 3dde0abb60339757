"""What the command line writes: result summaries and whole-or-nothing files (docs/cli.md)."""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path


def _write_atomic(path: str | Path, text: str) -> None:
    """Write a whole file or nothing (``llmv2x.jsonio.write_atomic``)."""
    from llmv2x.jsonio import write_atomic

    write_atomic(path, text)


def _probe(folder: Path, flag: str) -> None:
    """Create and remove a temporary file in ``folder``: the only test root cannot fool."""
    from llmv2x.errors import LlmV2xError

    if not os.access(folder, os.W_OK | os.X_OK):
        raise LlmV2xError(f"{flag}: folder {folder} is not writable")
    try:
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".llmv2x-probe-")
    except OSError as exc:
        raise LlmV2xError(f"{flag}: cannot write in folder {folder} ({exc.strerror})") from None
    os.close(fd)
    os.unlink(tmp)


def check_output_file(path: str | Path, flag: str = "-o") -> None:
    """Refuse, before any work, a file target that could not be written (docs/cli.md).

    The folder must exist and be writable, and the target must be a regular file or absent
    (writing renames a new file over it, which would replace a device or FIFO). Raises a
    one-line LlmV2xError naming ``flag``; nothing is written.
    """
    from llmv2x.errors import LlmV2xError

    path = Path(path)
    folder = path.parent
    if path.is_dir():
        raise LlmV2xError(f"{flag}: {path} is a folder, not a file")
    if path.exists() and not path.is_file():
        raise LlmV2xError(f"{flag}: {path} is not a regular file (a device, FIFO or socket)")
    if not folder.exists():
        raise LlmV2xError(f"{flag}: folder {folder} does not exist")
    if not folder.is_dir():
        raise LlmV2xError(f"{flag}: {folder} is not a folder")
    _probe(folder, flag)


def check_output_dir(path: str | Path, flag: str = "-o") -> None:
    """Refuse, before any work, an output folder that could not be created or written.

    A missing folder is fine when its nearest existing ancestor is a writable folder (the
    command creates it); a file in the way is refused.
    """
    from llmv2x.errors import LlmV2xError

    path = Path(path)
    probe = path
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if not probe.is_dir():
        raise LlmV2xError(f"{flag}: {probe} is a file, not a folder")
    _probe(probe, flag)


@contextlib.contextmanager
def results_only_on_stdout() -> Iterator[None]:
    """While solving, send everything written to stdout (Python or a C solver) to stderr.

    stdout then carries only what the command prints afterwards: its results. Solver logs
    shown with ``-v`` land on stderr.
    """
    sys.stdout.flush()
    try:
        saved: int | None = os.dup(1)
        os.dup2(2, 1)
    except OSError:  # no real file descriptors (an embedding host): Python-level only
        saved = None
    # with real descriptors, sys.stdout stays the object on fd 1 (now stderr's file): Pyomo's
    # tee of a backend log captures fd 1 and 2 and must not be handed sys.stderr itself
    redirect = contextlib.redirect_stdout(sys.stderr) if saved is None else contextlib.nullcontext()
    try:
        with redirect:
            yield
    finally:
        sys.stdout.flush()
        _flush_c_stdio()
        if saved is not None:
            os.dup2(saved, 1)
            os.close(saved)


def _flush_c_stdio() -> None:
    """fflush(NULL): C solvers' buffered stdout goes out before stdout is restored."""
    try:
        import ctypes

        ctypes.CDLL(None).fflush(None)
    except (OSError, AttributeError):
        pass


def summary(inst, res) -> str:
    """A readable multi-line summary of a result."""
    lines = [
        f"instance {inst.name}: {inst.n_vehicles} vehicles, {inst.n_rsus} RSUs, "
        f"{inst.layers} layers",
        f"method {res.method} ({res.objective_variant}, omega_t={res.omega_t:g}): "
        f"status {res.status}, {res.iterations} iterations, {res.solve_time_s:.3f} s",
    ]
    if res.solvers:
        lines.append("solvers: " + ", ".join(f"{k}={v}" for k, v in res.solvers.items()))
    if res.message:
        lines.append(f"note: {res.message}")
    if res.allocation is None:
        return "\n".join(lines)
    lb = "n/a" if res.lower_bound is None else f"{res.lower_bound:.9g}"
    lines.append(f"objective {res.objective:.9g}   proven lower bound {lb}")
    a = res.allocation
    lines.append(" n  rsu alpha     p_W     b_MHz  fV_GHz  fR_GHz")
    rsu = inst.association if a.association is None else a.association
    for n in range(inst.n_vehicles if inst.n_vehicles <= 40 else 40):
        lines.append(
            f"{n:2d} {int(rsu[n]):4d} {int(round(a.alpha[n])):5d} "
            f"{a.p_w[n]:7.3f} {a.b_hz[n] / 1e6:9.4f} {a.f_vehicle_hz[n] / 1e9:7.4f} "
            f"{a.f_rsu_hz[n] / 1e9:7.4f}"
        )
    if inst.n_vehicles > 40:
        lines.append(f"... ({inst.n_vehicles - 40} more vehicles)")
    lines.append("metrics: " + ", ".join(f"{k}={v:.6g}" for k, v in res.metrics.items()))
    return "\n".join(lines)
