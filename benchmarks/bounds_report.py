"""Tables and the bound-over-time plot of ``benchmarks/bounds.py`` (split from it by step)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd


def family_table(g: pd.DataFrame) -> pd.DataFrame:
    """One line per (instance, run): status, incumbent, bound, gap (%), time."""
    note = g["message"].fillna("").astype(str).str.lower().str.contains("licence")
    return pd.DataFrame(
        {
            "instance": g["instance"],
            "run": g["run"],
            "status": g["status"].where(~note, g["status"] + " (licence)"),
            "incumbent": g["objective"],
            "bound": g["bound"],
            "gap %": 100 * g["gap"],
            "time s": g["time_s"],
        }
    )


def _num(v: Any) -> str:
    return "-" if pd.isna(v) else f"{v:.6g}"


def compact(g: pd.DataFrame, runs: tuple[str, ...]) -> pd.DataFrame:
    """Runs as rows, N as columns; cell ``incumbent / bound (gap %), time s`` or the status."""
    out: dict[str, dict[str, str]] = {}
    for r in g.itertuples(False):
        if r.status in ("refused", "error"):
            licence = "licence" in str(r.message).lower()
            cell = "licence-limited" if licence else str(r.status)
        else:
            gap = "" if pd.isna(r.gap) else f" ({100 * r.gap:.2g} %)"
            cell = f"{_num(r.objective)} / {_num(r.bound)}{gap}, {r.time_s:.0f} s"
            if r.status not in ("optimal", "converged", "feasible"):
                cell += f" [{r.status}]"
        out.setdefault(r.run, {})[f"N = {r.N}"] = cell
    table = pd.DataFrame.from_dict(out, orient="index")
    table = table.reindex(index=[x for x in runs if x in out])
    table = table[sorted(table.columns, key=lambda c: int(c.split("=")[1]))]
    return table.fillna("").rename_axis("run").reset_index()


def vs_scip(df: pd.DataFrame) -> pd.DataFrame:
    """Per instance: our bound and gap next to SCIP's best (plain or strong)."""
    rows = []
    for inst, g in df.groupby("instance", sort=False):
        ours = g[g["run"] == "exact"]
        scip = g[g["run"].str.startswith("scip:")]
        if ours.empty or scip.empty:
            continue
        best_inc = g["objective"].min()
        sb = scip["bound"].max()
        ob = ours["bound"].iloc[0]
        rows.append(
            {
                "instance": inst,
                "best incumbent": best_inc,
                "ours: bound": ob,
                "ours: status": ours["status"].iloc[0],
                "ours: time s": ours["time_s"].iloc[0],
                "SCIP best bound": sb,
                "ours below SCIP %": 100 * (sb - ob) / abs(best_inc) if pd.notna(ob) else math.nan,
                "gap to best incumbent, ours %": 100 * (best_inc - ob) / abs(best_inc),
                "... SCIP %": 100 * (best_inc - sb) / abs(best_inc),
            }
        )
    return pd.DataFrame(rows)


def plot(
    traces_csv: Path, df: pd.DataFrame, path: Path, n: int, families: dict[str, tuple]
) -> None:
    """Lower bound and incumbent over time, ours and SCIP's, one panel per family (N = n)."""
    if not traces_csv.exists():
        return
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tr = pd.read_csv(traces_csv)
    tr = tr[tr["N"] == n]
    fams = [f for f in families if f in set(tr["family"])]
    if not fams:
        return
    fig, axes = plt.subplots(1, len(fams), figsize=(5.2 * len(fams), 4.4), squeeze=False)
    styles = {"exact": ("C0", "ours (exact)"), "scip:strong": ("C3", "SCIP strong"),
              "scip:plain": ("C1", "SCIP plain")}  # fmt: skip
    for ax, fam in zip(axes[0], fams, strict=True):
        g = tr[tr["family"] == fam]
        inst = sorted(set(g["instance"]))[0]
        g = g[g["instance"] == inst]
        objs = df[(df["instance"] == inst)]["objective"].dropna()
        best = float(objs.min()) if len(objs) else float(g["objective"].min())
        same = _same_trace(g, "scip:plain", "scip:strong")
        for run, (colour, label) in styles.items():
            s = g[g["run"] == run].sort_values("time_s")
            if s.empty or (same and run == "scip:plain"):
                continue
            if same and run == "scip:strong":
                label = "SCIP strong (= plain here)"
            end = df[(df["instance"] == inst) & (df["run"] == run)]["time_s"]
            if len(end) and float(end.iloc[0]) > s["time_s"].iloc[-1]:  # flat to the end
                s = pd.concat([s, s.iloc[[-1]].assign(time_s=float(end.iloc[0]))])
            t = s["time_s"].clip(lower=1e-3)
            lb = (s["lower_bound"] - best) / abs(best) * 100
            ub = (s["objective"] - best) / abs(best) * 100
            z = 3 if run == "exact" else 2
            ax.step(t, lb, where="post", color=colour, lw=1.8, zorder=z,
                    label=f"{label}: lower bound")  # fmt: skip
            ax.step(t, ub, where="post", color=colour, lw=1.2, ls="--", zorder=z,
                    label=f"{label}: incumbent")  # fmt: skip
        ax.set_xscale("log")
        ax.set_yscale("symlog", linthresh=1e-3)
        ax.axhline(0, color="k", lw=0.6)
        ax.set_xlabel("wall time (s, log)")
        ax.set_title(f"family {fam}: {families[fam][0]}\n{inst}", fontsize=9)
        ax.grid(alpha=0.3, which="both")
    axes[0][0].set_ylabel("distance to the best incumbent of all runs, % (symlog)")
    handles, labels = axes[0][0].get_legend_handles_labels()
    for ax in axes[0][1:]:
        for h, lab in zip(*ax.get_legend_handles_labels(), strict=True):
            if lab not in labels:
                handles.append(h)
                labels.append(lab)
    fig.legend(handles, labels, fontsize=8, loc="lower center", ncol=3, frameon=False)
    fig.tight_layout(rect=(0, 0.12, 1, 1))
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _same_trace(g: pd.DataFrame, a: str, b: str) -> bool:
    """True when runs ``a`` and ``b`` recorded the same values (one model for both)."""
    cols = ["lower_bound", "objective"]
    ta, tb = g[g["run"] == a][cols].to_numpy(), g[g["run"] == b][cols].to_numpy()
    if not len(ta) or ta.shape != tb.shape:
        return False
    return bool(np.allclose(ta, tb, rtol=1e-12, atol=0.0, equal_nan=True))
