"""The MINLP benchmark library, built whole and read back by SCIP (docs/library.md, issue 13).

Run: ``.venv/bin/python benchmarks/library.py [--dir DIR] [--time-limit 60] [--workers 1]
[--check-time-limit 5] [--report-only]``.

1. ``llmv2x.library.build.build`` over the whole catalogue into ``DIR`` (default
   ``build/library``, not committed: the command rebuilds it): per problem the export, SCIP
   and Gurobi (method ``minlp``) at ``--time-limit`` seconds on the problem's formulation,
   and the certificate (method ``exact``, or the best minlp point while ``exact`` refuses
   the variant). Resumable: a second run only redoes what is missing or stale, so the
   wall time stated is that of the run that wrote the report.
2. ``llmv2x.library.readback.check_library`` with ``--check-time-limit`` seconds of SCIP.
3. Writes ``benchmarks/results/library_index.csv`` (the index) and
   ``benchmarks/results/library.md``: the index table, what SCIP and Gurobi solve and what
   not, the largest gap each leaves, the check's table, the run time and the machine load
   (1-minute load average sampled every 30 s during the build).

``--report-only`` skips step 1; the report then states the time of the build recorded in
``DIR/benchmark.json`` (the full build that made the folder; a later build that only adds
stages, such as certificates ``exact`` can now give, does not replace it).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import resource
import shutil
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"


class LoadSampler:
    """Sample the 1-minute load average every ``every`` seconds in a thread."""

    def __init__(self, every: float = 30.0) -> None:
        self.every, self.samples = every, [os.getloadavg()[0]]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            self.samples.append(os.getloadavg()[0])

    def __enter__(self) -> LoadSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def _cpu_s() -> float:
    """CPU seconds of this process (all its threads) and its finished children."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def _f(x: str) -> float | None:
    return float(x) if x not in ("", None) else None


def _gap(value: float | None, ref: float | None) -> float | None:
    """(value - ref) / |ref|, or None."""
    if value is None or ref is None or not math.isfinite(value):
        return None
    return (value - ref) / max(1e-12, abs(ref))


def _pct(x: float | None) -> str:
    return "" if x is None else f"{100 * x:+.3g} %"


def _g(x: str, digits: int = 10) -> str:
    v = _f(x)
    return "" if v is None else f"{v:.{digits}g}"


def solver_summary(rows: list[dict], solver: str) -> list[str]:
    """Which problems ``solver`` solves (proves optimal), which not, and its largest gaps."""
    solved, open_, limited, other = [], [], [], []
    worst_inc = worst_bound = worst_own = None
    for r in rows:
        st = r[f"{solver}_status"]
        ours = _f(r["objective_value"])
        best_bound = _f(r["optimum_or_bound"])
        certified = r["status"] == "optimal"
        if st == "optimal":
            solved.append(r["name"])
        elif st == "licence limit":
            limited.append(r["name"])
            continue
        elif st in ("time_limit", "feasible"):
            open_.append(r["name"])
        else:
            other.append(f"{r['name']} ({st or 'not run'})")
            continue
        inc, bound = _f(r[f"{solver}_objective"]), _f(r[f"{solver}_bound"])
        ref = ours if certified else None
        g_inc = _gap(inc, ref)
        g_bound = None if bound is None or ref is None else (ref - bound) / abs(ref)
        g_own = None if inc is None or bound is None else (inc - bound) / max(1e-12, abs(inc))
        if bound is None and st != "optimal":
            g_own = math.inf
        for cur, new, key in ((worst_inc, g_inc, "inc"), (worst_bound, g_bound, "bound"),
                              (worst_own, g_own, "own")):  # fmt: skip
            if new is not None and (cur is None or new > cur[0]):
                if key == "inc":
                    worst_inc = (new, r["name"])
                elif key == "bound":
                    worst_bound = (new, r["name"])
                else:
                    worst_own = (new, r["name"])
        del best_bound
    n = len(rows)
    out = [
        f"* proves optimality on {len(solved)} of {n}: "
        + (", ".join(f"`{x}`" for x in solved) or "none"),
        f"* does not prove optimality within the time limit on {len(open_)}: "
        + (", ".join(f"`{x}`" for x in open_) or "none"),
    ]
    no_point = [r["name"] for r in rows if r[f"{solver}_status"] in ("time_limit", "feasible")
                and not r[f"{solver}_objective"]]  # fmt: skip
    if no_point:
        out.append(f"* has no incumbent after the time limit on {len(no_point)}: "
                   + ", ".join(f"`{x}`" for x in no_point))  # fmt: skip
    if limited:
        out.append(f"* refused by the pip licence's size limit on {len(limited)}")
    if other:
        out.append(f"* other outcomes: {', '.join(other)}")
    if worst_own:
        what = "no bound at all" if math.isinf(worst_own[0]) else _pct(worst_own[0])
        out.append(f"* largest gap of its own (incumbent - bound) / incumbent: {what} on "
                   f"`{worst_own[1]}`")  # fmt: skip
    if worst_bound:
        out.append(f"* largest gap of its bound below our certified optimum: "
                   f"{_pct(worst_bound[0])} on `{worst_bound[1]}`")  # fmt: skip
    if worst_inc:
        out.append(f"* largest excess of its incumbent over our certified optimum: "
                   f"{_pct(worst_inc[0])} on `{worst_inc[1]}`")  # fmt: skip
    return out


def index_table(rows: list[dict]) -> list[str]:
    """The index as a Markdown table (the columns a reader scans)."""
    head = ("| problem | family | vars (int, bin) | cons | nl terms | optimum or bound | status "
            "| SCIP obj / bound / status / s | Gurobi obj / bound / status / s |")  # fmt: skip
    lines = [head, "| " + " | ".join(["---"] * 9) + " |"]
    from llmv2x.library.catalogue import by_name

    problems = by_name()
    for r in rows:
        fam = problems[r["name"]].family if r["name"] in problems else ""
        cert = r["status"] + ("" if r["certificate"] == "exact" else f" ({r['certificate']})")
        solvers = []
        for s in ("scip", "gurobi"):
            if r[f"{s}_status"] == "licence limit":
                solvers.append("licence limit")
            else:
                solvers.append(f"{_g(r[s + '_objective'])} / {_g(r[s + '_bound'])} / "
                               f"{r[s + '_status']} / {_g(r[s + '_time_s'], 3)}")  # fmt: skip
        lines.append(
            f"| `{r['name']}` | {fam} | {r['variables']} ({r['integer']}, {r['binary']}) | "
            f"{r['constraints']} | {r['nonlinear_terms']} | {_g(r['optimum_or_bound'])} | "
            f"{cert} | {solvers[0]} | {solvers[1]} |"
        )
    return lines


def main(argv: list[str] | None = None) -> int:
    """Build, check, report."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dir", default=str(ROOT / "build" / "library"))
    ap.add_argument("--time-limit", type=float, default=60.0)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--check-time-limit", type=float, default=5.0)
    ap.add_argument("--report-only", action="store_true")
    args = ap.parse_args(argv)

    from llmv2x.library.build import build, cpu_count
    from llmv2x.library.index import read_index
    from llmv2x.library.readback import check_library, format_table

    folder = Path(args.dir)
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    build_s = None
    run: dict = {}
    loads: list[float] = []
    if not args.report_only:
        t0, c0 = time.perf_counter(), _cpu_s()
        with LoadSampler() as sampler:
            report = build(folder, None, time_limit=args.time_limit, workers=args.workers,
                           progress=lambda s: print(s, file=sys.stderr, flush=True))  # fmt: skip
        build_s = time.perf_counter() - t0
        loads = sampler.samples
        print(f"build: {report.n_ran} stages in {build_s:.0f} s; failed {report.failed}")
        run = {"started": started, "build_s": build_s, "cpu_s": _cpu_s() - c0, "loads": loads,
               "stages": report.n_ran, "runs": 1}  # fmt: skip
        before = folder / "benchmark.json"
        if before.is_file():  # an earlier, interrupted run of this build: add it up
            old = json.loads(before.read_text())
            run = {"started": old["started"], "build_s": old["build_s"] + build_s,
                   "cpu_s": old["cpu_s"] + run["cpu_s"], "loads": old["loads"] + loads,
                   "stages": old["stages"] + report.n_ran,
                   "runs": old.get("runs", 1) + 1}  # fmt: skip
            started, build_s, loads = run["started"], run["build_s"], run["loads"]
        (folder / "benchmark.json").write_text(json.dumps(run) + "\n")
    elif (folder / "benchmark.json").is_file():
        # the timing of the build that made the folder (a later run only adds stages)
        run = json.loads((folder / "benchmark.json").read_text())
        started, build_s, loads = run["started"], run["build_s"], run["loads"]
    cpu_s = run.get("cpu_s") if build_s is not None else None
    t1 = time.perf_counter()
    checks = check_library(folder, None, args.check_time_limit)
    check_s = time.perf_counter() - t1
    rows = read_index(folder / "index.csv")
    RESULTS.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(folder / "index.csv", RESULTS / "library_index.csv")

    n_cert = sum(1 for r in rows if r["status"] == "optimal" and r["certificate"] == "exact")
    passed = sum(1 for c in checks if c.ok)
    md = [
        "# The MINLP benchmark library: build and SCIP read-back",
        "",
        "Made by `benchmarks/library.py` (docs/library.md). The whole catalogue built with "
        f"`llmv2x library build` (SCIP and Gurobi at {args.time_limit:g} s each, "
        f"{args.workers} worker), then `llmv2x library check` with a "
        f"{args.check_time_limit:g} s SCIP solve per problem. The full index is "
        "`library_index.csv` beside this file.",
        "",
        f"* run started {started}, machine: {platform.processor() or platform.machine()}, "
        f"{cpu_count()} cores shared with other work, Python {platform.python_version()}",
    ]
    if build_s is not None:
        md.append(
            f"* build wall time: {build_s / 60:.1f} min; 1-minute load average during it: "
            f"min {min(loads):.1f}, median {sorted(loads)[len(loads) // 2]:.1f}, "
            f"max {max(loads):.1f} ({len(loads)} samples)"
            + ("" if run.get("runs", 1) == 1 else f"; in {run['runs']} runs (resumed)")
            + ("" if cpu_s is None else f"; CPU time of the build {cpu_s / 60:.1f} min")
        )
    else:
        md.append("* build: no timing recorded (--report-only on a folder without benchmark.json)")
    md += [
        f"* read-back check wall time: {check_s / 60:.1f} min",
        f"* {len(rows)} problems: {n_cert} with an optimum certified by method `exact`; "
        f"{len(rows) - n_cert} not certified ("
        + ", ".join(f"`{r['name']}`" for r in rows if r["status"] != "optimal")
        + "), which carry the best point and the best proven bound of `exact`, SCIP and "
        "Gurobi (status `feasible`)",
        f"* read-back: {passed} of {len(checks)} problems pass every check",
        "",
        "## What SCIP and Gurobi do in the time limit",
        "",
        "Gaps against our optimum are over the problems with a certified optimum.",
        "",
        "SCIP:",
        "",
        *solver_summary(rows, "scip"),
        "",
        "Gurobi:",
        "",
        *solver_summary(rows, "gurobi"),
        "",
        "## The index",
        "",
        *index_table(rows),
        "",
        "## Read-back by SCIP's `.nl` reader",
        "",
        format_table(checks),
        "",
    ]
    (RESULTS / "library.md").write_text("\n".join(md))
    print(f"wrote {RESULTS / 'library.md'}; check: {passed} of {len(checks)} pass")
    return 0 if passed == len(checks) else 1


if __name__ == "__main__":
    sys.exit(main())
