"""Time one small study serially and on the local process pool; print serial/parallel.

    .venv/bin/python benchmarks/sweep.py [--seeds K] [--workers W]

The study: K draws of the default scenario (20 vehicles, 5 RSUs) x omega_t in {0.2, 0.5, 0.8}
x AO, RLOR, RRLO (default K = 4: 36 solves). The parallel time includes starting the worker
processes (spawn, about 1.5 s each to import the solver stack), so the ratio is what a user
sees, not the ideal. The two tables are checked to be identical apart from solve times.
CPU seconds and the load average are printed too: on a shared machine (load above the core
count) the wall-time ratio says more about the neighbours than about the pool.
"""

from __future__ import annotations

import argparse
import os
import time

import pandas as pd

from llmv2x.experiments.sweep import COLUMNS, paper_study, run_study


def main() -> None:
    """Run the benchmark and print the two wall times and their ratio."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=4)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    study = paper_study(args.seeds, omega_t=(0.2, 0.5, 0.8), methods=("ao", "rlor", "rrlo"))
    n = len(study.tasks())

    load0 = os.getloadavg()[0]
    c0, t0 = os.times(), time.perf_counter()
    serial = run_study(study, workers=1, progress=False)
    c1, t_serial = os.times(), time.perf_counter() - t0
    cpu_serial = c1.user + c1.system - c0.user - c0.system

    t0 = time.perf_counter()
    pool = run_study(study, workers=args.workers, progress=False)
    c2, t_pool = os.times(), time.perf_counter() - t0
    cpu_pool = c2.children_user + c2.children_system - c1.children_user - c1.children_system

    same = [c for c in COLUMNS if c != "solve_time_s"]
    pd.testing.assert_frame_equal(serial[same], pool[same])
    print(f"study: {n} solves ({args.seeds} seeds x 3 omega_t x ao, rlor, rrlo)")
    print(f"load average before: {load0:.1f}, after: {os.getloadavg()[0]:.1f}")
    print(f"serial:             {t_serial:7.1f} s wall, {cpu_serial:6.1f} s CPU")
    print(
        f"process pool ({args.workers}):   {t_pool:7.1f} s wall, {cpu_pool:6.1f} s CPU in workers"
    )
    print(f"serial / parallel:  {t_serial / t_pool:7.2f}  (tables identical)")


if __name__ == "__main__":
    main()
