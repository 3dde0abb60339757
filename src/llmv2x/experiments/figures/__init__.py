"""Figures 1 and 2 of the paper from a study table, and the paper's claims checked on it.

Figure 1 is completion time against omega_t, Figure 2 energy against omega_t, for AO under
both recipes (``improved``, the default, and ``paper``), RLOR and RRLO: the mean over
instances with a 95 % bootstrap band, computation only and end to end, and below them the
paired difference of AO against each other method. Each figure is written as PNG and PDF,
with CSV files of the plotted numbers beside it. No solving happens here.

Steps: ``stats`` (rows used, means, intervals, paired differences), ``draw`` (the
figures), ``claims`` (verdicts with thresholds and paired tests).
"""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd

from llmv2x.experiments.figures.claims import THRESHOLD_PCT, claims_markdown, paper_claims
from llmv2x.experiments.figures.draw import FIGURES, METHOD_STYLE, Panel, plot_figure
from llmv2x.experiments.figures.stats import (
    OK_STATUSES,
    Coverage,
    aggregate,
    bootstrap_mean,
    paired_differences,
    solved,
    with_derived,
)

log = logging.getLogger(__name__)


def write_figures(
    df: pd.DataFrame, out_dir: str | Path, label: str = "", suffix: str = ""
) -> list[Path]:
    """Figures 1 and 2 (PNG, PDF, CSV) and the claims table (``claims{suffix}.md``/``.csv``).

    Never fails on missing or failed rows: what is missing is said in each figure, in the
    claims table's first row and as a logged warning.

    Parameters
    ----------
    df : study table with methods among ao, ao-paper, rlor, rrlo.
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


__all__ = [
    "FIGURES",
    "METHOD_STYLE",
    "OK_STATUSES",
    "THRESHOLD_PCT",
    "Coverage",
    "Panel",
    "aggregate",
    "bootstrap_mean",
    "claims_markdown",
    "paired_differences",
    "paper_claims",
    "plot_figure",
    "solved",
    "with_derived",
    "write_figures",
]
