"""AO vs direct MINLP backends vs the certified optimum: time, gap, bounds, performance profile.

Run (from the repository root, after ``make setup``)::

    .venv/bin/python benchmarks/minlp_vs_ao.py                  # the full study, 30 s per run
    .venv/bin/python benchmarks/minlp_vs_ao.py --quick          # smoke run: 3 instances, 5 s
    .venv/bin/python benchmarks/minlp_vs_ao.py --time-limit 60 --instances \\
        instances/paper-seed0.json gen:50:12:0 --runs exact,ao,scip:strong

Instances (default): ``instances/paper-seed0..9`` (N = 20, M = 5), ``instances/small-seed0..4``
(N = 6, M = 2) and generated ``gen:N:M:SEED`` with N = 50, 100, 200 and M = N // 4 (the
vehicles-per-RSU ratio of the paper instances), seed 0.

Runs (default): ``exact`` (certified optimum), ``ao`` (default recipe), ``ao:paper`` (AO with
the paper's recipe), and the MINLP method with ``scip:plain``, ``scip:strong``,
``gurobi:plain``, ``gurobi:strong`` and ``mindtpy:plain``. Every MINLP run gets the same
wall-clock limit (``--time-limit``; AO and exact have none, they stop on their own).
Gurobi's pip licence refuses the larger models: those runs are ``error`` rows whose message
starts with "licence-limited" and are counted in the summary.

Each run is made in a forked child process with a hard timeout (``--hard-timeout`` + 4 x
the limit), so a hung or crashing solver costs one row, not the study. The child first solves
a 3-vehicle warm-up instance with the same run (imports, shared libraries, Pyomo plugins), then
the timed one; ``--no-warm-up`` skips that. Every finished row is appended to the CSV at
once, and ``--resume`` skips the (instance, run) pairs already in it.

Outputs in ``--out`` (default ``benchmarks/results``), stem ``minlp_vs_ao`` (``--quick``:
``minlp_vs_ao_quick``):

* ``STEM.csv``: one row per (instance, run): status, verified objective, proven bound,
  compute and communication parts, gaps to the exact optimum (total and per part), wall
  time, load average, solver versions, message;
* ``STEM.md``: command, settings, machine, solver versions, summary per run, gap and time
  per instance, and the full table;
* ``STEM_profile.png``: Dolan-More performance profiles of wall time. A run counts as solving
  an instance when its verified objective is within ``--tol`` (relative) of exact's optimum
  (left panel), or within 1e-3 (right panel). AO and MindtPy are drawn dashed and labelled
  heuristics: they have no dual bound. SCIP and Gurobi are global solvers with proven bounds.
  exact is the reference that defines "solved" and is not drawn.
"""

from __future__ import annotations

import argparse
import csv
import importlib.metadata
import math
import multiprocessing as mp
import os
import platform
import sys
import time
import traceback
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from llmv2x.errors import LlmV2xError
from llmv2x.instances import Instance, generate_instance, load_instance
from llmv2x.settings import SolveSettings
from llmv2x.solvers.methods import available_methods, get_method
from llmv2x.solvers.registry import availability, load_backend

GENERATED = [f"gen:{n}:{n // 4}:0" for n in (50, 100, 200)]
DEFAULT_INSTANCES = (
    [f"instances/paper-seed{s}.json" for s in range(10)]
    + [f"instances/small-seed{s}.json" for s in range(5)]
    + GENERATED
)
QUICK_INSTANCES = ["instances/small-seed0.json", "instances/paper-seed0.json", GENERATED[0]]
DEFAULT_RUNS = (
    "exact",
    "ao",
    "ao:paper",
    "scip:plain",
    "scip:strong",
    "gurobi:plain",
    "gurobi:strong",
    "mindtpy:plain",
)
#: run -> label used in tables and the plot
LABELS = {
    "exact": "exact",
    "ao": "AO",
    "ao:paper": "AO (paper recipe)",
    "scip:plain": "SCIP plain",
    "scip:strong": "SCIP strong",
    "gurobi:plain": "Gurobi plain",
    "gurobi:strong": "Gurobi strong",
    "mindtpy:plain": "MindtPy plain",
    "mindtpy:strong": "MindtPy strong",
}
KIND = {
    "exact": "certified",
    "ao": "heuristic",
    "mindtpy": "heuristic",
    "bonmin": "heuristic",
    "knitro": "heuristic",
    "scip": "global",
    "gurobi": "global",
    "couenne": "global",
    "baron": "global",
}
COLUMNS = [
    "instance",
    "N",
    "M",
    "run",
    "label",
    "kind",
    "status",
    "objective",
    "bound",
    "compute",
    "comm",
    "optimum",
    "gap_to_exact",
    "compute_gap",
    "comm_gap",
    "bound_below_opt",
    "time_s",
    "solve_time_s",
    "load1",
    "solvers",
    "message",
]


def instance_from(spec: str) -> Instance:
    """A file, a built-in name, or ``gen:N:M:SEED`` (default scenario)."""
    if spec.startswith("gen:"):
        n, m, seed = (int(x) for x in spec.split(":")[1:])
        return generate_instance(seed=seed, vehicles=n, rsus=m, name=f"gen-N{n}-M{m}-s{seed}")
    return load_instance(spec)


def settings_for(run: str, time_limit: float) -> tuple[str, SolveSettings]:
    """The method name and the settings of one run label."""
    if run == "exact":
        return "exact", SolveSettings(time_limit=max(time_limit, 60.0))
    if run == "ao":
        return "ao", SolveSettings()
    if run.startswith("ao:"):
        return "ao", SolveSettings(options={"recipe": run.split(":")[1]})
    backend, formulation = run.split(":")
    return "minlp", SolveSettings(
        time_limit=time_limit, minlp_backend=backend, options={"formulation": formulation}
    )


def solve_row(inst: Instance, run: str, time_limit: float) -> dict[str, Any]:
    """Solve ``inst`` with one run; the row's solver fields (no gaps yet)."""
    from llmv2x.models.evaluator import evaluate

    method, settings = settings_for(run, time_limit)
    t0 = time.perf_counter()
    try:
        res = get_method(method)(inst, settings)
        wall = time.perf_counter() - t0
        comp = comm = math.nan
        if res.allocation is not None:
            ev = evaluate(inst, res.allocation, settings)
            comp, comm = ev.compute_part, ev.communication_part
        row = {
            "status": res.status,
            "objective": res.objective,
            "bound": res.lower_bound,
            "compute": comp,
            "comm": comm,
            "solve_time_s": res.solve_time_s,
            "message": res.message,
            "solvers": "; ".join(
                v for k, v in res.solvers.items() if k in ("qp", "nlp", "minlp", "formulation")
            ),
        }
    except LlmV2xError as exc:
        wall = time.perf_counter() - t0
        row = {"status": "error", "message": f"{type(exc).__name__}: {exc}"}
    row["time_s"] = wall
    return row


#: Warm-up instance: solved once with the same run in the child before the timed solve.
WARM_UP = {"vehicles": 3, "rsus": 1, "seed": 0}
#: Time limit of the warm-up solve (s).
WARM_UP_LIMIT_S = 2.0


def _child(inst: Instance, run: str, time_limit: float, conn: Any, warm: bool) -> None:
    try:
        if warm:
            # imports, shared libraries and Pyomo's plugin registration are paid here, so the
            # timed solve measures the method, not Python's start-up (as benchmarks/ao.py)
            solve_row(generate_instance(name="warm-up", **WARM_UP), run, WARM_UP_LIMIT_S)
        conn.send(solve_row(inst, run, time_limit))
    except BaseException as exc:  # noqa: BLE001 - reported as an error row
        tb = traceback.format_exc().strip().splitlines()[-1]
        conn.send({"status": "error", "message": f"crash: {type(exc).__name__}: {tb}"})
    finally:
        conn.close()


def run_isolated(
    inst: Instance, run: str, time_limit: float, hard: float, warm: bool = True
) -> dict[str, Any]:
    """``solve_row`` in a forked child (after a warm-up solve unless ``warm`` is false);
    an ``error`` row if it crashes or passes ``hard`` s."""
    ctx = mp.get_context("fork")
    recv, send = ctx.Pipe(duplex=False)
    t0 = time.perf_counter()
    proc = ctx.Process(target=_child, args=(inst, run, time_limit, send, warm))
    proc.start()
    send.close()
    row: dict[str, Any] | None = None
    if recv.poll(hard):
        try:
            row = recv.recv()
        except EOFError:
            row = None
    proc.join(5)
    if proc.is_alive():
        proc.kill()
        proc.join()
    if row is None:
        why = f"killed after {hard:.0f} s" if time.perf_counter() - t0 >= hard else "child died"
        row = {
            "status": "error",
            "message": f"crash: {why} (exit code {proc.exitcode})",
            "time_s": time.perf_counter() - t0,
        }
    return row


def add_gaps(df: pd.DataFrame) -> pd.DataFrame:
    """Optimum, gaps to it (total, compute, communication) and how far bounds lie below it."""
    df = df.copy()
    ex = df[(df["run"] == "exact") & (df["status"] == "optimal")].drop_duplicates("instance")
    ex = ex.set_index("instance")
    df["optimum"] = df["instance"].map(ex["objective"])
    opt_comp = df["instance"].map(ex["compute"])
    opt_comm = df["instance"].map(ex["comm"])
    df["gap_to_exact"] = (df["objective"] - df["optimum"]) / df["optimum"].abs()
    df["compute_gap"] = (df["compute"] - opt_comp) / opt_comp.abs()
    df["comm_gap"] = (df["comm"] - opt_comm) / opt_comm.abs()
    df["bound_below_opt"] = (df["optimum"] - df["bound"]) / df["optimum"].abs()
    return df


def performance_profile(df: pd.DataFrame, path: Path, tols: tuple[float, ...]) -> None:
    """Dolan-More profiles of wall time; a run solves an instance within tol of exact."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    runs = [r for r in dict.fromkeys(df["run"]) if r != "exact"]
    t = df.pivot_table(index="instance", columns="run", values="time_s", aggfunc="first")
    gap = df.pivot_table(index="instance", columns="run", values="gap_to_exact", aggfunc="first")
    gap = gap.reindex(columns=t.columns)
    n_inst = len(t)
    fig, axes = plt.subplots(1, len(tols), figsize=(6.2 * len(tols), 5.4), sharey=True)
    axes = np.atleast_1d(axes)
    styles = {"heuristic": "--", "global": "-"}
    for ax, tol in zip(axes, tols, strict=True):
        solved = (gap[runs] <= tol) & gap[runs].notna()
        times = t[runs].where(solved)
        ratio = times.div(times.min(axis=1), axis=0)
        finite = ratio.stack()
        top = max(2.0, float(finite.max()) * 1.5) if len(finite) else 2.0
        taus = np.logspace(0, math.log2(top), 800, base=2)
        for r in runs:
            kind = KIND.get(r.split(":")[0], "heuristic")
            rho = [(ratio[r] <= tau).sum() / n_inst for tau in taus]
            tag = "heuristic, no dual bound" if kind == "heuristic" else "global, proven bound"
            ax.step(
                np.log2(taus),
                rho,
                where="post",
                ls=styles.get(kind, "-"),
                lw=1.8,
                label=f"{LABELS.get(r, r)} ({tag})",
            )
        ax.set_xlabel(r"$\log_2$(wall time / best wall time on the instance)")
        ax.set_title(f"solved = objective within {tol:g} of exact's optimum", fontsize=10)
        ax.set_ylim(0, 1.02)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel(f"fraction of the {n_inst} instances")
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, fontsize=8, loc="lower center", ncol=3, frameon=False)
    fig.suptitle(
        "Performance profile of wall time: AO and MindtPy (dashed: heuristics, no dual bound) "
        "vs SCIP and Gurobi (solid: global solvers)",
        fontsize=10,
    )
    fig.tight_layout(rect=(0, 0.14, 1, 1))
    fig.savefig(path, dpi=130)
    plt.close(fig)


def solver_versions() -> list[str]:
    """Versions of the packages and backends the study uses."""
    out = [f"llmv2x {importlib.metadata.version('llmv2x')}"]
    for pkg in ("pyomo", "numpy", "scipy"):
        try:
            out.append(f"{pkg} {importlib.metadata.version(pkg)}")
        except importlib.metadata.PackageNotFoundError:
            pass
    for name, kind in (("scip", "minlp"), ("gurobi", "minlp"), ("highs", "qp"), ("cyipopt", "nlp")):
        try:
            out.append(load_backend(name, kind).version())
        except Exception:  # noqa: BLE001 - versions are informative only
            pass
    return out


def git_state() -> str:
    """``commit`` of the working tree, ``+ local changes`` when it differs from it."""
    import subprocess

    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no", "src"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + (" + local changes in src/" if dirty else "")


def _fmt(v: Any, digits: int = 3) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return ""
    if isinstance(v, float):
        if v == 0:
            return "0"
        return f"{v:.{digits}e}" if abs(v) < 1e-2 or abs(v) >= 1e5 else f"{v:.{digits + 3}g}"
    return str(v).replace("|", "\\|")


def md_table(df: pd.DataFrame, digits: int = 3) -> str:
    """A GitHub Markdown table (no extra dependency)."""
    head = "| " + " | ".join(str(c) for c in df.columns) + " |"
    sep = "| " + " | ".join("---" for _ in df.columns) + " |"
    body = ["| " + " | ".join(_fmt(v, digits) for v in r) + " |" for r in df.itertuples(False)]
    return "\n".join([head, sep, *body])


def summary(df: pd.DataFrame, tol: float) -> pd.DataFrame:
    """One row per run: statuses, solved counts, gaps, times, bound quality."""
    rows = []
    for run, g in df.groupby("run", sort=False):
        ok = g["objective"].notna()
        gaps = g.loc[ok, "gap_to_exact"]
        has_bound = g["bound"].notna()
        rows.append(
            {
                "run": LABELS.get(run, run),
                "kind": g["kind"].iloc[0],
                "instances": len(g),
                "statuses": ", ".join(f"{k} {v}" for k, v in g["status"].value_counts().items()),
                "licence-limited": int(
                    g["message"].fillna("").str.contains("licence-limited").sum()
                ),
                f"within {tol:g}": int((gaps <= tol).sum()),
                "median gap": gaps.median() if len(gaps) else math.nan,
                "max gap": gaps.max() if len(gaps) else math.nan,
                "max compute gap": g.loc[ok, "compute_gap"].max() if ok.any() else math.nan,
                "max comm gap": g.loc[ok, "comm_gap"].max() if ok.any() else math.nan,
                "median time_s": g["time_s"].median(),
                "max time_s": g["time_s"].max(),
                "with bound": int(has_bound.sum()),
                "median bound below opt": g.loc[has_bound, "bound_below_opt"].median()
                if has_bound.any()
                else math.nan,
                "max bound below opt": g.loc[has_bound, "bound_below_opt"].max()
                if has_bound.any()
                else math.nan,
            }
        )
    return pd.DataFrame(rows)


def pivot(df: pd.DataFrame, value: str) -> pd.DataFrame:
    """Instances as rows, runs as columns."""
    order = list(dict.fromkeys(df["instance"]))
    runs = list(dict.fromkeys(df["run"]))
    p = df.pivot_table(index="instance", columns="run", values=value, aggfunc="first")
    p = p.reindex(index=order, columns=runs)
    p.columns = [LABELS.get(c, c) for c in p.columns]
    return p.reset_index()


def status_pivot(df: pd.DataFrame) -> pd.DataFrame:
    """Per instance and run: ``status gap time`` in one cell."""
    order = list(dict.fromkeys(df["instance"]))
    runs = list(dict.fromkeys(df["run"]))
    cells: dict[str, dict[str, str]] = {i: {} for i in order}
    for r in df.itertuples(False):
        gap = "" if not math.isfinite(r.gap_to_exact) else f" {_fmt(float(r.gap_to_exact), 1)}"
        note = " (licence)" if "licence-limited" in str(r.message) else ""
        cells[r.instance][LABELS.get(r.run, r.run)] = f"{r.status}{note}{gap}; {r.time_s:.1f} s"
    out = pd.DataFrame.from_dict(cells, orient="index")
    out = out.reindex(columns=[LABELS.get(c, c) for c in runs])
    out.index.name = "instance"
    return out.reset_index()


def write_report(
    df: pd.DataFrame, out: Path, stem: str, args: argparse.Namespace, meta: dict
) -> None:
    """The Markdown report and the profile plot from the rows so far."""
    df = add_gaps(df)
    # instances in order of first appearance, runs in the order of DEFAULT_RUNS (a resumed
    # study appends its rows at the end of the CSV)
    inst_rank = {name: i for i, name in enumerate(dict.fromkeys(df["instance"]))}
    run_rank = {name: i for i, name in enumerate(DEFAULT_RUNS)}
    key = df["instance"].map(inst_rank) * 1000 + df["run"].map(run_rank).fillna(999)
    df = df.assign(_key=key).sort_values("_key", kind="stable")[COLUMNS]
    df.to_csv(out / f"{stem}.csv", index=False)
    full = df.drop(columns=["solvers", "label", "optimum"]).copy()
    full["message"] = full["message"].fillna("").str.slice(0, 120)
    load_now = " / ".join(f"{x:.2f}" for x in os.getloadavg())
    loads = df["load1"].dropna()
    lines = [
        "# AO vs MINLP backends vs exact",
        "",
        f"Command: `{meta['command']}`  ",
        *([f"{meta['note']}  "] if meta.get("note") else []),
        f"Started {meta['started']}, last written {datetime.now().isoformat(timespec='seconds')}"
        f" ({len(df)} rows).  ",
        f"Machine: {platform.platform()}, Python {platform.python_version()}, "
        f"{os.cpu_count()} CPUs, shared with other jobs. Load average (1 min) at the start of "
        f"each run: median {loads.median():.2f}, range {loads.min():.2f}-{loads.max():.2f}; "
        f"now {load_now}.  ",
        f"Settings: omega_t 0.5, objective `paper`, gap 1e-6; wall-clock limit "
        f"{args.time_limit:g} s per MINLP run (SCIP, Gurobi, MindtPy); AO and exact stop on "
        "their own. Times are wall-clock seconds of the whole call (model build, solve, "
        "verification) in a forked process"
        + (
            " (cold: imports included).  "
            if args.no_warm_up
            else " that first solved a 3-vehicle warm-up instance with the same run, so "
            "imports and library loading are not counted.  "
        ),
        "Kinds: `exact` is the certified optimum; AO and MindtPy are heuristics (no dual "
        "bound); SCIP and Gurobi are global solvers (proven bound). gap = (objective - "
        "optimum) / optimum; compute_gap and comm_gap are the same on the compute part "
        "(alpha, frequencies) and the communication part (p, b); bound_below_opt = "
        "(optimum - bound) / optimum.  ",
        f"Code: git {meta.get('git', 'unknown')}. Versions: " + "; ".join(meta["versions"]),
        "",
        "## Summary per run",
        "",
        md_table(summary(df, args.tol)),
        "",
        "## Status, gap to exact and wall time per instance",
        "",
        md_table(status_pivot(df)),
        "",
        "## Gap to exact, compute part alone",
        "",
        md_table(pivot(df[df["objective"].notna()], "compute_gap"), 2),
        "",
        "## Proven bound below the optimum (global solvers)",
        "",
        md_table(pivot(df[df["kind"] == "global"], "bound_below_opt"), 2),
        "",
        "## All rows",
        "",
        md_table(full, 6),
        "",
    ]
    (out / f"{stem}.md").write_text("\n".join(lines))
    if "exact" in set(df["run"]) and df["gap_to_exact"].notna().any():
        performance_profile(df, out / f"{stem}_profile.png", (args.tol, 1e-3))


def main() -> None:
    """Run the study; append each row to the CSV; rewrite the report after each instance."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--instances", nargs="*", default=None)
    ap.add_argument("--runs", default=",".join(DEFAULT_RUNS))
    ap.add_argument("--time-limit", type=float, default=30.0, help="s per MINLP run")
    ap.add_argument("--tol", type=float, default=1e-4, help="relative gap counted as solved")
    ap.add_argument("--out", default="benchmarks/results")
    ap.add_argument("--quick", action="store_true", help="3 instances, 5 s limit")
    ap.add_argument("--resume", action="store_true", help="skip rows already in the CSV")
    ap.add_argument("--hard-timeout", type=float, default=120.0, help="extra s before a kill")
    ap.add_argument("--no-warm-up", action="store_true", help="time cold child processes")
    args = ap.parse_args()
    if args.quick:
        args.instances = args.instances or QUICK_INSTANCES
        if "--time-limit" not in " ".join(sys.argv):
            args.time_limit = 5.0
    args.instances = args.instances or DEFAULT_INSTANCES
    stem = "minlp_vs_ao_quick" if args.quick else "minlp_vs_ao"
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    runs = [r for r in args.runs.split(",") if r]
    methods = available_methods()
    meta = {
        "command": "python " + " ".join(sys.argv),
        "started": datetime.now().isoformat(timespec="seconds"),
        "versions": solver_versions(),
        "git": git_state(),
    }
    csv_path = out / f"{stem}.csv"
    done: set[tuple[str, str]] = set()
    rows: list[dict[str, Any]] = []
    if args.resume and csv_path.exists():
        old = pd.read_csv(csv_path)
        rows = old.to_dict("records")
        done = {(r["instance"], r["run"]) for r in rows}
        meta["note"] = (
            f"Resumed (`--resume`): {len(rows)} rows were read from the CSV of an earlier "
            "run (their load1 column is theirs); the others were solved by this command."
        )
    else:
        csv_path.unlink(missing_ok=True)
    hard = args.hard_timeout + 4 * args.time_limit + WARM_UP_LIMIT_S
    for spec in args.instances:
        inst = instance_from(spec)
        optimum = {r["run"]: r for r in rows if r["instance"] == inst.name}.get("exact")
        for run in runs:
            name = run.split(":")[0]
            method = "minlp" if name not in ("exact", "ao") else name
            if method not in methods or (method == "minlp" and not availability(name, "minlp")):
                print(f"skip {run}: not available here", flush=True)
                continue
            if (inst.name, run) in done:
                continue
            load1 = os.getloadavg()[0]
            row = run_isolated(inst, run, args.time_limit, hard, warm=not args.no_warm_up)
            row.update(
                instance=inst.name,
                N=inst.n_vehicles,
                M=inst.n_rsus,
                run=run,
                label=LABELS.get(run, run),
                kind=KIND.get(name, "heuristic"),
                load1=load1,
            )
            full = {c: row.get(c, math.nan) for c in COLUMNS}
            rows.append(full)
            if run == "exact":
                optimum = full
            with csv_path.open("a", newline="") as fh:  # partial results survive a crash
                w = csv.DictWriter(fh, fieldnames=COLUMNS)
                if fh.tell() == 0:
                    w.writeheader()
                w.writerow(full)
            gap = ""
            if optimum is not None and optimum.get("status") == "optimal":
                obj = full.get("objective")
                if obj is not None and isinstance(obj, float) and math.isfinite(obj):
                    gap = f"gap {(obj - optimum['objective']) / optimum['objective']:+.2e}"
            print(
                f"{inst.name:16s} {run:14s} {full['status']:10s} {full['objective']!s:>20.20s} "
                f"{gap:16s} {full['time_s']:8.2f} s  load {load1:.2f}  "
                f"{str(full['message'])[:60] if full['status'] == 'error' else ''}",
                flush=True,
            )
        write_report(pd.DataFrame(rows), out, stem, args, meta)
    print(f"wrote {out}/{stem}.csv, {stem}.md, {stem}_profile.png", flush=True)


if __name__ == "__main__":
    main()
