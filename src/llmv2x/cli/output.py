"""What the command line writes: result summaries and whole-or-nothing files (docs/cli.md)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def _write_atomic(path: str | Path, text: str) -> None:
    """Write a whole file or nothing: a temporary file in the same folder, then rename."""
    path = Path(path)
    if path.parent and not path.parent.exists():
        from llmv2x.errors import LlmV2xError

        raise LlmV2xError(f"{path}: folder {path.parent} does not exist")
    fd, tmp = tempfile.mkstemp(dir=path.parent or ".", prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


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
    for n in range(inst.n_vehicles if inst.n_vehicles <= 40 else 40):
        lines.append(
            f"{n:2d} {int(inst.association[n]):4d} {int(round(a.alpha[n])):5d} "
            f"{a.p_w[n]:7.3f} {a.b_hz[n] / 1e6:9.4f} {a.f_vehicle_hz[n] / 1e9:7.4f} "
            f"{a.f_rsu_hz[n] / 1e9:7.4f}"
        )
    if inst.n_vehicles > 40:
        lines.append(f"... ({inst.n_vehicles - 40} more vehicles)")
    lines.append("metrics: " + ", ".join(f"{k}={v:.6g}" for k, v in res.metrics.items()))
    return "\n".join(lines)
