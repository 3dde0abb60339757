"""Certified bounds on the problem family: ours (exact) vs AO, MindtPy, SCIP and Gurobi.

Run (from the repository root, after ``make setup``)::

    .venv/bin/python benchmarks/bounds.py                 # the study (resumes its CSV)
    .venv/bin/python benchmarks/bounds.py --from-rows     # only the table and the plot
    .venv/bin/python benchmarks/bounds.py --quick         # smoke run: N = 6, 10 s

Families (M = 5 RSUs, ``generate_instance(seed, vehicles=N, rsus=5, ...)``, equality
budgets, omega_t 0.5, objective ``paper``):

* ``a``: deadlines (tightness 1.3) and energy budgets (1.05), fixed association;
* ``b``: association as a decision, no deadlines;
* ``c``: association as a decision with deadlines (tightness 1.3);

for N = 20, 50, 200, one instance (seed 0) per (family, N) unless ``--seeds`` says more.
Runs: ``exact`` (ours, certified), ``ao``, and the method ``minlp`` with MindtPy, SCIP and
Gurobi on the ``plain`` and ``strong`` formulations; every run gets the same wall-clock limit
(``--time-limit``, default 120 s). A method that does not solve a variant is a ``refused``
row carrying its one-line refusal; Gurobi's pip licence refuses models past its size limit
(``error`` rows, "licence-limited" in the message).

Each run is solved in a fresh (spawned) Python process with a hard timeout, so it uses the
code on disk at that moment and a hung solver costs one row. The time is the wall clock of
the method call alone (the child has imported everything first). Rows are appended to
``bounds.csv`` as they finish; a rerun skips the rows already there except ``refused`` ones
(solved again: a method may have learnt the variant since), and with ``--retry-crashes``
those whose child process died, and the runs listed in ``--redo``. The bound trajectories of
``exact`` (its ``trace["bound"]``) and of SCIP (an event handler,
``llmv2x.solvers.backends.scip_trace``) go to ``bounds_traces.csv``. ``bounds.md`` and
``docs/figures/bounds_over_time.png`` are written from the two CSVs.
"""

from __future__ import annotations

import argparse
import csv
import math
import multiprocessing as mp
import os
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bounds_report import compact, family_table, plot, vs_scip  # noqa: E402
from minlp_vs_ao import git_state, md_table, solver_versions  # noqa: E402

FAMILIES = {
    "a": ("deadlines + energy budgets, fixed association", 1.3, 1.05, "fixed"),
    "b": ("association decision, no deadlines", None, None, "decision"),
    "c": ("association decision with deadlines", 1.3, None, "decision"),
}
RUNS = (
    "exact",
    "ao",
    "scip:plain",
    "scip:strong",
    "gurobi:plain",
    "gurobi:strong",
    "mindtpy:plain",
    "mindtpy:strong",
)
KIND = {"exact": "certified", "ao": "heuristic", "mindtpy": "heuristic", "scip": "global",
        "gurobi": "global"}  # fmt: skip
COLUMNS = ["family", "instance", "N", "M", "run", "kind", "status", "objective", "bound",
           "gap", "time_s", "load1", "message"]  # fmt: skip
TRACE_COLUMNS = ["family", "N", "instance", "run", "time_s", "lower_bound", "objective"]
M_RSUS = 5
#: statuses whose message the progress line shows
BAD = ("error", "refused")


def make_instance(family: str, n: int, seed: int) -> Any:
    """The instance of ``family`` with ``n`` vehicles (M = 5) drawn with ``seed``."""
    from llmv2x.instances import generate_instance

    _, tau_d, tau_e, _ = FAMILIES[family]
    return generate_instance(
        seed=seed,
        vehicles=n,
        rsus=M_RSUS,
        name=f"{family}-N{n}-s{seed}",
        deadline_tightness=tau_d,
        energy_tightness=tau_e,
    )


def settings_for(family: str, run: str, limit: float) -> tuple[str, Any]:
    """The method name and the settings of one run on ``family``."""
    from llmv2x.settings import SolveSettings

    assoc = FAMILIES[family][3]
    if run in ("exact", "ao"):
        return run, SolveSettings(association=assoc, time_limit=limit)
    backend, formulation = run.split(":")
    return "minlp", SolveSettings(
        association=assoc,
        time_limit=limit,
        minlp_backend=backend,
        options={"formulation": formulation},
    )


def _child(family: str, n: int, seed: int, run: str, limit: float, conn: Any) -> None:
    """Solve one run in this (spawned) process; send (row, trace rows) back."""
    import llmv2x.api as api
    import llmv2x.solvers.minlp  # noqa: F401 - Pyomo and its plugins before the clock
    from llmv2x.errors import LlmV2xError, SettingsError
    from llmv2x.solvers.backends.scip_trace import record_scip_trace

    trace: list[tuple[float, float, float]] = []
    try:
        inst = make_instance(family, n, seed)
        method, settings = settings_for(family, run, limit)
        t0 = time.perf_counter()
        try:
            if run.startswith("scip:"):
                with record_scip_trace(rtol=1e-7) as tr:
                    res = api.solve(inst, method, settings)
                trace = list(tr.rows)
            else:
                res = api.solve(inst, method, settings)
                frame = res.trace.get("bound") if isinstance(res.trace, dict) else None
                if frame is not None and len(frame):
                    cols = ["time_s", "lower_bound", "objective"]
                    trace = [tuple(float(v) for v in r) for r in frame[cols].itertuples(False)]
            row = {"status": res.status, "objective": res.objective, "bound": res.lower_bound,
                   "message": res.message}  # fmt: skip
        except SettingsError as exc:
            row = {"status": "refused", "message": str(exc)}
        except LlmV2xError as exc:
            row = {"status": "error", "message": f"{type(exc).__name__}: {exc}"}
        row["time_s"] = time.perf_counter() - t0
        conn.send((row, trace))
    except BaseException as exc:  # noqa: BLE001 - reported as an error row
        conn.send(({"status": "error", "message": f"crash: {type(exc).__name__}: {exc}"}, []))
    finally:
        conn.close()


def run_isolated(family: str, n: int, seed: int, run: str, limit: float, hard: float) -> tuple:
    """``_child`` in a spawned process; an ``error`` row if it dies or passes ``hard`` s."""
    ctx = mp.get_context("spawn")
    recv, send = ctx.Pipe(duplex=False)
    t0 = time.perf_counter()
    proc = ctx.Process(target=_child, args=(family, n, seed, run, limit, send))
    proc.start()
    send.close()
    got = None
    if recv.poll(hard):
        try:
            got = recv.recv()
        except EOFError:
            got = None
    proc.join(5)
    if proc.is_alive():
        proc.kill()
        proc.join()
    if got is None:
        why = f"killed after {hard:.0f} s" if time.perf_counter() - t0 >= hard else "child died"
        got = ({"status": "error", "message": f"crash: {why} (exit {proc.exitcode})",
                "time_s": time.perf_counter() - t0}, [])  # fmt: skip
    return got


def _append(path: Path, columns: list[str], rows: list[dict[str, Any]]) -> None:
    with path.open("a", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=columns)
        if fh.tell() == 0:
            w.writeheader()
        w.writerows(rows)


def _gap(obj: Any, bound: Any) -> float:
    try:
        obj, bound = float(obj), float(bound)
    except (TypeError, ValueError):
        return math.nan
    if not (math.isfinite(obj) and math.isfinite(bound)) or obj == 0:
        return math.nan
    return (obj - bound) / abs(obj)


def _drop(path: Path, keys: set[tuple]) -> None:
    """Remove the rows of ``keys`` ((instance, run)) from a CSV (a refused row solved again)."""
    if not keys or not path.exists():
        return
    df = pd.read_csv(path)
    keep = [(i, r) not in keys for i, r in zip(df["instance"], df["run"], strict=True)]
    df[keep].to_csv(path, index=False)


def study(args: argparse.Namespace, out: Path) -> None:
    """Solve every (N, family, seed, run) not yet in the CSV; rewrite the report as it goes."""
    rows_csv, traces_csv = out / f"{args.stem}.csv", out / f"{args.stem}_traces.csv"
    done: dict[tuple[str, str], str] = {}
    if rows_csv.exists():
        old = pd.read_csv(rows_csv)
        done = {(i, r): s for i, r, s in zip(old["instance"], old["run"], old["status"],
                                              strict=True)}  # fmt: skip
        for key in [k for k in done if k[1] in args.redo]:
            done[key] = "refused"  # solved again: the method changed since
        if args.retry_crashes:
            crashed = old["message"].fillna("").astype(str).str.startswith("crash:")
            done.update(
                {
                    (i, r): "refused"
                    for i, r in zip(
                        old.loc[crashed, "instance"], old.loc[crashed, "run"], strict=True
                    )
                }
            )
    hard = 2 * args.time_limit + 90
    for n in args.n:
        for family in args.families:
            for seed in range(args.seeds):
                name = f"{family}-N{n}-s{seed}"
                for run in args.runs:
                    if done.get((name, run), "refused") != "refused":
                        continue
                    if (name, run) in done:
                        _drop(rows_csv, {(name, run)})
                        _drop(traces_csv, {(name, run)})
                    load1 = os.getloadavg()[0]
                    row, trace = run_isolated(family, n, seed, run, args.time_limit, hard)
                    row.update(family=family, instance=name, N=n, M=M_RSUS, run=run,
                               kind=KIND[run.split(":")[0]], load1=load1,
                               gap=_gap(row.get("objective"), row.get("bound")))  # fmt: skip
                    _append(rows_csv, COLUMNS, [{c: row.get(c) for c in COLUMNS}])
                    tr = [dict(zip(TRACE_COLUMNS, (family, n, name, run, *t), strict=True))
                          for t in trace]  # fmt: skip
                    if tr:
                        _append(traces_csv, TRACE_COLUMNS, tr)
                    print(f"{datetime.now():%H:%M:%S} {name:12s} {run:15s} {row['status']:10s} "
                          f"obj {row.get('objective')!s:>.12} bound {row.get('bound')!s:>.12} "
                          f"{row['time_s']:7.1f} s load {load1:.2f} {len(trace)} trace pts "
                          f"{str(row.get('message'))[:70] if row['status'] in BAD else ''}",
                          flush=True)  # fmt: skip
            report(args, out)


def report(args: argparse.Namespace, out: Path) -> None:
    """``STEM.md`` and the plot from the CSVs."""
    rows_csv = out / f"{args.stem}.csv"
    if not rows_csv.exists():
        return
    df = pd.read_csv(rows_csv)
    df["gap"] = [_gap(o, b) for o, b in zip(df["objective"], df["bound"], strict=True)]
    order = {r: i for i, r in enumerate(RUNS)}
    df = df.assign(_k=df["run"].map(order)).sort_values(["family", "N", "instance", "_k"])
    lines = [
        "# Certified bounds on the problem family",
        "",
        f"Command: `{args.command}`. Last written {datetime.now().isoformat(timespec='seconds')}"
        f"; {len(df)} rows, {df['time_s'].sum() / 60:.0f} min of solves in all.  ",
        f"Machine: 2-core container shared with other jobs; load average (1 min) at the start"
        f" of each run: median {df['load1'].median():.2f}, max {df['load1'].max():.2f}.  ",
        f"Settings: M = {M_RSUS}, equality budgets, omega_t 0.5, objective `paper`, wall-clock "
        f"limit {args.time_limit:g} s per run (all methods).  ",
        "gap = (incumbent - bound) / incumbent, each method's own bound (AO and MindtPy have "
        "none). `refused`: the method does not solve the variant (its one-line message below).  ",
        f"Code: git {git_state()}. Versions: " + "; ".join(solver_versions()),
        "",
    ]
    lines += [
        "## Our bound vs SCIP's",
        "",
        "Positive `ours below SCIP`: SCIP's bound (the better of plain and strong) is the "
        "stronger one; gaps are to the best incumbent of all runs on the instance.",
        "",
        md_table(vs_scip(df)),
        "",
    ]
    for fam, (title, *_rest) in FAMILIES.items():
        g = df[df["family"] == fam]
        if not g.empty:
            lines += [f"## Family {fam}: {title}", "", "incumbent / bound (gap), time:", "",
                      md_table(compact(g, RUNS)), "", md_table(family_table(g), 4), ""]  # fmt: skip
    full = df[["instance", "run", "status", "objective", "bound", "gap", "time_s", "message"]]
    full = full.assign(message=full["message"].fillna("").astype(str).str.slice(0, 110))
    lines += ["## All rows", "", md_table(full, 6), ""]
    (out / f"{args.stem}.md").write_text("\n".join(lines))
    plot(out / f"{args.stem}_traces.csv", df, Path(args.figure), args.plot_n, FAMILIES)


def main() -> None:
    """Parse the arguments; run the study (or only the report with ``--from-rows``)."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, nargs="+", default=[20, 50, 200])
    ap.add_argument("--families", default="abc")
    ap.add_argument("--seeds", type=int, default=1, help="instances per (family, N)")
    ap.add_argument("--runs", default=",".join(RUNS))
    ap.add_argument("--time-limit", type=float, default=120.0, help="s per run")
    ap.add_argument("--out", default="benchmarks/results")
    ap.add_argument("--stem", default="bounds")
    ap.add_argument("--figure", default="docs/figures/bounds_over_time.png")
    ap.add_argument("--plot-n", type=int, default=20, help="N of the plotted instances")
    ap.add_argument("--from-rows", action="store_true", help="only the table and the plot")
    ap.add_argument("--retry-crashes", action="store_true", help="solve crashed rows again")
    ap.add_argument("--redo", default="", help="comma-separated runs to solve again (exact)")
    ap.add_argument("--quick", action="store_true", help="N = 6, 10 s, stem bounds_quick")
    args = ap.parse_args()
    args.runs = [r for r in args.runs.split(",") if r]
    args.redo = {r for r in args.redo.split(",") if r}
    args.command = "python " + " ".join(sys.argv)
    if args.quick:
        args.n, args.time_limit, args.stem, args.plot_n = [6], 10.0, "bounds_quick", 6
        args.figure = f"{args.out}/bounds_quick.png"
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if not args.from_rows:
        study(args, out)
    report(args, out)
    print(f"wrote {out}/{args.stem}.csv, {args.stem}.md, {args.figure}", flush=True)


if __name__ == "__main__":
    main()
