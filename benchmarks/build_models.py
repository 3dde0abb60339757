"""Wall time to build the Pyomo models of P1 and the two sub-problems (median of 3 builds).

Run: ``python benchmarks/build_models.py [--repeats K] [INSTANCE ...]``. The default
instances are ``instances/paper-seed0.json``, ``instances/medium.json`` and
``instances/large.json`` (written by ``scripts/make_instances.py``). Target: the large
instance (N = 1000, M = 50) builds P1, sub-problem I and sub-problem II (parametric) in
under 5 s in total.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from llmv2x.instances import Instance
from llmv2x.models.p1 import build_p1
from llmv2x.models.subproblem1 import build_subproblem1
from llmv2x.models.subproblem2 import build_subproblem2_epigraph, build_subproblem2_parametric
from llmv2x.settings import SolveSettings
from llmv2x.solvers.initial import initial_allocation

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_INSTANCES = ("paper-seed0.json", "medium.json", "large.json")
#: Column name -> builder(instance, settings, allocation).
BUILDERS: dict[str, Callable[[Instance, SolveSettings, Any], Any]] = {
    "P1": lambda inst, s, a: build_p1(inst, s, a),
    "sub-I": lambda inst, s, a: build_subproblem1(inst, s, a),
    "sub-II param": lambda inst, s, a: build_subproblem2_parametric(inst, s, a),
    "sub-II epi": lambda inst, s, a: build_subproblem2_epigraph(inst, s, a),
}
#: The builders that count towards the 5 s target (one AO set-up: P1 and both sub-problems).
TARGET_COLUMNS = ("P1", "sub-I", "sub-II param")
TARGET_S = 5.0


def median_build_time(
    builder: Callable[[Instance, SolveSettings, Any], Any],
    instance: Instance,
    settings: SolveSettings,
    repeats: int = 3,
) -> float:
    """Median wall time in s of ``repeats`` calls of ``builder(instance, settings, start)``."""
    start = initial_allocation(instance, settings)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        builder(instance, settings, start)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def run(paths: list[Path], repeats: int = 3) -> dict[str, dict[str, float]]:
    """Build times per instance name and builder; prints the table as it goes."""
    settings = SolveSettings()
    header = f"{'instance':<14} {'N':>5} {'M':>3} " + " ".join(f"{c:>13}" for c in BUILDERS)
    header += f" {'P1+I+II (s)':>12}"
    print(header)
    print("-" * len(header))
    table: dict[str, dict[str, float]] = {}
    for path in paths:
        inst = Instance.load(path)
        row = {col: median_build_time(b, inst, settings, repeats) for col, b in BUILDERS.items()}
        total = sum(row[c] for c in TARGET_COLUMNS)
        table[inst.name] = {**row, "total": total}
        cells = " ".join(f"{row[c]:13.3f}" for c in BUILDERS)
        print(f"{inst.name:<14} {inst.n_vehicles:5d} {inst.n_rsus:3d} {cells} {total:12.3f}")
    return table


def main() -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("instances", nargs="*", type=Path, help="instance files")
    parser.add_argument("--repeats", type=int, default=3, help="builds per cell (median)")
    args = parser.parse_args()
    paths = args.instances or [ROOT / "instances" / name for name in DEFAULT_INSTANCES]
    table = run(paths, args.repeats)
    if "large" in table:
        total = table["large"]["total"]
        verdict = "meets" if total < TARGET_S else "MISSES"
        print(
            f"\nlarge: P1 + sub-problem I + sub-problem II (parametric) build in {total:.2f} s "
            f"({verdict} the {TARGET_S:g} s target)"
        )


if __name__ == "__main__":
    main()
