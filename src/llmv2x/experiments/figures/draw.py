"""Figures 1 and 2: the curves per method with bootstrap bands, and paired differences.

Each figure has two rows of two panels. Top: the metric against omega_t per method, mean
over instances with its 95 % bootstrap band (computation only, and end to end). Bottom: the
paired difference of AO (``improved`` recipe) against each other method, per instance in
percent, with its bootstrap band: this is what a claim "AO beats X" is about. What is
missing (failed solves, methods without a solution) is written under the legend; a figure
with nothing to draw still gets written, saying so.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from llmv2x.experiments.figures.stats import (
    Coverage,
    aggregate,
    paired_differences,
    solved,
)
from llmv2x.experiments.sets import PAPER_METHODS

log = logging.getLogger(__name__)

#: label, colour, marker and line style of each method in every figure
METHOD_STYLE: dict[str, tuple[str, str, str, str]] = {
    "ao": ("AO, improved recipe (vertex rounding; default)", "#1f77b4", "o", "-"),
    "ao-paper": ("AO, paper recipe (nearest rounding)", "#ff7f0e", "x", "--"),
    "rlor": ("RLOR (random offloading)", "#d62728", "s", "-"),
    "rrlo": ("RRLO (random resources)", "#2ca02c", "^", "-"),
    "local": ("local (α = Υ)", "#9467bd", "v", "-"),
    "offload": ("offload (α = 1)", "#8c564b", "D", "-"),
    "equal": ("equal shares", "#7f7f7f", "P", "-"),
}
#: short names in notes and difference labels
SHORT = {"ao": "AO (improved)", "ao-paper": "AO (paper recipe)", "rlor": "RLOR", "rrlo": "RRLO"}
_ZORDER = {"ao": (4, 6.5), "ao-paper": (5, 7.0), "rlor": (2, 9.0), "rrlo": (1, 8.0)}
_XLABEL = r"weight of time $\omega_t$ ($\omega_e = 1 - \omega_t$)"


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


def _short(method: str) -> str:
    return SHORT.get(method, method)


def _style(method: str) -> tuple[str, str | None, str, str]:
    return METHOD_STYLE.get(method, (method, None, "x", "-"))


def _transmission_note(agg: pd.DataFrame, panel: Panel) -> str:
    parts = []
    for method, grp in agg[agg["metric"] == panel.metric].groupby("method", sort=False):
        tx = agg[(agg["metric"] == panel.transmission) & (agg["method"] == method)]
        total = grp["mean"].sum()
        if total > 0 and len(tx):
            parts.append(f"{_short(method)} {100 * tx['mean'].sum() / total:.1f} %")
    return "transmission share of the mean:\n" + ", ".join(parts) if parts else ""


def _nothing(ax: Axes, text: str) -> None:
    ax.text(0.5, 0.5, text, transform=ax.transAxes, ha="center", va="center", color="0.4")


def _draw_means(ax: Axes, agg: pd.DataFrame, panel: Panel) -> None:
    part = agg[(agg["metric"] == panel.metric) & agg["mean"].notna()]
    if part.empty:
        _nothing(ax, "no solved instance to draw")
        return
    means = part["mean"].to_numpy(float)
    # a log axis when the methods differ by more than an order of magnitude, else the
    # smaller curves would sit flat on the axis
    log_axis = bool(np.min(means) > 0 and np.max(means) / np.min(means) > 20)
    for method, grp in part.groupby("method", sort=False):
        label, colour, marker, line = _style(method)
        z, size = _ZORDER.get(method, (1, 7.0))
        ax.plot(
            grp["omega_t"],
            grp["mean"],
            marker=marker,
            ms=size,
            ls=line,
            color=colour,
            label=label,
            lw=1.8,
            zorder=z + 2,
            mfc="none" if method == "ao-paper" else colour,
        )
        ax.fill_between(
            grp["omega_t"],
            grp["ci95_low"],
            grp["ci95_high"],
            color=colour,
            alpha=0.15,
            lw=0,
            zorder=z,
        )
    if log_axis:
        ax.set_yscale("log")
    else:
        ax.ticklabel_format(axis="y", style="sci", scilimits=(-3, 4), useMathText=True)
    note = _transmission_note(agg, panel) if panel.transmission else ""
    if note:
        ax.text(
            0.02,
            0.98,
            note,
            transform=ax.transAxes,
            va="top",
            fontsize=8.5,
            bbox={"boxstyle": "round", "fc": "white", "ec": "0.7", "alpha": 0.9},
            zorder=10,
        )
    ax.set_ylabel(panel.ylabel + (", log scale" if log_axis else ""))
    ax.set_xticks(sorted(part["omega_t"].unique()))
    ax.grid(True, which="both" if log_axis else "major", alpha=0.3)


def _draw_differences(ax: Axes, diff: pd.DataFrame, panel: Panel) -> None:
    part = diff[(diff["metric"] == panel.metric) & diff["mean"].notna()]
    ax.axhline(0.0, color="0.3", lw=0.8)
    if part.empty:
        _nothing(ax, "no paired instances to compare")
        return
    for base, grp in part.groupby("base", sort=False):
        _, colour, marker, line = _style(base)
        ax.plot(
            grp["omega_t"],
            grp["mean"],
            marker=marker,
            ls=line,
            color=colour,
            lw=1.5,
            label=f"vs {_short(base)}",
        )
        ax.fill_between(
            grp["omega_t"], grp["ci95_low"], grp["ci95_high"], color=colour, alpha=0.15, lw=0
        )
    top = float(np.nanmax(np.abs(part[["mean", "ci95_low", "ci95_high"]].to_numpy(float))))
    if top > 200:  # a baseline many times better or worse would flatten the others
        ax.set_yscale("symlog", linthresh=10)
    ax.set_ylabel("AO (improved) − other, per instance (%)" + (", symlog" if top > 200 else ""))
    ax.set_xticks(sorted(part["omega_t"].unique()))
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8, loc="best", frameon=True)


def draw(
    fig: Figure,
    agg: pd.DataFrame,
    diff: pd.DataFrame,
    title: str,
    panels: Sequence[Panel],
    subtitle: str,
    missing: Sequence[str] = (),
) -> None:
    """Draw the panels of one figure (means on top, paired differences below) into ``fig``."""
    axes = fig.subplots(2, len(panels), sharex=True, squeeze=False)
    for col, panel in enumerate(panels):
        top, bottom = axes[0, col], axes[1, col]
        _draw_means(top, agg, panel)
        top.set_title(panel.title, fontsize=11)
        _draw_differences(bottom, diff, panel)
        bottom.set_title("paired difference: " + panel.title.split(":")[0], fontsize=10)
        bottom.set_xlabel(_XLABEL)
    handles, labels = axes[0, 0].get_legend_handles_labels()
    for ax in axes[0, 1:]:
        for h, lab in zip(*ax.get_legend_handles_labels(), strict=True):
            if lab not in labels:
                handles.append(h)
                labels.append(lab)
    if handles:  # a legend of no entries raises in matplotlib
        fig.legend(handles, labels, loc="lower center", ncol=min(len(labels), 2), fontsize=9.5)
    foot = "missing: " + "; ".join(missing) if missing else ""
    if foot:
        fig.text(0.5, 0.005, foot, ha="center", va="bottom", fontsize=9, color="#b00000")
    fig.suptitle(f"{title}\n{subtitle}", fontsize=12)
    fig.tight_layout(rect=(0, 0.1 if foot else 0.08, 1, 1))


def plot_figure(
    df: pd.DataFrame,
    name: str,
    out_dir: str | Path,
    label: str = "",
    methods: Sequence[str] = PAPER_METHODS,
    stem: str | None = None,
) -> list[Path]:
    """Draw Figure 1 or 2 (``name`` = ``figure1`` | ``figure2``) from a study table.

    Never fails on missing data: rows that failed, methods with no solution and an empty
    table are drawn around and named in red under the figure (and logged as warnings).

    Parameters
    ----------
    df : study table.
    name : which figure.
    out_dir : folder to write ``{stem}.png``, ``{stem}.pdf``, ``{stem}.csv`` (the plotted
        means and bands) and ``{stem}-diff.csv`` (the paired differences) into.
    label : what the run was (objective, noise), shown under the title.
    methods : methods to draw, in legend order (those absent from the table are named).
    stem : file name stem; default ``name``.

    Returns
    -------
    list of Path
        The PNG, PDF and the two CSV files written.
    """
    title, panels = FIGURES[name]
    metrics = [p.metric for p in panels] + [p.transmission for p in panels if p.transmission]
    _, cov = solved(df, list(methods), coverage=True)
    assert isinstance(cov, Coverage)
    agg = aggregate(df, metrics, list(cov.methods))
    ref = "ao" if "ao" in cov.methods else (cov.methods[0] if cov.methods else None)
    bases = [m for m in cov.methods if m != ref]
    if ref is not None and bases:
        diff = paired_differences(df, [p.metric for p in panels], ref, bases)
    else:
        diff = pd.DataFrame(columns=["metric", "method", "base", "omega_t", "n", "mean"])
    missing = cov.notes()
    for note in missing:
        log.warning("%s: %s", name, note)
    subtitle = f"{label}; " if label else ""
    subtitle += f"mean over {cov.instances} instances, band: 95 % bootstrap interval of the mean"
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    stem = stem or name
    fig = Figure(figsize=(12, 9.6), dpi=100)
    draw(fig, agg, diff, title, panels, subtitle, missing)
    paths = [
        out / f"{stem}.png",
        out / f"{stem}.pdf",
        out / f"{stem}.csv",
        out / f"{stem}-diff.csv",
    ]
    fig.savefig(paths[0])
    fig.savefig(paths[1], metadata={"CreationDate": None})
    agg.to_csv(paths[2], index=False)
    diff.to_csv(paths[3], index=False)
    return paths
