"""Figures 1 and 2 of the paper from a study table, and the paper's claims checked on it.

Figure 1 is completion time against omega_t, Figure 2 energy against omega_t, for AO, RLOR and
RRLO: the mean over seeds with a 95 % confidence band (Student t-interval). Each figure has two
panels: computation only (what the paper's cost counts under the ``paper`` objective) and end
to end, with the transmission included. Each figure is written as PNG and PDF, with the CSV of
the plotted means and intervals beside it. No solving happens here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from scipy import stats

from llmv2x.experiments.sweep import PAPER_METHODS

OK_STATUSES = ("optimal", "converged", "feasible", "time_limit")

#: label, colour and marker of each method in every figure
METHOD_STYLE: dict[str, tuple[str, str, str]] = {
    "ao": ("AO (proposed)", "#1f77b4", "o"),
    "rlor": ("RLOR (random offloading)", "#d62728", "s"),
    "rrlo": ("RRLO (random resources)", "#2ca02c", "^"),
    "local": ("local (α = Υ)", "#9467bd", "v"),
    "offload": ("offload (α = 1)", "#8c564b", "D"),
    "equal": ("equal shares", "#7f7f7f", "P"),
}


@dataclass(frozen=True)
class Panel:
    """One panel: the table column plotted, its axis label (with unit) and its title.

    ``transmission`` names the part of ``metric`` spent on transmission; the panel then
    states that share, which is what makes an end-to-end curve flat.
    """

    metric: str
    ylabel: str
    title: str
    transmission: str | None = None


#: figure name -> (figure title, its panels)
FIGURES: dict[str, tuple[str, tuple[Panel, ...]]] = {
    "figure1": (
        "Figure 1: completion time vs. weight of time",
        (
            Panel(
                "compute_time_s",
                "computation time, sum over vehicles (s)",
                "computation only (vehicle + RSU layers)",
            ),
            Panel(
                "completion_time_s",
                "completion time, sum over vehicles (s)",
                "end to end: computation + transmission",
                "transmit_time_s",
            ),
        ),
    ),
    "figure2": (
        "Figure 2: energy consumption vs. weight of time",
        (
            Panel(
                "compute_energy_j",
                "computation energy, vehicles + RSUs (J)",
                "computation only (vehicle + RSU layers)",
            ),
            Panel(
                "energy_j",
                "energy, sum over vehicles and RSUs (J)",
                "total: computation + transmission",
                "transmit_energy_j",
            ),
        ),
    ),
}


def with_derived(df: pd.DataFrame) -> pd.DataFrame:
    """The table with ``compute_energy_j`` = vehicle + RSU compute energy added."""
    out = df.copy()
    out["compute_energy_j"] = out["vehicle_energy_j"] + out["rsu_energy_j"]
    return out


def solved(df: pd.DataFrame, methods: Sequence[str] | None = None) -> pd.DataFrame:
    """The rows that carry a solution, on the instances every method solved throughout.

    A row counts when its status is a solution (not ``error`` or ``infeasible``). An
    instance (with its seed) on which any of ``methods`` failed at any omega_t is dropped
    for every method and every omega_t, so that all points of all curves average over the
    same instances: transmission varies by orders of magnitude between instances, and one
    missing instance would shift a mean visibly.
    """
    if methods is None:
        methods = list(dict.fromkeys(df["method"]))
    data = df[df["method"].isin(methods)]
    key = ["instance", "seed"]
    bad = data.loc[~data["status"].isin(OK_STATUSES), key].drop_duplicates()
    drop = pd.MultiIndex.from_frame(bad) if len(bad) else None
    if drop is not None:
        data = data[~pd.MultiIndex.from_frame(data[key]).isin(drop)]
    return with_derived(data)


def aggregate(
    df: pd.DataFrame, metrics: Sequence[str], methods: Sequence[str] | None = None
) -> pd.DataFrame:
    """Mean and 95 % t-interval of each metric per method and omega_t, over seeds/instances.

    Only rows from ``solved`` count (solutions, paired across ``methods``); ``n`` says
    how many rows each mean is over.

    Parameters
    ----------
    df : a study table (see ``llmv2x.experiments.sweep``).
    metrics : columns to aggregate (``compute_energy_j`` is derived if asked for).
    methods : methods to keep, in this order; default every method in the table.

    Returns
    -------
    pandas.DataFrame
        Columns metric, method, omega_t, n, mean, std, ci95_low, ci95_high (units of the
        metric); the interval is mean ± t_{0.975, n-1} std / sqrt(n), NaN when n < 2.
    """
    if methods is None:
        methods = list(dict.fromkeys(df.loc[df["status"].isin(OK_STATUSES), "method"]))
    data = solved(df, methods)
    rows = []
    for metric in metrics:
        for method in methods:
            sub = data[data["method"] == method]
            for w, grp in sub.groupby("omega_t", sort=True):
                x = grp[metric].to_numpy(float)
                x = x[np.isfinite(x)]
                n = len(x)
                mean = float(np.mean(x)) if n else np.nan
                std = float(np.std(x, ddof=1)) if n > 1 else np.nan
                half = float(stats.t.ppf(0.975, n - 1) * std / np.sqrt(n)) if n > 1 else np.nan
                rows.append(
                    {
                        "metric": metric,
                        "method": method,
                        "omega_t": float(w),
                        "n": n,
                        "mean": mean,
                        "std": std,
                        "ci95_low": mean - half,
                        "ci95_high": mean + half,
                    }
                )
    return pd.DataFrame(
        rows, columns=["metric", "method", "omega_t", "n", "mean", "std", "ci95_low", "ci95_high"]
    )


_XLABEL = r"weight of time $\omega_t$ (dimensionless; $\omega_e = 1 - \omega_t$)"
_STYLE = {"ao": (3, 6.5), "rlor": (2, 9.0), "rrlo": (1, 8.0)}  # (zorder, marker size)


def _transmission_note(agg: pd.DataFrame, panel: Panel) -> str:
    parts = []
    for method, grp in agg[agg["metric"] == panel.metric].groupby("method", sort=False):
        tx = agg[(agg["metric"] == panel.transmission) & (agg["method"] == method)]
        share = 100 * tx["mean"].sum() / grp["mean"].sum()
        parts.append(f"{METHOD_STYLE.get(method, (method,))[0].split(' ')[0]} {share:.1f} %")
    return "transmission share of the mean:\n" + ", ".join(parts)


def _draw(
    fig: Figure, agg: pd.DataFrame, title: str, panels: Sequence[Panel], subtitle: str
) -> None:
    axes = np.atleast_1d(fig.subplots(1, len(panels)))
    for ax, panel in zip(axes, panels, strict=True):
        part = agg[agg["metric"] == panel.metric]
        means = part["mean"].to_numpy(float)
        # a log axis when the methods differ by more than an order of magnitude, else the
        # smaller curves would sit flat on the axis
        log = len(means) > 0 and np.nanmin(means) > 0 and np.nanmax(means) / np.nanmin(means) > 20
        for method, grp in part.groupby("method", sort=False):
            label, colour, marker = METHOD_STYLE.get(method, (method, None, "x"))
            z, size = _STYLE.get(method, (1, 7.0))
            ax.plot(
                grp["omega_t"],
                grp["mean"],
                marker=marker,
                ms=size,
                color=colour,
                label=label,
                lw=1.8,
                zorder=z + 2,
            )
            low = grp["ci95_low"].to_numpy(float)
            if log:  # a t-interval can reach below zero; a log axis cannot show that
                low = np.maximum(low, grp["mean"].to_numpy(float) / 10)
            ax.fill_between(
                grp["omega_t"], low, grp["ci95_high"], color=colour, alpha=0.15, lw=0, zorder=z
            )
        if log:
            ax.set_yscale("log")
        else:
            ax.ticklabel_format(axis="y", style="sci", scilimits=(-3, 4), useMathText=True)
        if panel.transmission and (agg["metric"] == panel.transmission).any():
            ax.text(
                0.02,
                0.98,
                _transmission_note(agg, panel),
                transform=ax.transAxes,
                va="top",
                fontsize=9,
                bbox={"boxstyle": "round", "fc": "white", "ec": "0.7", "alpha": 0.9},
                zorder=10,
            )
        ax.set_title(panel.title, fontsize=11)
        ax.set_xlabel(_XLABEL)
        ax.set_ylabel(panel.ylabel + (", log scale" if log else ""))
        ax.set_xticks(sorted(part["omega_t"].unique()))
        ax.grid(True, which="both" if log else "major", alpha=0.3)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=len(labels), frameon=False, fontsize=10)
    fig.suptitle(f"{title}\n{subtitle}", fontsize=12)
    fig.tight_layout(rect=(0, 0.07, 1, 1))


def plot_figure(
    df: pd.DataFrame,
    name: str,
    out_dir: str | Path,
    label: str = "",
    methods: Sequence[str] = PAPER_METHODS,
    stem: str | None = None,
) -> list[Path]:
    """Draw Figure 1 or 2 (``name`` = ``figure1`` | ``figure2``) from a study table.

    Parameters
    ----------
    df : study table.
    name : which figure.
    out_dir : folder to write ``{stem}.png``, ``{stem}.pdf`` and ``{stem}.csv`` into.
    label : what the run was (objective, noise), shown under the title.
    methods : methods to draw, in legend order (those absent from the table are skipped).
    stem : file name stem; default ``name``.

    Returns
    -------
    list of Path
        The PNG, PDF and CSV written. The CSV holds every plotted mean and interval, and
        the transmission parts of the end-to-end panels.
    """
    title, panels = FIGURES[name]
    present = [m for m in methods if m in set(df["method"])]
    metrics = [p.metric for p in panels] + [p.transmission for p in panels if p.transmission]
    agg = aggregate(df, metrics, present)
    n_used = int(agg["n"].max()) if len(agg) else 0
    n_all = df.loc[df["method"].isin(present), ["instance", "seed"]].drop_duplicates().shape[0]
    subtitle = f"{label}; " if label else ""
    subtitle += f"mean over {n_used} seeds"
    if n_used < n_all:
        subtitle += f" ({n_all - n_used} of {n_all} left out after a failed solve)"
    subtitle += ", band: 95 % confidence interval (t)"
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    stem = stem or name
    fig = Figure(figsize=(12, 5.4), dpi=110)
    _draw(fig, agg, title, panels, subtitle)
    paths = [out / f"{stem}.png", out / f"{stem}.pdf", out / f"{stem}.csv"]
    fig.savefig(paths[0])
    fig.savefig(paths[1], metadata={"CreationDate": None})
    agg.to_csv(paths[2], index=False)
    return paths


def write_figures(
    df: pd.DataFrame, out_dir: str | Path, label: str = "", suffix: str = ""
) -> list[Path]:
    """Figures 1 and 2 (PNG, PDF, CSV) and the claims table (``claims{suffix}.md``/``.csv``).

    Parameters
    ----------
    df : study table with methods ao, rlor, rrlo.
    out_dir : output folder.
    label : description of the run, shown under each title.
    suffix : appended to every file stem, e.g. ``-latency``.
    """
    paths: list[Path] = []
    for name in FIGURES:
        paths += plot_figure(df, name, out_dir, label, stem=f"{name}{suffix}")
    claims = paper_claims(df)
    csv, md = Path(out_dir) / f"claims{suffix}.csv", Path(out_dir) / f"claims{suffix}.md"
    claims.to_csv(csv, index=False)
    md.write_text(claims_markdown(claims, label) + "\n")
    return [*paths, csv, md]


# ---------------------------------------------------------------------------
# the paper's claims (section IV-B), checked on the table
# ---------------------------------------------------------------------------


def _means(data: pd.DataFrame, metric: str) -> pd.DataFrame:
    agg = aggregate(data, [metric])
    return agg.pivot(index="omega_t", columns="method", values="mean")


def _trend(series: pd.Series, rising: bool) -> bool:
    d = np.diff(series.to_numpy(float))
    # 1e-6 relative: transmission is constant in omega_t under ``paper`` and varies only
    # by the fractional programming's tolerance
    tol = 1e-6 * float(np.max(np.abs(series)))
    return bool(np.all(d >= -tol)) if rising else bool(np.all(d <= tol))


def paper_claims(df: pd.DataFrame, low: Sequence[float] = (0.1, 0.2)) -> pd.DataFrame:
    """The paper's claims about Figures 1-2, each checked on the table's means.

    Claims: completion time falls and energy rises with omega_t for every method (checked on
    computation only and end to end); AO beats RLOR and RRLO (objective per solve, and the
    means); AO needs about 40 % less completion time than RLOR at omega_t 0.1-0.2; RLOR's
    energy there is about AO's or below.

    Returns
    -------
    pandas.DataFrame
        Columns claim, measure, holds (bool), evidence (text with the numbers).
    """
    methods = [m for m in PAPER_METHODS if m in set(df["method"])]
    data = solved(df, methods)
    rows = []

    def add(claim: str, measure: str, holds: bool, evidence: str) -> None:
        rows.append({"claim": claim, "measure": measure, "holds": holds, "evidence": evidence})

    failed = df[df["method"].isin(methods) & ~df["status"].isin(OK_STATUSES)]
    add(
        "(every solve returned a solution)",
        "status",
        failed.empty,
        "; ".join(
            f"{r.method} on {r.instance} at {r.omega_t:g}: {r.status} ({r.message})"
            for r in failed.itertuples()
        )
        + (" -- that instance is left out for every method and omega_t" if len(failed) else "")
        or f"{len(df[df['method'].isin(methods)])} solves",
    )

    for claim, rising, metrics in (
        ("completion time falls as omega_t grows", False, ("compute_time_s", "completion_time_s")),
        ("energy rises as omega_t grows", True, ("compute_energy_j", "energy_j")),
    ):
        for metric in metrics:
            means = _means(data, metric)
            parts, ok = [], True
            for m in methods:
                s = means[m].dropna()
                good = _trend(s, rising)
                ok &= good
                parts.append(
                    f"{m}: {s.iloc[0]:.4g} at {s.index[0]:g} -> {s.iloc[-1]:.4g} at "
                    f"{s.index[-1]:g} ({'monotone' if good else 'not monotone'})"
                )
            add(claim, metric, ok, "; ".join(parts))

    if "ao" in methods:
        key = ["instance", "seed", "omega_t"]
        ao = data[data["method"] == "ao"].set_index(key)
        for base in (m for m in methods if m != "ao"):
            other = data[data["method"] == base].set_index(key)
            common = ao.index.intersection(other.index)
            if len(common) == 0:
                continue
            a, b = ao.loc[common, "objective"], other.loc[common, "objective"]
            wins = int(np.sum(a.to_numpy() <= b.to_numpy() * (1 + 1e-9)))
            gain = float(np.mean(1 - a.to_numpy() / b.to_numpy()))
            add(
                f"AO beats {base.upper()}",
                "objective",
                wins == len(common),
                f"AO's objective <= {base.upper()}'s in {wins} of {len(common)} solves; "
                f"mean {100 * gain:.1f} % lower",
            )
            for metric in ("compute_time_s", "completion_time_s", "compute_energy_j", "energy_j"):
                means = _means(data, metric)
                better = int(np.sum(means["ao"] <= means[base] * (1 + 1e-12)))
                rel = 100 * (1 - means["ao"] / means[base])
                add(
                    f"AO beats {base.upper()}",
                    metric,
                    better == len(means),
                    f"AO's mean lower at {better} of {len(means)} omega_t; "
                    f"reduction {rel.min():.1f} % to {rel.max():.1f} %",
                )
        if "rlor" in methods:
            for metric in ("compute_time_s", "completion_time_s"):
                means = _means(data, metric).loc[lambda t: t.index.isin(low)]
                rel = 100 * (1 - means["ao"] / means["rlor"])
                add(
                    "AO ~40 % less completion time than RLOR at omega_t 0.1-0.2",
                    metric,
                    bool(np.all(rel.between(30, 50))),
                    ", ".join(f"{r:.1f} % at {w:g}" for w, r in rel.items()),
                )
            for metric in ("compute_energy_j", "energy_j"):
                means = _means(data, metric).loc[lambda t: t.index.isin(low)]
                ratio = means["rlor"] / means["ao"]
                add(
                    "RLOR's energy about AO's or less at omega_t 0.1-0.2",
                    metric,
                    bool(np.all(ratio <= 1.05)),
                    ", ".join(f"RLOR/AO = {r:.3f} at {w:g}" for w, r in ratio.items()),
                )
    return pd.DataFrame(rows, columns=["claim", "measure", "holds", "evidence"])


def claims_markdown(claims: pd.DataFrame, label: str = "") -> str:
    """The claims table as Markdown, with a heading naming the run."""
    from llmv2x.experiments.compare import to_markdown

    head = f"# The paper's claims checked{': ' + label if label else ''}\n\n"
    table = claims.assign(holds=claims["holds"].map({True: "yes", False: "no"}))
    return head + to_markdown(table)


__all__ = [
    "FIGURES",
    "METHOD_STYLE",
    "Panel",
    "aggregate",
    "claims_markdown",
    "solved",
    "paper_claims",
    "plot_figure",
    "with_derived",
    "write_figures",
]
