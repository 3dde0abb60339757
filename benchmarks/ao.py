"""Method ``ao`` end to end: wall time, AO rounds, objective and the gaps of its two parts.

Run: ``.venv/bin/python benchmarks/ao.py [--recipes improved paper] [--qp-backend B]
[--timeout S] [-o FILE] [INSTANCE ...]``.
Default instances: ``instances/paper-seed0..9``, ``medium`` and ``large``; default objective
variant ``paper``, omega_t = 0.5, default backends (HiGHS for the QP steps, IPOPT through
cyipopt for sub-problem II). Targets (issue 12): median at N = 20 at or below MindtPy's
(0.17 s warm in ``benchmarks/results/minlp_vs_ao.md``; the like-for-like comparison, in one
run, is ``benchmarks/minlp_vs_ao.py``), ``large`` (N = 1000, M = 50) under 10 s.

Each run is one ``llmv2x.solve(path, method="ao", ...)`` call timed end to end (loading the
file, building the models, solving, verifying the result), in a child process of its own so
that a run that fails, hangs or exceeds ``--timeout`` is recorded and does not stop the
benchmark. Before timing, the child imports the solver libraries and solves a small instance
once, so the figure does not include Python's module imports or the first load of the
shared libraries. Wall and CPU time are both reported: on a loaded machine wall time
overstates the cost.

Quality: with the default noise the communication term is about 99 % of the ``paper``
objective, so the objective alone hides errors in alpha and the frequencies. The compute
part (``evaluate(...).compute_part``) is compared with the certified optimum of the compute
part (:func:`llmv2x.solvers.exact.solve_exact` when that module exists, else a per-RSU
enumeration of alpha in {1, Upsilon}^k for RSUs with at most ``BRUTE_FORCE_MAX`` vehicles),
and the communication part with :func:`llmv2x.solvers.comm.optimal_comm`. A gap is
``AO / optimum - 1``.

Results are printed and written as Markdown to ``benchmarks/results/ao.md``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.util
import itertools
import multiprocessing as mp
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_INSTANCES = tuple(f"paper-seed{i}" for i in range(10)) + ("medium", "large")
RECIPES = ("improved", "paper")
TARGET_N20_S = 0.17
TARGET_LARGE_S = 10.0
#: Largest RSU (vehicles) the fallback enumeration of the compute part will try (2^k points).
BRUTE_FORCE_MAX = 12
WARM_UP_INSTANCE = "small-seed0"


def _child(
    path: str, recipe: str, variant: str, omega_t: float, qp_backend: str, conn: Any
) -> None:
    """Worker: warm up, time one AO solve, send back the figures (or the error)."""
    import warnings

    warnings.filterwarnings("ignore")
    import llmv2x
    from llmv2x.models.evaluator import evaluate
    from llmv2x.settings import SolveSettings

    out: dict[str, Any] = {}
    try:
        llmv2x.solve(ROOT / "instances" / f"{WARM_UP_INSTANCE}.json", method="ao")
        t0, c0 = time.perf_counter(), time.process_time()
        res = llmv2x.solve(
            path,
            method="ao",
            omega_t=omega_t,
            objective=variant,
            recipe=recipe,
            qp_backend=qp_backend,
        )
        out["time_s"] = time.perf_counter() - t0
        out["cpu_s"] = time.process_time() - c0
        settings = SolveSettings(omega_t=omega_t, objective=variant)
        ev = evaluate(llmv2x.load_instance(path), res.allocation, settings)
        ao = res.trace.get("ao")
        out.update(
            status=res.status,
            objective=res.objective,
            iterations=res.iterations,
            rounds=int(ao["round"].max()) if ao is not None and len(ao) else 0,
            compute_part=ev.compute_part,
            comm_part=ev.communication_part,
            feasible=ev.feasible,
        )
    except Exception as exc:  # noqa: BLE001 - a failed run is a result of the benchmark
        out.update(
            status="error",
            error=f"{type(exc).__name__}: {exc}".splitlines()[0],
            time_s=time.perf_counter() - t0 if "t0" in locals() else float("nan"),
            cpu_s=time.process_time() - c0 if "c0" in locals() else float("nan"),
        )
    conn.send(out)
    conn.close()


def run_one(
    path: Path,
    recipe: str,
    variant: str = "paper",
    omega_t: float = 0.5,
    timeout: float = 600.0,
    qp_backend: str = "highs",
) -> dict[str, Any]:
    """One timed AO solve of ``path`` in a child process.

    Parameters
    ----------
    path : instance file.
    recipe : ``improved`` or ``paper`` (the AO option of that name).
    variant : objective variant, ``paper`` or ``latency``.
    omega_t : weight of time.
    timeout : seconds of wall time (warm-up included) before the child is stopped.
    qp_backend : QP backend of the SQP steps (``highs``, ``ipopt``, ``gurobi``).

    Returns
    -------
    dict with status, objective, iterations, rounds, time_s, cpu_s, compute_part, comm_part,
    feasible, and ``error`` when the run failed or timed out.
    """
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(str(path), recipe, variant, omega_t, qp_backend, child))
    t0 = time.perf_counter()
    proc.start()
    child.close()
    out: dict[str, Any] | None = None
    if parent.poll(timeout):
        try:
            out = parent.recv()
        except EOFError:
            out = None
    proc.join(5.0)
    if proc.is_alive():
        proc.terminate()  # our own child, by its handle
        proc.join()
    if out is None:
        waited = time.perf_counter() - t0
        reason = "timeout" if waited >= timeout else f"child exited with {proc.exitcode}"
        out = {"status": reason, "error": f"{reason} after {waited:.0f} s", "time_s": waited}
    return out


def compute_part_optimum(instance: Any, settings: Any) -> tuple[float, str]:
    """Optimum of the compute part (11) over integer alpha and its source.

    ``solve_exact`` when :mod:`llmv2x.solvers.exact` exists; otherwise enumeration of alpha in
    {1, Upsilon}^k per RSU (an optimum is such a vertex, docs/exact.md) when every RSU has at
    most ``BRUTE_FORCE_MAX`` vehicles; otherwise (nan, "skipped").
    """
    from llmv2x.models.evaluator import evaluate

    if importlib.util.find_spec("llmv2x.solvers.exact") is not None:
        from llmv2x.solvers.exact import solve_exact

        res = solve_exact(instance, settings)
        if res.status == "optimal":
            return evaluate(instance, res.allocation, settings).compute_part, "exact"
    from llmv2x.solvers.rounding import compute_cost_per_rsu

    sizes = [len(m) for m in instance.members]
    if max(sizes) > BRUTE_FORCE_MAX:
        return float("nan"), "skipped"
    upsilon = float(instance.layers)
    total = 0.0
    for m in instance.served_rsus:
        idx = instance.members[m]
        best = np.inf
        for ends in itertools.product((1.0, upsilon), repeat=len(idx)):
            alpha = np.ones(instance.n_vehicles)
            alpha[idx] = ends
            best = min(best, float(compute_cost_per_rsu(instance, settings, alpha)[m]))
        total += best
    return total, "enumeration"


def comm_part_optimum(instance: Any, settings: Any) -> float:
    """The certified optimum of the communication part (:func:`comm.optimal_comm`)."""
    from llmv2x.models.evaluator import comm_cost
    from llmv2x.solvers.comm import optimal_comm

    best = optimal_comm(instance, settings)
    return float(np.sum(comm_cost(instance, settings.omega_t, settings.latency, *best[:2])))


def run(
    names: list[str],
    recipes: list[str],
    variant: str = "paper",
    omega_t: float = 0.5,
    timeout: float = 600.0,
    qp_backend: str = "highs",
) -> pd.DataFrame:
    """Every (instance, recipe) run, with the gaps of both parts; one row per run."""
    from llmv2x.instances import load_instance
    from llmv2x.settings import SolveSettings

    settings = SolveSettings(omega_t=omega_t, objective=variant)
    rows = []
    for name in names:
        path = Path(name) if name.endswith(".json") else ROOT / "instances" / f"{name}.json"
        inst = load_instance(path)
        compute_opt, source = compute_part_optimum(inst, settings)
        comm_opt = comm_part_optimum(inst, settings)
        for recipe in recipes:
            out = run_one(path, recipe, variant, omega_t, timeout, qp_backend)
            row = {
                "instance": inst.name,
                "N": inst.n_vehicles,
                "M": inst.n_rsus,
                "recipe": recipe,
                "qp": qp_backend,
                "status": out.get("status"),
                "rounds": out.get("rounds", np.nan),
                "iterations": out.get("iterations", np.nan),
                "objective": out.get("objective", np.nan),
                "time_s": out.get("time_s", np.nan),
                "cpu_s": out.get("cpu_s", np.nan),
                "compute_gap": out.get("compute_part", np.nan) / compute_opt - 1.0,
                "comm_gap": out.get("comm_part", np.nan) / comm_opt - 1.0,
                "optimum_by": source,
                "error": out.get("error", ""),
            }
            rows.append(row)
            print(
                f"{row['instance']:<13} {recipe:<9} {row['status']:<10} "
                f"t={row['time_s']:8.2f}s cpu={row['cpu_s']:8.2f}s "
                f"obj={row['objective']:.10g} compute gap={row['compute_gap']:.2e} "
                f"comm gap={row['comm_gap']:.2e} {row['error']}",
                flush=True,
            )
    return pd.DataFrame(rows)


def summary(table: pd.DataFrame) -> pd.DataFrame:
    """Per recipe: median wall and CPU time at N = 20, large's time, worst gaps, targets."""
    out = []
    for recipe, t in table.groupby("recipe", sort=False):
        n20 = t[t["N"] == 20]
        large = t[t["instance"] == "large"]
        large_s = float(large["time_s"].iloc[0]) if len(large) else float("nan")
        large_ok = bool(len(large)) and large["status"].iloc[0] in ("converged", "feasible")
        med = float(n20["time_s"].median()) if len(n20) else float("nan")
        out.append(
            {
                "recipe": recipe,
                "median_time_N20_s": med,
                "median_cpu_N20_s": float(n20["cpu_s"].median()) if len(n20) else float("nan"),
                "N20_target_met": bool(med < TARGET_N20_S) if len(n20) else "n/a",
                "large_time_s": large_s,
                "large_status": large["status"].iloc[0] if len(large) else "not run",
                "large_target_met": bool(large_ok and large_s < TARGET_LARGE_S)
                if len(large)
                else "n/a",
                "median_compute_gap": float(t["compute_gap"].median()),
                "max_compute_gap": float(t["compute_gap"].max()),
                "max_comm_gap": float(t["comm_gap"].max()),
            }
        )
    return pd.DataFrame(out)


def to_markdown(table: pd.DataFrame, summ: pd.DataFrame, command: str) -> str:
    """The results file: how it was run, the per-run table and the summary."""
    shown = table.drop(columns=["error"]).copy()
    errors = table[table["error"] != ""][["instance", "recipe", "error"]]
    fmt = {
        "objective": "{:.10g}".format,
        "time_s": "{:.2f}".format,
        "cpu_s": "{:.2f}".format,
        "compute_gap": "{:.2e}".format,
        "comm_gap": "{:.2e}".format,
    }
    for col, f in fmt.items():
        shown[col] = shown[col].map(lambda v, f=f: "" if pd.isna(v) else f(v))
    load = os.getloadavg() if hasattr(os, "getloadavg") else (float("nan"),) * 3
    lines = [
        "# Benchmark: method `ao`",
        "",
        f"Command: `{command}`  ",
        f"Date: {dt.datetime.now().isoformat(timespec='seconds')}, Python "
        f"{platform.python_version()}, {os.cpu_count()} CPUs, load average at the end "
        f"{load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}.",
        "",
        "time_s: wall time of `llmv2x.solve` end to end (file, model build, solve, "
        "verification), warm process; cpu_s: CPU time of the same call. Gaps are AO / "
        "optimum - 1 on the compute part (alpha and frequencies) and on the communication "
        "part (p and b).",
        "",
        _markdown_table(shown),
        "",
        "## Summary",
        "",
        f"Targets: median < {TARGET_N20_S:g} s for N = 20 (MindtPy's median in "
        f"minlp_vs_ao.md); large < {TARGET_LARGE_S:g} s.",
        "",
        _markdown_table(summ),
    ]
    if len(errors):
        lines += ["", "## Failed runs", "", _markdown_table(errors)]
    return "\n".join(lines) + "\n"


def _cell(value: Any) -> str:
    """A table cell: floats with four significant digits, nan as n/a."""
    if isinstance(value, float):
        return "n/a" if np.isnan(value) else f"{value:.4g}"
    return str(value)


def _markdown_table(df: pd.DataFrame) -> str:
    """A pipe table without the optional ``tabulate`` dependency."""
    cols = [str(c) for c in df.columns]
    rows = [[_cell(v) for v in r] for r in df.itertuples(index=False)]
    out = ["| " + " | ".join(cols) + " |", "|" + "|".join(" --- " for _ in cols) + "|"]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(out)


def main() -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("instances", nargs="*", help="names in instances/ or .json files")
    parser.add_argument("--recipes", nargs="+", default=list(RECIPES), choices=RECIPES)
    parser.add_argument("--objective", default="paper", choices=("paper", "latency"))
    parser.add_argument("--omega-t", type=float, default=0.5)
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds per run")
    parser.add_argument("--qp-backend", default="highs", help="QP backend of the SQP steps")
    parser.add_argument("-o", "--output", type=Path, default=ROOT / "benchmarks/results/ao.md")
    args = parser.parse_args()
    names = args.instances or list(DEFAULT_INSTANCES)
    table = run(names, args.recipes, args.objective, args.omega_t, args.timeout, args.qp_backend)
    summ = summary(table)
    with pd.option_context("display.width", 200, "display.max_columns", 30):
        print()
        print(table.drop(columns=["error"]).to_string(index=False))
        print()
        print(summ.to_string(index=False))
    command = " ".join([os.path.relpath(sys.executable, ROOT), *sys.argv])
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(to_markdown(table, summ, command))
    print(f"\nwritten to {args.output}")


if __name__ == "__main__":
    main()
