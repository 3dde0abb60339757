"""AO on the problem family against method ``exact``: objective, time, gap to exact's point
and to the fixed-association optimum (docs/algorithms.md#ao-for-the-problem-family).

Run (from the repository root, after ``make setup``; about 30-60 min on 2 cores)::

    .venv/bin/python benchmarks/ao_family.py
    .venv/bin/python benchmarks/ao_family.py --variants association --instances 0,1
    .venv/bin/python benchmarks/ao_family.py --report     # only the Markdown from the CSV
    .venv/bin/python benchmarks/ao_family.py --ao-only    # AO again, exact's rows kept

Instances: ``make_instance(variant, i, 20, 5)`` of ``benchmarks/variants.py`` (seed 200 + i,
tau_D = 1.0 ... 2.0), i = 0..9, for the variants "deadlines+energy" and
"inequality+deadlines" (fixed association) and "association" and "association+deadlines"
(``association=decision``). Per instance:

* ``ao`` with the variant's settings (no time limit: it stops on its own);
* ``exact`` with the variant's settings and ``--time-limit`` (default 120 s): under decision
  its certified decision bound and best point;
* the fixed-association optimum: ``exact`` under ``association=fixed`` with the same limit
  (for the fixed variants that is the ``exact`` run itself).

Columns: AO's objective and time, exact's objective / bound / status, ``gap_exact_pct`` =
(AO - exact's point) / exact's point and ``vs_fixed_pct`` = (AO - fixed optimum) / fixed
optimum, in percent (negative: AO below). An AO warm-up on a 3-vehicle instance pays the
one-off costs (JIT, imports) before the timed runs. Outputs: ``--out`` (default
``benchmarks/results/ao_family.csv``, one row per instance, written after each; rows of
instances not run now are kept) and the Markdown next to it (``ao_family.md``).
``--ao-only`` runs AO alone and keeps exact's and the fixed optimum's columns of the CSV
(for a change to AO only: the references do not depend on it).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from llmv2x.instances import generate_instance  # noqa: E402
from llmv2x.settings import SolveSettings  # noqa: E402
from llmv2x.solvers.methods import get_method  # noqa: E402
from minlp_vs_ao import git_state, md_table  # noqa: E402
from variants import TAUS, VARIANTS, make_instance, settings_for  # noqa: E402

FAMILY_VARIANTS = (
    "deadlines+energy",
    "inequality+deadlines",
    "association",
    "association+deadlines",
)
#: AO counts as reaching exact's point within this relative gap (the target under decision)
WITHIN = 0.01


def _run(method: str, inst: Any, settings: SolveSettings) -> dict[str, Any]:
    t = time.perf_counter()
    res = get_method(method)(inst, settings)
    return {
        "objective": res.objective,
        "bound": res.lower_bound,
        "status": res.status,
        "time_s": time.perf_counter() - t,
        "message": res.message,
    }


def _pct(a: float | None, b: float | None) -> float:
    if a is None or b is None or not np.isfinite(a) or not np.isfinite(b) or b == 0:
        return float("nan")
    return (a - b) / abs(b) * 100.0


def _kept(row: pd.Series, prefix: str) -> dict[str, Any]:
    """A run's columns (``prefix`` exact or fixed) from an earlier CSV row."""
    return {k: row.get(f"{prefix}_{k}") for k in ("objective", "bound", "status", "time_s")}


def run_instance(
    variant: str, i: int, time_limit: float, earlier: pd.Series | None = None
) -> dict[str, Any]:
    """One CSV row: AO, exact and the fixed-association optimum on instance ``i``;
    ``earlier`` (``--ao-only``): exact's and the fixed optimum's columns taken from it."""
    inst = make_instance(variant, i, 20, 5)
    method, s_ao = settings_for(variant, "ao", time_limit)
    ao = _run(method, inst, s_ao)
    method, s_ex = settings_for(variant, "exact", time_limit)
    decision = s_ex.association == "decision"
    if earlier is not None:
        ex, fx = _kept(earlier, "exact"), _kept(earlier, "fixed")
    else:
        ex = _run(method, inst, s_ex)
        fx = _run(method, inst, s_ex.with_(association="fixed")) if decision else ex
    return {
        "variant": variant,
        "instance": i,
        "seed": 200 + i,
        "tau_d": float(TAUS[i]) if VARIANTS[variant][1] else float("nan"),
        "association": s_ex.association,
        "ao_objective": ao["objective"],
        "ao_time_s": ao["time_s"],
        "ao_status": ao["status"],
        "exact_objective": ex["objective"],
        "exact_bound": ex["bound"],
        "exact_status": ex["status"],
        "exact_time_s": ex["time_s"],
        "fixed_objective": fx["objective"],
        "fixed_bound": fx["bound"],
        "fixed_status": fx["status"],
        "gap_exact_pct": _pct(ao["objective"], ex["objective"]),
        "vs_fixed_pct": _pct(ao["objective"], fx["objective"]),
        "load1": os.getloadavg()[0],
        "ao_message": ao["message"],
    }


def run_meta(script: str, argv: list[str] | None, time_limit: float) -> dict[str, str]:
    """The settings lines of a report: command, exact's limit, commit, cores (shared with
    ``ao_unseen.py``)."""
    return {
        "command": f"benchmarks/{script} " + " ".join(argv if argv is not None else sys.argv[1:]),
        "exact time limit s": f"{time_limit:g}",
        "code": git_state(),
        "cpus": str(os.cpu_count()),
    }


def write_report(csv_path: Path, md_path: Path, meta: dict[str, str]) -> None:
    """The Markdown report of the CSV: settings, per-variant summary, the table."""
    df = pd.read_csv(csv_path)
    lines = [
        "# AO on the problem family vs exact",
        "",
        f"Generated {datetime.now():%Y-%m-%d %H:%M}.",
        "",
    ]
    lines += [f"- {k}: {v}" for k, v in meta.items()]
    lines += ["", "## Summary", ""]
    rows = []
    for var, g in df.groupby("variant", sort=False):
        rows.append(
            {
                "variant": var,
                "association": g["association"].iloc[0],
                "instances": len(g),
                f"AO within {WITHIN:.0%} of exact's point": int(
                    (g["gap_exact_pct"] <= 100 * WITHIN).sum()
                ),
                "AO at or below fixed optimum (+1e-4 %)": int((g["vs_fixed_pct"] <= 1e-4).sum()),
                "max gap to exact %": g["gap_exact_pct"].max(),
                "AO time max s": g["ao_time_s"].max(),
                "AO time mean s": g["ao_time_s"].mean(),
                "exact optimal": int((g["exact_status"] == "optimal").sum()),
            }
        )
    lines += [md_table(pd.DataFrame(rows), 3), "", "## Per instance", ""]
    cols = [
        "variant",
        "instance",
        "tau_d",
        "ao_objective",
        "ao_time_s",
        "exact_objective",
        "exact_bound",
        "exact_status",
        "gap_exact_pct",
        "fixed_objective",
        "vs_fixed_pct",
        "load1",
    ]
    lines += [md_table(df[cols], 4), ""]
    lines += [
        "gap_exact_pct = (AO - exact's point) / exact's point; vs_fixed_pct = (AO - fixed-"
        "association optimum) / that optimum (exact under association=fixed, same limit); "
        "under fixed association both are exact's run. Times are wall clock on a shared "
        "machine (load1 = 1-minute load average when the row finished).",
        "",
    ]
    md_path.write_text("\n".join(lines))


def main(argv: list[str] | None = None) -> int:
    """Run the study (see the module docstring)."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--variants", default=",".join(FAMILY_VARIANTS))
    ap.add_argument("--instances", default=",".join(str(i) for i in range(10)))
    ap.add_argument("--time-limit", type=float, default=120.0)
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/ao_family.csv"))
    ap.add_argument("--report", action="store_true", help="only rewrite the Markdown from the CSV")
    ap.add_argument(
        "--ao-only",
        action="store_true",
        help="run AO again; exact's and the fixed optimum's columns from the CSV's rows",
    )
    args = ap.parse_args(argv)
    csv_path, md_path = args.out, args.out.with_suffix(".md")
    meta = run_meta("ao_family.py", argv, args.time_limit)
    if args.report:
        write_report(csv_path, md_path, meta)
        return 0
    variants = [v for v in args.variants.split(",") if v]
    unknown = set(variants) - set(VARIANTS)
    if unknown:
        ap.error(f"unknown variant(s) {sorted(unknown)}; known: {', '.join(VARIANTS)}")
    instances = [int(x) for x in args.instances.split(",") if x]
    # one-off costs (JIT, imports) paid outside the timed runs
    warm = generate_instance(
        seed=1, vehicles=3, rsus=2, deadline_tightness=1.5, energy_tightness=1.1
    )
    get_method("ao")(warm, SolveSettings(association="decision"))
    csv_path.parent.mkdir(parents=True, exist_ok=True)
    # rows of instances not run now are kept (in their place), so a subset can be redone
    old = pd.read_csv(csv_path) if csv_path.exists() else pd.DataFrame()
    rows = {(r["variant"], int(r["instance"])): r.to_dict() for _, r in old.iterrows()}
    for var in variants:
        for i in instances:
            earlier = None
            if args.ao_only:
                if (var, i) not in rows:
                    ap.error(f"--ao-only: no row for {var} {i} in {csv_path}")
                earlier = pd.Series(rows[(var, i)])
            row = run_instance(var, i, args.time_limit, earlier)
            rows[(var, i)] = row
            pd.DataFrame(list(rows.values())).to_csv(csv_path, index=False)
            print(
                f"{var:24s} {i} ao {row['ao_objective']:.4f} ({row['ao_time_s']:.1f} s) "
                f"exact {row['exact_objective']:.4f} [{row['exact_status']}] "
                f"gap {row['gap_exact_pct']:+.3f} % vs fixed {row['vs_fixed_pct']:+.3f} %",
                flush=True,
            )
            write_report(csv_path, md_path, meta)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
