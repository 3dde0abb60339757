"""AO vs direct MINLP backends vs the certified optimum: time, gap, bounds, performance profile.

Run (from the repository root, after ``make setup``)::

    .venv/bin/python benchmarks/minlp_vs_ao.py [--time-limit 60] [--out benchmarks/out/minlp]
        [--instances instances/paper-seed0.json gen:50:5:0 ...] [--runs ao,exact,scip:strong,...]

Default instances: ``instances/paper-seed0..9``, ``instances/small-seed0..4`` and generated
N = 50, 100, 200 (M = N / 10, seed 0). Default runs: ``exact``, ``ao``, and ``minlp`` with
``scip:plain``, ``scip:strong``, ``gurobi:plain``, ``gurobi:strong``, ``mindtpy:plain``.
Each run gets the same wall-clock time limit. Outputs in ``--out``: ``minlp_vs_ao.csv``,
``minlp_vs_ao.md`` (settings, solver versions and the table) and ``profile.png``, a
Dolan-More performance profile of wall time, counting a run as solved when its verified
objective is within ``--tol`` (relative) of exact's optimum. AO and MindtPy are labelled
heuristics: they have no dual bound. SCIP and Gurobi are global solvers with proven bounds.
"""

from __future__ import annotations

import argparse
import platform
import time
from pathlib import Path

import numpy as np
import pandas as pd

from llmv2x.errors import LlmV2xError
from llmv2x.instances import Instance, generate_instance, load_instance
from llmv2x.settings import SolveSettings
from llmv2x.solvers.methods import available_methods, get_method
from llmv2x.solvers.registry import availability, load_backend

DEFAULT_INSTANCES = (
    [f"instances/paper-seed{s}.json" for s in range(10)]
    + [f"instances/small-seed{s}.json" for s in range(5)]
    + ["gen:50:5:0", "gen:100:10:0", "gen:200:20:0"]
)
DEFAULT_RUNS = (
    "exact",
    "ao",
    "scip:plain",
    "scip:strong",
    "gurobi:plain",
    "gurobi:strong",
    "mindtpy:plain",
)
KIND = {
    "exact": "certified",
    "ao": "heuristic",
    "mindtpy": "heuristic",
    "scip": "global",
    "gurobi": "global",
    "couenne": "global",
    "baron": "global",
}


def instance_from(spec: str) -> Instance:
    """A file, a built-in name, or ``gen:N:M:SEED`` (SPEC section 2 scenario)."""
    if spec.startswith("gen:"):
        n, m, seed = (int(x) for x in spec.split(":")[1:])
        return generate_instance(seed=seed, vehicles=n, rsus=m, name=f"gen-N{n}-M{m}-s{seed}")
    return load_instance(spec)


def run_one(inst: Instance, run: str, time_limit: float) -> dict:
    """Solve ``inst`` with one run (``exact``, ``ao`` or ``backend:formulation``)."""
    method, backend, formulation = (run, "", "") if ":" not in run else ("minlp", *run.split(":"))
    settings = SolveSettings(time_limit=time_limit)
    if method == "minlp":
        settings = settings.with_(minlp_backend=backend, options={"formulation": formulation})
    t0 = time.perf_counter()
    try:
        res = get_method(method)(inst, settings)
        row = {
            "status": res.status,
            "objective": res.objective,
            "bound": res.lower_bound,
            "message": res.message,
            "solvers": "; ".join(
                v for k, v in res.solvers.items() if k in ("qp", "nlp", "minlp", "exact")
            ),
        }
    except LlmV2xError as exc:
        row = {
            "status": "error",
            "objective": None,
            "bound": None,
            "message": str(exc),
            "solvers": "",
        }
    row.update(
        instance=inst.name,
        N=inst.n_vehicles,
        M=inst.n_rsus,
        run=run,
        kind=KIND.get(backend or method, "heuristic"),
        time_s=time.perf_counter() - t0,
    )
    return row


def performance_profile(df: pd.DataFrame, path: Path, tol: float) -> None:
    """Dolan-More profile of wall time; a run counts as solved within ``tol`` of exact."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    runs = [r for r in df["run"].unique() if r != "exact"]
    t = df.pivot_table(index="instance", columns="run", values="time_s", aggfunc="first")
    gap = df.pivot_table(index="instance", columns="run", values="gap_to_exact", aggfunc="first")
    solved = (gap[runs] <= tol) & gap[runs].notna()
    times = t[runs].where(solved)
    ratio = times.div(times.min(axis=1), axis=0)
    taus = np.logspace(0, 10, 600, base=2)
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for r in runs:
        rho = [(ratio[r] <= tau).mean() for tau in taus]
        label = f"{r} ({'heuristic' if KIND.get(r.split(':')[0]) == 'heuristic' else 'global'})"
        ax.step(np.log2(taus), rho, where="post", label=label)
    ax.set_xlabel("log2(time / best time on the instance)")
    ax.set_ylabel(f"fraction of instances within {tol:g} of the optimum")
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=130)
    plt.close(fig)


def main() -> None:
    """Run the comparison and write the CSV, the Markdown table and the profile plot."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--instances", nargs="*", default=DEFAULT_INSTANCES)
    ap.add_argument("--runs", default=",".join(DEFAULT_RUNS))
    ap.add_argument("--time-limit", type=float, default=60.0)
    ap.add_argument("--tol", type=float, default=1e-4, help="relative gap counted as solved")
    ap.add_argument("--out", default="benchmarks/out/minlp")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    runs = [r for r in args.runs.split(",") if r]
    methods = available_methods()
    rows = []
    for spec in args.instances:
        inst = instance_from(spec)
        for run in runs:
            name = run.split(":")[0]
            if run in ("exact", "ao") and run not in methods:
                continue
            if ":" in run and not availability(name, "minlp"):
                continue
            row = run_one(inst, run, args.time_limit)
            rows.append(row)
            print(
                f"{inst.name:16s} {run:14s} {row['status']:10s} {row['objective']!s:>22s} "
                f"{row['time_s']:8.2f} s",
                flush=True,
            )
    df = pd.DataFrame(rows)
    best = df[(df["run"] == "exact") & (df["status"] == "optimal")].set_index("instance")
    opt = df["instance"].map(best["objective"]) if len(best) else np.nan
    df["gap_to_exact"] = (df["objective"] - opt) / opt
    df["bound_gap"] = (df["objective"] - df["bound"]) / df["objective"]
    cols = [
        "instance",
        "N",
        "M",
        "run",
        "kind",
        "status",
        "objective",
        "bound",
        "gap_to_exact",
        "bound_gap",
        "time_s",
        "solvers",
        "message",
    ]
    df = df[cols]
    df.to_csv(out / "minlp_vs_ao.csv", index=False)
    versions = sorted({v for s in df["solvers"] if s for v in s.split("; ")})
    header = [
        "# AO vs MINLP backends vs exact",
        "",
        f"Command: `python benchmarks/minlp_vs_ao.py --time-limit {args.time_limit:g} "
        f"--runs {args.runs} --instances {' '.join(args.instances)}`",
        "",
        f"Machine: {platform.platform()}, Python {platform.python_version()}; settings: "
        f"omega_t 0.5, objective paper, gap 1e-6, wall-clock limit {args.time_limit:g} s per run.",
        "AO and MindtPy are heuristics (no dual bound); SCIP and Gurobi are global solvers; "
        "exact is the certified optimum. gap_to_exact = (objective - optimum) / optimum; "
        "bound_gap = (objective - bound) / objective.",
        "",
        "Solvers seen: " + "; ".join(versions),
        "",
    ]
    from llmv2x.experiments.compare import to_markdown

    (out / "minlp_vs_ao.md").write_text(
        "\n".join(header) + to_markdown(df.drop(columns=["solvers"])) + "\n"
    )
    if "exact" in set(df["run"]):
        performance_profile(df, out / "profile.png", args.tol)
    for name in ("scip", "gurobi", "mindtpy"):
        try:
            print(name, load_backend(name, "minlp").version())
        except Exception:  # noqa: BLE001 - versions are informative only
            pass
    print(f"wrote {out}/minlp_vs_ao.csv, minlp_vs_ao.md, profile.png")


if __name__ == "__main__":
    main()
