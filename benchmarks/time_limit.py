"""How far each method overshoots its time limit: wall time of the solve divided by the limit.

Run: ``.venv/bin/python benchmarks/time_limit.py [--limits 1 2 5] [--instances medium large]
[--methods ao exact minlp:scip ...] [-o FILE]``.

``time_limit`` is a wall-clock limit on the whole solve, for every method (docs/algorithms.md,
"Time limit"). For every method (``minlp`` once per backend, ``scip`` and ``mindtpy``), every
instance and every limit, one ``llmv2x.solve(instance, method=..., time_limit=L)`` call is
timed in a child process of its own. Before timing, the child loads the instance and solves
``small-seed0`` once with the same method, so the figure excludes Python's module imports and
the first load of the shared libraries (which a long-running program pays once), but
includes everything the method does: building models, every solver call, rounding,
polishing, verifying the result. The deadline starts when the method starts.

Reported per run: wall time, the ratio wall / limit (target: below about 1.5 for limits of
1 s and more), the status (``time_limit`` when the limit stopped the method), whether a
verified point came back, the objective, the process's CPU time and the machine's
one-minute load average at the end (the machine is shared: a load above its 2 cores
stretches wall time). A child that runs past ``10 * limit + 120`` s is killed and recorded.

Results are printed and written as Markdown to ``benchmarks/results/time_limit.md``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_METHODS = (
    "ao",
    "exact",
    "minlp:scip",
    "minlp:mindtpy",
    "rlor",
    "rrlo",
    "local",
    "offload",
    "equal",
    "initial",
)
DEFAULT_INSTANCES = ("medium", "large")
DEFAULT_LIMITS = (1.0, 2.0, 5.0)
TARGET_RATIO = 1.5
WARM_UP_INSTANCE = "small-seed0"


def _kwargs(method: str) -> tuple[str, dict[str, Any]]:
    """``minlp:scip`` -> (``minlp``, {minlp_backend: scip}); seeds for the random baselines."""
    name, _, backend = method.partition(":")
    kw: dict[str, Any] = {"seed": 0} if name in ("rlor", "rrlo") else {}
    if backend:
        kw["minlp_backend"] = backend
    return name, kw


def child(method: str, instance: str, limit: float) -> dict[str, Any]:
    """One timed solve (run in a fresh process); returns the figures as a dict."""
    import warnings

    warnings.filterwarnings("ignore")
    import llmv2x

    name, kw = _kwargs(method)
    inst = llmv2x.load_instance(ROOT / "instances" / f"{instance}.json")
    llmv2x.solve(ROOT / "instances" / f"{WARM_UP_INSTANCE}.json", method=name, time_limit=5, **kw)
    t0, c0 = time.perf_counter(), time.process_time()
    res = llmv2x.solve(inst, method=name, time_limit=limit, **kw)
    wall = time.perf_counter() - t0
    return {
        "wall_s": wall,
        "cpu_s": time.process_time() - c0,
        "status": res.status,
        "point": res.allocation is not None,
        "objective": res.objective,
        "message": res.message[:120],
    }


def run_one(method: str, instance: str, limit: float) -> dict[str, Any]:
    """Run ``child`` in a subprocess; a crash or a hang becomes a row with its reason."""
    row: dict[str, Any] = {"instance": instance, "method": method, "limit_s": limit}
    cmd = [sys.executable, __file__, "--child", method, instance, str(limit)]
    try:
        proc = subprocess.run(
            cmd, capture_output=True, text=True, timeout=10 * limit + 120, cwd=ROOT
        )
        lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
        if proc.returncode != 0 or not lines:
            tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
            row.update(status="crashed", message=tail[:120])
        else:
            row.update(json.loads(lines[-1]))
    except subprocess.TimeoutExpired:
        row.update(status="killed", wall_s=10 * limit + 120, message="child killed")
    if "wall_s" in row:
        row["ratio"] = row["wall_s"] / limit
    row["load1"] = os.getloadavg()[0]
    return row


def to_markdown(df: pd.DataFrame, argv: list[str]) -> str:
    """The results page: how it was run, the table, the worst ratio per method."""
    cols = ["instance", "method", "limit_s", "wall_s", "ratio", "status", "point", "objective"]
    cols += ["cpu_s", "load1", "message"]
    table = df.reindex(columns=cols)

    def fmt(v: Any) -> str:
        if v is None or (isinstance(v, float) and v != v):
            return ""
        if isinstance(v, float):
            return f"{v:.3g}" if abs(v) < 1e4 else f"{v:.6g}"
        return str(v).replace("|", "\\|")

    lines = [
        "# Time limit: wall time of the whole solve / limit",
        "",
        f"Run {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC on {platform.node()} "
        f"({os.cpu_count()} cores, Python {platform.python_version()}), command "
        f"`.venv/bin/python benchmarks/time_limit.py {' '.join(argv)}`.",
        "Each run: a fresh process, warmed up on small-seed0 with the same method, then "
        "`llmv2x.solve(instance, method, time_limit=limit)` timed end to end. "
        f"Target: ratio below {TARGET_RATIO} for limits of 1 s and more. `load1` is the "
        "machine's one-minute load average (2 cores, shared with other jobs).",
        "",
        "| " + " | ".join(cols) + " |",
        "| " + " | ".join("---" for _ in cols) + " |",
    ]
    for row in table.itertuples(index=False):
        lines.append("| " + " | ".join(fmt(v) for v in row) + " |")
    worst = df.groupby("method")["ratio"].max().sort_values(ascending=False)
    lines += ["", "Worst ratio per method:", ""]
    lines += [f"- {m}: {r:.2f}" for m, r in worst.items()]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Command line: parent (all runs, table, file) or ``--child`` (one run, JSON line)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--child"]:
        print(json.dumps(child(argv[1], argv[2], float(argv[3]))))
        return 0
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--limits", type=float, nargs="+", default=list(DEFAULT_LIMITS))
    ap.add_argument("--instances", nargs="+", default=list(DEFAULT_INSTANCES))
    ap.add_argument("--methods", nargs="+", default=list(DEFAULT_METHODS))
    ap.add_argument("-o", "--output", default=str(ROOT / "benchmarks/results/time_limit.md"))
    args = ap.parse_args(argv)
    rows = []
    for instance in args.instances:
        for method in args.methods:
            for limit in args.limits:
                row = run_one(method, instance, limit)
                rows.append(row)
                print(
                    f"{instance:8s} {method:14s} limit {limit:4g} s  wall "
                    f"{row.get('wall_s', float('nan')):6.2f} s  ratio "
                    f"{row.get('ratio', float('nan')):5.2f}  {row.get('status')}  "
                    f"load {row['load1']:.1f}",
                    flush=True,
                )
    df = pd.DataFrame(rows)
    out = Path(args.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(to_markdown(df, argv))
    print(f"written {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
