"""The statistics behind the figures and the claims: which rows count, means with bootstrap
intervals, and paired differences per instance. No drawing here.

Intervals are 95 % bootstrap percentile intervals of the mean (``BOOTSTRAP`` resamples of
the instances, a fixed random seed so reruns give the same numbers). For a quantity that is
never negative the interval never goes below zero, unlike a t-interval over heavy-tailed
instances.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

OK_STATUSES = ("optimal", "converged", "feasible", "time_limit")
#: bootstrap resamples of every interval
BOOTSTRAP = 4000
#: the two-sided level of every interval
LEVEL = 0.95


def with_derived(df: pd.DataFrame) -> pd.DataFrame:
    """The table with ``compute_energy_j`` = vehicle + RSU compute energy added."""
    out = df.copy()
    out["compute_energy_j"] = out["vehicle_energy_j"] + out["rsu_energy_j"]
    return out


@dataclass(frozen=True)
class Coverage:
    """What a figure or claims table could use, and what it could not.

    Attributes
    ----------
    methods : methods that have at least one solution, in the order asked for.
    absent : methods asked for with no row at all in the table.
    unsolved : methods whose every row failed (error or infeasible).
    failed : rows of the asked-for methods without a solution.
    instances : (instance, seed) pairs used by every curve.
    left_out : (instance, seed) pairs left out because some method failed on them.
    paired : False when no instance was solved by every method, so each method is averaged
        over the instances it solved (the curves are then not comparable point by point).
    """

    methods: tuple[str, ...]
    absent: tuple[str, ...]
    unsolved: tuple[str, ...]
    failed: int
    instances: int
    left_out: int
    paired: bool

    def notes(self) -> list[str]:
        """One line per thing missing, for the figure and the claims file; empty if none."""
        out = []
        if self.absent:
            out.append(f"no rows for {', '.join(self.absent)}")
        if self.unsolved:
            out.append(f"every solve failed for {', '.join(self.unsolved)} (not drawn)")
        if self.failed:
            out.append(f"{self.failed} failed solves")
        if self.left_out:
            out.append(
                f"{self.left_out} of {self.instances + self.left_out} instances left out "
                "after a failed solve"
            )
        if not self.paired and self.methods:
            out.append("no instance solved by every method: each curve over its own instances")
        if not self.methods:
            out.append("nothing to draw: no solution in the table")
        return out


def solved(
    df: pd.DataFrame, methods: Sequence[str] | None = None, *, coverage: bool = False
) -> pd.DataFrame | tuple[pd.DataFrame, Coverage]:
    """The rows that carry a solution, on the instances every method solved throughout.

    A row counts when its status is a solution (not ``error`` or ``infeasible``). An
    instance (with its seed) on which any of ``methods`` failed at any omega_t is dropped
    for every method and every omega_t, so that all points of all curves average over the
    same instances: transmission varies by orders of magnitude between instances, and one
    missing instance would shift a mean visibly. A method with no solution at all is left
    out rather than emptying every curve; when no instance is left, each method keeps the
    instances it solved (``Coverage.paired`` is then False).

    With ``coverage=True`` returns ``(rows, Coverage)``.
    """
    if methods is None:
        methods = list(dict.fromkeys(df["method"]))
    present = set(df["method"])
    absent = tuple(m for m in methods if m not in present)
    data = df[df["method"].isin(methods)]
    ok = data["status"].isin(OK_STATUSES)
    unsolved = tuple(m for m in methods if m in present and not ok[data["method"] == m].any())
    drawn = tuple(m for m in methods if m in present and m not in unsolved)
    failed = int((~ok).sum())
    data = data[data["method"].isin(drawn)]
    ok = data["status"].isin(OK_STATUSES)
    key = ["instance", "seed"]
    everything = data[key].drop_duplicates()
    bad = data.loc[~ok, key].drop_duplicates()
    paired = True
    if len(bad):
        dropped = pd.MultiIndex.from_frame(data[key]).isin(pd.MultiIndex.from_frame(bad))
        kept = data[~dropped]
        if kept.empty and ok.any():
            kept, paired = data[ok], False
        data = kept
    used = data[key].drop_duplicates().shape[0]
    cov = Coverage(
        drawn, absent, unsolved, failed, used, everything.shape[0] - used if paired else 0, paired
    )
    out = with_derived(data)
    return (out, cov) if coverage else out


def bootstrap_mean(x: np.ndarray, seed: int = 0) -> tuple[float, float, float]:
    """Mean of the finite values of ``x`` and its 95 % bootstrap percentile interval.

    NaN for all three when there is no value; the interval is NaN for a single value.
    """
    x = np.asarray(x, float)
    x = x[np.isfinite(x)]
    n = len(x)
    if n == 0:
        return np.nan, np.nan, np.nan
    mean = float(np.mean(x))
    if n == 1:
        return mean, np.nan, np.nan
    rng = np.random.default_rng(seed)
    means = x[rng.integers(0, n, size=(BOOTSTRAP, n))].mean(axis=1)
    tail = 100 * (1 - LEVEL) / 2
    low, high = np.percentile(means, [tail, 100 - tail])
    return mean, float(low), float(high)


AGG_COLUMNS = ["metric", "method", "omega_t", "n", "mean", "std", "ci95_low", "ci95_high"]


def aggregate(
    df: pd.DataFrame, metrics: Sequence[str], methods: Sequence[str] | None = None
) -> pd.DataFrame:
    """Mean and 95 % bootstrap interval of each metric per method and omega_t, over instances.

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
        metric); the interval is the bootstrap percentile interval of the mean, inside the
        range of the data, NaN when n < 2.
    """
    if methods is None:
        methods = list(dict.fromkeys(df["method"]))
    data = solved(df, methods)
    rows = []
    for metric in metrics:
        for method in methods:
            sub = data[data["method"] == method]
            for w, grp in sub.groupby("omega_t", sort=True):
                x = grp[metric].to_numpy(float)
                x = x[np.isfinite(x)]
                mean, low, high = bootstrap_mean(x)
                std = float(np.std(x, ddof=1)) if len(x) > 1 else np.nan
                rows.append(
                    {
                        "metric": metric,
                        "method": method,
                        "omega_t": float(w),
                        "n": len(x),
                        "mean": mean,
                        "std": std,
                        "ci95_low": low,
                        "ci95_high": high,
                    }
                )
    return pd.DataFrame(rows, columns=AGG_COLUMNS)


def paired(data: pd.DataFrame, metric: str, method: str, base: str) -> pd.DataFrame:
    """Per instance and omega_t: ``method``'s and ``base``'s value of ``metric`` side by side.

    ``data`` is the output of ``solved``. Columns instance, seed, omega_t, a, b, where a is
    ``method``'s value and b ``base``'s; only pairs both solved.
    """
    key = ["instance", "seed", "omega_t"]
    a = data.loc[data["method"] == method, [*key, metric]].rename(columns={metric: "a"})
    b = data.loc[data["method"] == base, [*key, metric]].rename(columns={metric: "b"})
    return a.merge(b, on=key, how="inner")


DIFF_COLUMNS = ["metric", "method", "base", "omega_t", "n", "mean", "ci95_low", "ci95_high"]


def paired_differences(
    df: pd.DataFrame, metrics: Sequence[str], method: str, bases: Sequence[str]
) -> pd.DataFrame:
    """Relative paired difference of ``method`` against each base, per omega_t, in percent.

    For each instance: 100 (a - b) / b, with a the method's value and b the base's, so a
    negative number means the method needs less. The mean over instances comes with a 95 %
    bootstrap interval that resamples instances (the pairs stay together).

    Returns
    -------
    pandas.DataFrame
        Columns metric, method, base, omega_t, n, mean, ci95_low, ci95_high (percent).
    """
    data = solved(df, [method, *bases])
    rows = []
    for metric in metrics:
        for base in bases:
            pairs = paired(data, metric, method, base)
            for w, grp in pairs.groupby("omega_t", sort=True):
                b = grp["b"].to_numpy(float)
                with np.errstate(divide="ignore", invalid="ignore"):
                    rel = 100 * (grp["a"].to_numpy(float) - b) / b
                rel = rel[np.isfinite(rel)]
                mean, low, high = bootstrap_mean(rel)
                rows.append(
                    {
                        "metric": metric,
                        "method": method,
                        "base": base,
                        "omega_t": float(w),
                        "n": len(rel),
                        "mean": mean,
                        "ci95_low": low,
                        "ci95_high": high,
                    }
                )
    return pd.DataFrame(rows, columns=DIFF_COLUMNS)
