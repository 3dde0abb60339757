"""The problem variants: AO against SCIP and MindtPy (strong formulation) and the best bound known.

Run (from the repository root, after ``make setup``)::

    .venv/bin/python benchmarks/variants.py                 # 4 variants x 10 instances, 30 s
    .venv/bin/python benchmarks/variants.py --quick         # smoke run: 6 vehicles, 1 seed, 5 s
    .venv/bin/python benchmarks/variants.py --resume        # skip the rows already in the CSV

Variants (docs/formulation.md#problem-variants), 10 generated instances each
(``generate_instance(seed=200 + i, vehicles=20, rsus=5, ...)``, i = 0..9, every RSU a link):

* ``deadlines+energy``: deadlines tau_D and energy budgets tau_E = 1.1, fixed association;
* ``inequality+deadlines``: deadlines tau_D, ``budgets=inequality``;
* ``association``: ``association=decision``, no deadline;
* ``association+deadlines``: deadlines tau_D, ``association=decision``;

with tau_D = 1.0, 1.11, ..., 2.0 (``numpy.linspace(1, 2, 10)``, one per seed).

Runs per (variant, instance): ``ao`` (no limit; it stops on its own), ``exact`` (when it
accepts the variant; ``--time-limit``: it then returns its best certified bound so far),
``minlp`` with ``scip`` and with ``mindtpy``, both ``formulation=strong`` and
``--time-limit``. Each run is made in a
forked child with a hard timeout (4 x the limit + 60 s) from a parent that has imported the
solvers' modules; an AO child first solves a 3-vehicle instance (one-off costs are paid
there, not in the timed solve). Each finished
row is appended to the CSV at once and the Markdown is rewritten from the CSV after every
instance, so a stopped study still has a report.

The best bound known for an instance is the largest lower bound any run proved (exact's
certified bound or SCIP's), the best point the smallest objective any run's verified point
has; the report names the source of the bound per instance. A gap is
(objective - bound) / |bound|.

Outputs in ``--out`` (default ``benchmarks/results``): ``variants.csv`` (one row per run)
and ``variants.md`` (``--quick``: ``variants_quick.*``).
"""

from __future__ import annotations

import argparse
import csv
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

sys.path.insert(0, str(Path(__file__).resolve().parent))
from llmv2x.errors import LlmV2xError  # noqa: E402
from llmv2x.instances import Instance, generate_instance  # noqa: E402
from llmv2x.settings import SolveSettings  # noqa: E402
from llmv2x.solvers.methods import check_instance, get_method  # noqa: E402
from llmv2x.solvers.registry import load_backend  # noqa: E402
from minlp_vs_ao import git_state, md_table, solver_versions  # noqa: E402

#: variant -> (settings fields, deadlines?, energy tightness)
VARIANTS: dict[str, tuple[dict[str, str], bool, float | None]] = {
    "deadlines+energy": ({}, True, 1.1),
    "inequality+deadlines": ({"budgets": "inequality"}, True, None),
    "association": ({"association": "decision"}, False, None),
    "association+deadlines": ({"association": "decision"}, True, None),
}
RUNS = ("ao", "exact", "scip", "mindtpy")
#: (variant, run) pairs not run. None since exact's incumbents include the equal shares
#: (a first run, before, ended in ``error`` under fixed association with deadlines).
SKIP: set[tuple[str, str]] = set()
COLUMNS = [
    "variant",
    "instance",
    "seed",
    "tau_d",
    "run",
    "status",
    "objective",
    "bound",
    "iterations",
    "time_s",
    "load1",
    "message",
]
TAUS = np.linspace(1.0, 2.0, 10)
EXACT_NOTE = (
    "run on every variant with the same limit; under fixed association its bound is certified "
    "(docs/exact.md section 11) and its status says whether it closed the gap in time"
)


def make_instance(variant: str, i: int, vehicles: int, rsus: int) -> Instance:
    """Instance ``i`` of ``variant``: seed 200 + i, tau_D = TAUS[i] when it has deadlines."""
    _, deadlines, energy = VARIANTS[variant]
    return generate_instance(
        seed=200 + i,
        vehicles=vehicles,
        rsus=rsus,
        name=f"{variant}-s{200 + i}",
        deadline_tightness=float(TAUS[i]) if deadlines else None,
        energy_tightness=energy,
    )


def settings_for(variant: str, run: str, time_limit: float) -> tuple[str, SolveSettings]:
    """Method and settings of one run on one variant."""
    base = VARIANTS[variant][0]
    if run == "ao":
        return "ao", SolveSettings(**base)
    if run == "exact":
        return "exact", SolveSettings(time_limit=time_limit, **base)
    return "minlp", SolveSettings(
        time_limit=time_limit, minlp_backend=run, options={"formulation": "strong"}, **base
    )


def solve_row(inst: Instance, variant: str, run: str, time_limit: float) -> dict[str, Any]:
    """One run's row fields; a method that refuses the variant gives status ``refused``."""
    method, settings = settings_for(variant, run, time_limit)
    t0 = time.perf_counter()
    try:
        check_instance(inst, settings, method)
    except LlmV2xError as exc:
        return {"status": "refused", "message": str(exc), "time_s": 0.0}
    try:
        res = get_method(method)(inst, settings)
        row = {
            "status": res.status,
            "objective": res.objective,
            "bound": res.lower_bound,
            "iterations": res.iterations,
            "message": res.message,
        }
    except LlmV2xError as exc:
        row = {"status": "error", "message": f"{type(exc).__name__}: {exc}"}
    row["time_s"] = time.perf_counter() - t0
    return row


def _child(inst: Instance, variant: str, run: str, limit: float, conn: Any) -> None:
    try:
        if run == "ao":
            # AO's time is reported as is: its first solve's one-off costs (Pyomo plugins,
            # HiGHS and IPOPT for the P1 start) are paid on a 3-vehicle instance first. Here
            # in the child: a parent that ran HiGHS would fork children whose solver thread
            # pools deadlock (the parent only imports the modules, ``preload``)
            solve_row(make_instance(variant, 5, 3, 2), variant, run, min(limit, 2.0))
        conn.send(solve_row(inst, variant, run, limit))
    except BaseException as exc:  # noqa: BLE001 - reported as an error row
        tb = traceback.format_exc().strip().splitlines()[-1]
        conn.send({"status": "error", "message": f"crash: {type(exc).__name__}: {tb}"})
    finally:
        conn.close()


def preload() -> None:
    """Import what the runs use (no solve: that would start solver threads before forks)."""
    import pyomo.contrib.mindtpy.MindtPy  # noqa: F401
    import pyomo.environ  # noqa: F401

    for backend, kind in (("scip", "minlp"), ("mindtpy", "minlp"), ("highs", "qp")):
        load_backend(backend, kind)
    for method in ("ao", "exact", "minlp"):
        get_method(method)


def run_isolated(inst: Instance, variant: str, run: str, limit: float) -> dict[str, Any]:
    """``solve_row`` in a forked child; an ``error`` row if it crashes or hangs."""
    hard = 4 * limit + 60
    ctx = mp.get_context("fork")
    recv, send = ctx.Pipe(duplex=False)
    t0 = time.perf_counter()
    proc = ctx.Process(target=_child, args=(inst, variant, run, limit, send))
    proc.start()
    send.close()
    row = None
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
        row = {
            "status": "error",
            "message": f"crash: killed or died (exit code {proc.exitcode})",
        }
    row.setdefault("time_s", time.perf_counter() - t0)  # a crash row has none of its own
    return row


# ---- the report, from the CSV


def per_instance(df: pd.DataFrame) -> pd.DataFrame:
    """One row per (variant, instance): best bound and its source, best point, each run."""
    out = []
    for (variant, name), g in df.groupby(["variant", "instance"], sort=False):
        r = {k: g[g["run"] == k].iloc[0] if (g["run"] == k).any() else None for k in RUNS}
        bounds = {k: float(v["bound"]) for k, v in r.items() if v is not None}
        bounds = {k: b for k, b in bounds.items() if math.isfinite(b)}
        points = [float(v["objective"]) for v in r.values() if v is not None]
        points = [p for p in points if math.isfinite(p)]
        best_bound = max(bounds.values()) if bounds else math.nan
        src = max(bounds, key=bounds.get) if bounds else ""
        row = {
            "variant": variant,
            "instance": name,
            "tau_d": g["tau_d"].iloc[0],
            "best bound": best_bound,
            "bound from": src,
            "best point": min(points) if points else math.nan,
        }
        for k, v in r.items():
            obj = float(v["objective"]) if v is not None else math.nan
            row[f"{k} status"] = v["status"] if v is not None else ""
            row[f"{k} objective"] = obj
            row[f"{k} gap"] = (obj - best_bound) / abs(best_bound) if bounds else math.nan
            row[f"{k} time_s"] = float(v["time_s"]) if v is not None else math.nan
        row["ao rounds"] = r["ao"]["iterations"] if r["ao"] is not None else math.nan
        row["ao vs best point"] = (row["ao objective"] - row["best point"]) / abs(row["best point"])
        out.append(row)
    return pd.DataFrame(out)


def summary(inst: pd.DataFrame) -> pd.DataFrame:
    """One row per variant: the docs/benchmarks.md table."""
    rows = []
    for variant, g in inst.groupby("variant", sort=False):

        def med(col: str, g: pd.DataFrame = g) -> float:
            v = g[col].astype(float)
            return float(v.median()) if v.notna().any() else math.nan

        def mx(col: str, g: pd.DataFrame = g) -> float:
            v = g[col].astype(float)
            return float(v.max()) if v.notna().any() else math.nan

        def count(run: str, g: pd.DataFrame = g) -> str:
            ok = g[f"{run} objective"].astype(float).notna().sum()
            return f"{ok}/{len(g)}"

        src = ", ".join(f"{k} {v}" for k, v in g["bound from"].value_counts().items() if k)
        rows.append(
            {
                "variant": variant,
                "instances": len(g),
                "bound from": src,
                "AO points": count("ao"),
                "AO rounds (median)": med("ao rounds"),
                "AO time_s median": med("ao time_s"),
                "AO time_s max": mx("ao time_s"),
                "AO gap median": med("ao gap"),
                "AO gap max": mx("ao gap"),
                "AO vs best point max": mx("ao vs best point"),
                "SCIP points": count("scip"),
                "SCIP gap median": med("scip gap"),
                "SCIP gap max": mx("scip gap"),
                "MindtPy points": count("mindtpy"),
                "MindtPy gap median": med("mindtpy gap"),
                "MindtPy gap max": mx("mindtpy gap"),
                "exact": ", ".join(
                    f"{k} {v}" for k, v in g["exact status"].value_counts().items() if k
                ),
            }
        )
    return _readable(pd.DataFrame(rows))


def _readable(df: pd.DataFrame) -> pd.DataFrame:
    """Gaps in percent (2 decimals), times in s (1 decimal), rounds as integers."""
    df = df.copy()
    for c in df.columns:
        if "gap" in c or "vs best" in c:
            df[c] = (100 * df[c].astype(float)).round(2)
            df = df.rename(columns={c: c + " %"})
        elif "time_s" in c:
            df[c] = df[c].astype(float).round(1)
    return df


def docs_table(csv_path: Path) -> str:
    """The summary table of docs/benchmarks.md#problem-variants, from the CSV."""
    df = pd.read_csv(csv_path)
    for c in ("objective", "bound", "time_s", "iterations"):
        df[c] = pd.to_numeric(df[c], errors="coerce")
    table = summary(per_instance(df))
    keep = [
        "variant",
        "instances",
        "AO rounds (median)",
        "AO time_s median",
        "AO time_s max",
        "AO gap median %",
        "AO gap max %",
        "SCIP points",
        "SCIP gap median %",
        "MindtPy points",
        "MindtPy gap median %",
        "bound from",
    ]
    return md_table(table[keep])


def write_report(csv_path: Path, md_path: Path, meta: dict[str, str]) -> None:
    """``md_path`` from the rows in ``csv_path`` (nothing typed by hand)."""
    df = pd.read_csv(csv_path)
    for c in ("objective", "bound", "time_s", "iterations"):
        df[c] = pd.to_numeric(df[c], errors="coerce")
    inst = per_instance(df)
    lines = [
        "# Problem variants: AO, SCIP, MindtPy and the best bound known",
        "",
        "Generated by `benchmarks/variants.py` from `" + csv_path.name + "`; do not edit.",
        "",
        *[f"- {k}: {v}" for k, v in meta.items()],
        f"- rows so far: {len(df)} ({df['instance'].nunique()} instances)",
        "",
        "Gap = (objective - best bound) / |best bound|, the best bound being the largest lower "
        "bound proved by `exact` (certified) or SCIP on that instance (column `bound from`). "
        "AO and MindtPy are local methods and prove no bound. `AO vs best point`: AO's "
        "objective relative to the best verified point any run found.",
        "",
        "## Summary per variant",
        "",
        md_table(summary(inst)),
        "",
        "## Per instance",
        "",
    ]
    for variant, g in inst.groupby("variant", sort=False):
        cols = ["instance", "tau_d", "best bound", "bound from", "best point"]
        for k in RUNS:
            cols += [f"{k} status", f"{k} gap", f"{k} time_s"]
        cols += ["ao rounds"]
        lines += [f"### {variant}", "", md_table(_readable(g[cols])), ""]
    bad = df[df["status"].isin(["error", "refused"])]
    if len(bad):
        lines += [
            "## Errors and refusals",
            "",
            md_table(bad[["variant", "instance", "run", "status", "message"]]),
            "",
        ]
    md_path.write_text("\n".join(lines))


def main(argv: list[str] | None = None) -> int:
    """Run the study (see the module docstring)."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--time-limit", type=float, default=30.0)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results"))
    ap.add_argument("--variants", default=",".join(VARIANTS))
    ap.add_argument("--runs", default=",".join(RUNS))
    ap.add_argument(
        "--docs-table", action="store_true", help="print the docs/benchmarks.md table of the CSV"
    )
    ap.add_argument("--report", action="store_true", help="only rewrite the Markdown from the CSV")
    args = ap.parse_args(argv)
    stem = "variants_quick" if args.quick else "variants"
    csv_path, md_path = args.out / f"{stem}.csv", args.out / f"{stem}.md"
    if args.docs_table:
        print(docs_table(csv_path))
        return 0
    if args.report:
        # the Markdown again from the CSV, keeping the run's settings lines
        meta = {}
        for ln in md_path.read_text().splitlines()[4:]:
            if not ln.startswith("- "):
                break
            key, _, value = ln[2:].partition(": ")
            if key != "rows so far":
                meta[key] = value
        meta.setdefault("exact", EXACT_NOTE)
        write_report(csv_path, md_path, meta)
        return 0
    vehicles, rsus, seeds = (6, 2, 1) if args.quick else (20, 5, 10)
    limit = 5.0 if args.quick else args.time_limit
    args.out.mkdir(parents=True, exist_ok=True)
    variants, runs = args.variants.split(","), args.runs.split(",")
    preload()
    done: set[tuple[str, str, str]] = set()
    if args.resume and csv_path.exists():
        old = pd.read_csv(csv_path)
        done = set(zip(old["variant"], old["instance"], old["run"], strict=True))
    elif csv_path.exists():
        csv_path.unlink()
    meta = {
        "command": "python benchmarks/variants.py " + " ".join(argv or sys.argv[1:]),
        "started": datetime.now().isoformat(timespec="seconds"),
        "instances": f"generate_instance(seed=200+i, vehicles={vehicles}, rsus={rsus}), "
        f"tau_D = linspace(1, 2, 10)[i], tau_E = 1.1 (deadlines+energy only)",
        "limits": f"exact, SCIP and MindtPy {limit:g} s each (strong formulation for the "
        "MINLP runs); AO none; one run at a time",
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}",
        "exact": EXACT_NOTE,
        "commit": git_state(),
        "versions": ", ".join(solver_versions()),
    }
    for i in range(seeds):  # instance-major: a stopped run has every variant so far
        for variant in variants:
            inst = make_instance(variant, i, vehicles, rsus)
            for run in runs:
                if (variant, inst.name, run) in done or (variant, run) in SKIP:
                    continue
                row = run_isolated(inst, variant, run, limit)
                row.update(
                    variant=variant,
                    instance=inst.name,
                    seed=200 + i,
                    tau_d=float(TAUS[i]) if VARIANTS[variant][1] else math.nan,
                    run=run,
                    load1=os.getloadavg()[0],
                )
                new = not csv_path.exists()
                with csv_path.open("a", newline="") as fh:
                    w = csv.DictWriter(fh, COLUMNS, extrasaction="ignore")
                    if new:
                        w.writeheader()
                    w.writerow({c: row.get(c, "") for c in COLUMNS})
                print(
                    f"{variant} {inst.name} {run}: {row['status']} "
                    f"{row.get('objective')} {row['time_s']:.1f} s",
                    flush=True,
                )
            meta["finished"] = datetime.now().isoformat(timespec="seconds")
            write_report(csv_path, md_path, meta)
    print(f"wrote {csv_path} and {md_path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
