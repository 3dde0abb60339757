"""``llmv2x solve --method exact`` from 1,000 to 1,000,000 vehicles: time and peak memory.

Run: ``python benchmarks/scale.py [--quick] [--sizes 1000,10000,...] [--workdir DIR]``.

For each case (N vehicles, M = N / 4 RSUs, default scenario with 8 links per vehicle, seed 0):

1. ``generate``: a child process draws the instance and writes it (JSON format 2 or the
   ``.npz`` container); generate and write times, file size.
2. ``breakdown``: a child process loads the file (``load_instance``), solves it with
   ``llmv2x.solve(..., method="exact")`` on the case's executor, and checks the whole
   allocation once more with the NumPy evaluator (``verify``; the solve already includes
   one such check).
3. ``end to end``: the installed command ``llmv2x solve FILE --method exact`` as a user runs
   it (imports, load, solve, verify, summary): its wall time is the ``total`` column.

Every child runs under ``/usr/bin/time -v``; peak memory is its maximum resident set size
(the largest single process: Dask workers are processes of their own and report apart).
The 1,000,000-vehicle case also solves serially (one process, same chunks) in its breakdown
child and records the relative difference of the objectives.

Writes ``benchmarks/results/scale.md`` (the table) and ``docs/figures/scale.png`` (time
against N, log-log, with AO and MindtPy times from ``benchmarks/results/minlp_vs_ao.csv``
and ``benchmarks/results/ao.md`` where they were run).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
LLMV2X = str(Path(PY).with_name("llmv2x"))
RESULTS = ROOT / "benchmarks" / "results" / "scale.md"
FIGURE = ROOT / "docs" / "figures" / "scale.png"
#: (N, format, executor) of every case; M = N // 4.
CASES = [
    (1_000, "json", "serial"),
    (10_000, "json", "serial"),
    (100_000, "json", "serial"),
    (100_000, "npz", "serial"),
    (1_000_000, "npz", "dask"),
]
TARGETS_S = {(10_000, "json"): 5.0, (100_000, "json"): 30.0, (1_000_000, "npz"): 300.0}
#: Method options of each executor (``--option``).
EXECUTOR_OPTIONS = {"serial": {}, "dask": {"workers": 2, "executor": "dask"}}


# ---------------------------------------------------------------------------------------------
# children
# ---------------------------------------------------------------------------------------------


def child_generate(n: int, path: str) -> dict:
    """Draw the instance and write it; times in seconds."""
    from llmv2x.instances import generate_instance

    t0 = time.perf_counter()
    inst = generate_instance(seed=0, name=f"city-{n}", vehicles=n, rsus=n // 4, links=8)
    t1 = time.perf_counter()
    inst.save(path)
    t2 = time.perf_counter()
    return {"generate_s": t1 - t0, "write_s": t2 - t1, "links": int(len(inst.links[0]))}


def child_breakdown(path: str, executor: str, serial_check: bool) -> dict:
    """Load, solve and verify the instance in this process; times in seconds."""
    import llmv2x
    from llmv2x.instances import load_instance
    from llmv2x.models.evaluator import evaluate
    from llmv2x.settings import SolveSettings

    t0 = time.perf_counter()
    inst = load_instance(path)
    t1 = time.perf_counter()
    opts = EXECUTOR_OPTIONS[executor]
    res = llmv2x.solve(inst, method="exact", **opts)
    t2 = time.perf_counter()
    ev = evaluate(inst, res.allocation, SolveSettings())
    t3 = time.perf_counter()
    out = {
        "load_s": t1 - t0,
        "solve_s": t2 - t1,
        "verify_s": t3 - t2,
        "status": res.status,
        "objective": res.objective,
        "feasible": bool(ev.feasible),
        "solvers": res.solvers,
    }
    if serial_check:
        t4 = time.perf_counter()
        ser = llmv2x.solve(inst, method="exact", chunk_vehicles=20_000)
        out["serial_solve_s"] = time.perf_counter() - t4
        out["serial_objective"] = ser.objective
        out["serial_same_alpha"] = bool((ser.allocation.alpha == res.allocation.alpha).all())
    return out


# ---------------------------------------------------------------------------------------------
# the parent
# ---------------------------------------------------------------------------------------------


def timed(cmd: list[str]) -> tuple[str, float, float]:
    """Run ``cmd`` under /usr/bin/time -v: (stdout, wall s, peak RSS MB)."""
    t0 = time.perf_counter()
    proc = subprocess.run(
        ["/usr/bin/time", "-v", *cmd], capture_output=True, text=True, cwd=ROOT, check=False
    )
    wall = time.perf_counter() - t0
    if proc.returncode not in (0, 1):
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", proc.stderr)
    return proc.stdout, wall, (int(rss.group(1)) / 1024.0 if rss else float("nan"))


def child(*args: str) -> list[str]:
    return [PY, str(Path(__file__).resolve()), "--child", *args]


def run_case(n: int, fmt: str, executor: str, workdir: Path) -> dict:
    """Generate, break down and run one case end to end; the row of the table."""
    path = workdir / f"city-{n}.{fmt}"
    out, gen_wall, gen_rss = timed(child("generate", str(n), str(path)))
    gen = json.loads(out.strip().splitlines()[-1])
    serial_check = executor != "serial"
    out, _, bd_rss = timed(child("breakdown", str(path), executor, str(int(serial_check))))
    bd = json.loads(out.strip().splitlines()[-1])
    cmd = [LLMV2X, "solve", str(path), "--method", "exact"]
    for k, v in EXECUTOR_OPTIONS[executor].items():
        cmd += ["--option", f"{k}={v}"]
    out, total, cli_rss = timed(cmd)
    m = re.search(r"objective (\S+)", out)
    row = {
        "N": n,
        "M": n // 4,
        "links": gen["links"],
        "format": fmt,
        "file_mb": path.stat().st_size / 1e6,
        "generate_s": gen["generate_s"],
        "write_s": gen["write_s"],
        "generate_rss_mb": gen_rss,
        "load_s": bd["load_s"],
        "solve_s": bd["solve_s"],
        "verify_s": bd["verify_s"],
        "breakdown_rss_mb": bd_rss,
        "total_s": total,
        "cli_rss_mb": cli_rss,
        "executor": executor if executor == "serial" else f"{executor} x2",
        "status": bd["status"],
        "objective": bd["objective"],
        "cli_objective": float(m.group(1)) if m else None,
        "solvers": bd["solvers"],
        "load1": os.getloadavg()[0],
    }
    for key in ("serial_solve_s", "serial_objective", "serial_same_alpha"):
        if key in bd:
            row[key] = bd[key]
    print(json.dumps(row), flush=True)
    return row


def markdown(rows: list[dict], started: str) -> str:
    """The results page."""
    lines = [
        "# `exact` at scale (benchmarks/scale.py)",
        "",
        f"Run {started} UTC on a 2-core container shared with other jobs; load average (1 min)",
        "after each case in the last column. M = N / 4 RSUs, 8 links per vehicle (plus the",
        "associated RSU when it is not among the 8 strongest), seed 0. Times in seconds, peak",
        "memory is the maximum resident set size of the child process in MB (Dask workers",
        "are separate processes, not included). `total` is `llmv2x solve FILE --method exact`",
        "end to end as a user runs it; `load`, `solve`, `verify` come from a second child",
        "process that times each step (`solve` includes the solver's own verification;",
        "`verify` is one more evaluator pass over the whole allocation).",
        "",
        "| N | M | format | file (MB) | generate | write | load | solve | verify | total "
        "| peak MB (gen / solve / CLI) | executor | status | target | load avg |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- "
        "| --- |",
    ]
    for r in rows:
        target = TARGETS_S.get((r["N"], r["format"]))
        verdict = (
            ""
            if target is None
            else f"< {target:g} s: {'met' if r['total_s'] < target else 'missed'}"
        )
        lines.append(
            f"| {r['N']:,} | {r['M']:,} | {r['format']} | {r['file_mb']:.1f} "
            f"| {r['generate_s']:.2f} | {r['write_s']:.2f} | {r['load_s']:.2f} "
            f"| {r['solve_s']:.2f} | {r['verify_s']:.2f} | {r['total_s']:.2f} "
            f"| {r['generate_rss_mb']:.0f} / {r['breakdown_rss_mb']:.0f} / {r['cli_rss_mb']:.0f} "
            f"| {r['executor']} | {r['status']} | {verdict} | {r['load1']:.1f} |"
        )
    lines += ["", "Objectives (breakdown child and the command line):", ""]
    for r in rows:
        line = f"- N = {r['N']:,} ({r['format']}): {r['objective']!r}, CLI {r['cli_objective']!r}"
        if "serial_objective" in r:
            rel = abs(r["serial_objective"] - r["objective"]) / abs(r["objective"])
            line += (
                f"; serial (one process, same chunks) {r['serial_objective']!r} in "
                f"{r['serial_solve_s']:.1f} s, relative difference {rel:.1e}, same alpha: "
                f"{r['serial_same_alpha']}"
            )
        lines.append(line)
    lines += ["", "Raw rows (JSON):", ""]
    lines += ["    " + json.dumps(r) for r in rows]
    return "\n".join(lines) + "\n"


def other_methods() -> dict[str, list[tuple[int, float]]]:
    """(N, median wall s) of other runs from the committed results, for the plot.

    ``minlp_vs_ao.csv``: exact, AO and MindtPy in-process (imports not counted) on N = 6 to
    200; ``ao.md``: AO on ``large`` (N = 1000, M = 50), improved recipe.
    """
    labels = {"exact": "exact in-process", "AO": "AO", "MindtPy plain": "MindtPy"}
    out: dict[str, list[tuple[int, float]]] = {v: [] for v in labels.values()}
    path = ROOT / "benchmarks" / "results" / "minlp_vs_ao.csv"
    by: dict[tuple[str, int], list[float]] = {}
    if path.exists():
        with path.open() as f:
            for row in csv.DictReader(f):
                label = labels.get(row["label"])
                if label and row["time_s"]:
                    by.setdefault((label, int(row["N"])), []).append(float(row["time_s"]))
    for (label, n), times in sorted(by.items()):
        out[label].append((n, sorted(times)[len(times) // 2]))
    ao = ROOT / "benchmarks" / "results" / "ao.md"
    if ao.exists():
        for line in ao.read_text().splitlines():
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if len(cells) > 9 and cells[0] == "large" and cells[3] == "improved":
                out["AO"].append((int(cells[1]), float(cells[9])))
    return {k: sorted(set(v)) for k, v in out.items()}


def plot(rows: list[dict], path: Path) -> None:
    """Time against N, log-log: exact end to end and its solve step, AO and MindtPy."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    best: dict[int, dict] = {}
    for r in rows:  # the JSON case of each N when there is one (npz for 1M)
        if r["N"] not in best or r["format"] == "json":
            best[r["N"]] = r
    ns = sorted(best)
    ax.loglog(
        ns,
        [best[n]["total_s"] for n in ns],
        "o-",
        label="exact, llmv2x solve end to end (JSON; .npz at 1M)",
    )
    ax.loglog(ns, [best[n]["solve_s"] for n in ns], "s--", label="exact, solve step")
    npz = [r for r in rows if r["format"] == "npz"]
    if npz:
        ax.loglog([r["N"] for r in npz], [r["total_s"] for r in npz], "D", mfc="none",
                  label="exact end to end, .npz")  # fmt: skip
    for label, pts in other_methods().items():
        if pts:
            ax.loglog([p[0] for p in pts], [p[1] for p in pts], "^:", label=f"{label} (median)")
    ref = [ns[0], ns[-1]]
    t1 = best[ns[-1]]["total_s"]
    ax.loglog(ref, [t1 * ref[0] / ref[1], t1], color="0.7", lw=0.8, label="slope 1 (linear)")
    ax.set_xlabel("vehicles N (M = N / 4 RSUs; AO, MindtPy: M = 2 to 50)")
    ax.set_ylabel("wall time (s)")
    ax.grid(True, which="both", lw=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)


def main(argv: list[str] | None = None) -> int:
    """Run the cases (or one child step with ``--child``)."""
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    p.add_argument("--quick", action="store_true", help="N up to 100,000 only")
    p.add_argument("--sizes", help="comma-separated N of the cases to run")
    p.add_argument("--workdir", default="/tmp/llmv2x-scale", help="where instance files go")
    p.add_argument("--from-rows", help="redraw the table and plot from a JSON-lines file")
    args = p.parse_args(argv)
    if args.child:
        step, *rest = args.child
        if step == "generate":
            print(json.dumps(child_generate(int(rest[0]), rest[1])))
        else:
            print(json.dumps(child_breakdown(rest[0], rest[1], rest[2] == "1")))
        return 0
    started = time.strftime("%Y-%m-%d %H:%M", time.gmtime())
    if args.from_rows:
        rows = [json.loads(x) for x in Path(args.from_rows).read_text().splitlines() if x]
    else:
        sizes = {int(s) for s in args.sizes.split(",")} if args.sizes else None
        cases = [c for c in CASES if (sizes is None or c[0] in sizes)]
        if args.quick:
            cases = [c for c in cases if c[0] <= 100_000]
        workdir = Path(args.workdir)
        workdir.mkdir(parents=True, exist_ok=True)
        rows = [run_case(n, fmt, ex, workdir) for n, fmt, ex in cases]
    RESULTS.write_text(markdown(rows, started))
    plot(rows, FIGURE)
    print(f"wrote {RESULTS.relative_to(ROOT)} and {FIGURE.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
