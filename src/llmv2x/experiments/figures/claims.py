"""The paper's claims about Figures 1-2 (section IV-B), each given a verdict on the table.

Every verdict rests on a paired comparison: for each instance the two numbers being
compared (two methods at one omega_t, or one method at the lowest and the highest omega_t)
give a relative difference in percent, and the mean of those over instances comes with a
95 % bootstrap percentile interval (instances resampled; ``stats.bootstrap_mean``). A claim
"holds" (``yes``) only if that interval excludes 0 in the claimed direction *and* the mean
effect reaches the stated threshold (``THRESHOLD_PCT`` unless the claim names its own);
otherwise the verdict says which of the two failed. A claim about every omega_t must hold
at every omega_t.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from llmv2x.experiments.figures.stats import BOOTSTRAP, OK_STATUSES, bootstrap_mean, paired, solved
from llmv2x.experiments.sets import PAPER_METHODS

#: smallest relative effect, in percent, that a "yes" needs
THRESHOLD_PCT = 1.0
#: omega_t values of the paper's "low weight of time" claims
LOW_OMEGA = (0.1, 0.2)
AO_VARIANTS = ("ao", "ao-paper")
BASELINES = ("rlor", "rrlo")
NAMES = {"ao": "AO (improved)", "ao-paper": "AO (paper recipe)", "rlor": "RLOR", "rrlo": "RRLO"}
TEST = f"paired per instance; 95 % bootstrap CI of the mean ({BOOTSTRAP} resamples)"
CLAIM_COLUMNS = ["claim", "measure", "threshold", "test", "holds", "verdict", "evidence"]

Rel = Callable[[np.ndarray, np.ndarray], np.ndarray]


def _name(m: str) -> str:
    return NAMES.get(m, m)


def _rel(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """100 (a - b) / b, the finite values only."""
    with np.errstate(divide="ignore", invalid="ignore"):
        r = 100 * (np.asarray(a, float) - np.asarray(b, float)) / np.asarray(b, float)
    return r[np.isfinite(r)]


def judge(
    values: np.ndarray, direction: int, threshold: float = THRESHOLD_PCT
) -> tuple[bool, str, str]:
    """Verdict on paired relative differences (percent) for an effect of sign ``direction``.

    Returns (holds, reason, "mean % [low, high]"): holds when the 95 % bootstrap interval
    of the mean lies on the ``direction`` side of 0 and ``direction`` x mean >= threshold.
    """
    mean, low, high = bootstrap_mean(values)
    text = f"{mean:+.2f} % [{low:+.2f}, {high:+.2f}]"
    if not np.isfinite(low):
        return False, "too few instances", text
    near, far = (low, high) if direction > 0 else (-high, -low)
    if near <= 0:
        return False, ("opposite direction" if far < 0 else "CI includes 0"), text
    if direction * mean < threshold:
        return False, f"effect below the {threshold:g} % threshold", text
    return True, "", text


def _verdict(fails: list[str]) -> str:
    return "yes" if not fails else "no: " + "; ".join(fails)


def _coverage_row(df: pd.DataFrame, methods: Sequence[str]) -> dict:
    data = df[df["method"].isin(methods)]
    failed = data[~data["status"].isin(OK_STATUSES)]
    _, cov = solved(df, list(methods), coverage=True)
    notes = cov.notes()  # type: ignore[union-attr]
    groups = (
        failed.assign(why=failed["message"].str.slice(0, 80))
        .groupby(["method", "status", "why"], sort=False)
        .size()
    )
    listed = "; ".join(
        f"{method}: {n} x {status}" + (f" ({why})" if why else "")
        for (method, status, why), n in groups.items()
    )
    evidence = f"{len(data)} solves" + (f"; {'; '.join(notes)}: {listed}" if notes else "")
    ok = failed.empty and not notes
    return {
        "claim": "(every solve returned a solution)",
        "measure": "status",
        "threshold": "",
        "test": "count",
        "holds": ok,
        "verdict": "yes" if ok else "no: " + "; ".join(notes or ["failed solves"]),
        "evidence": evidence,
    }


def paper_claims(df: pd.DataFrame, low: Sequence[float] = LOW_OMEGA) -> pd.DataFrame:
    """The paper's claims about Figures 1-2, each with a threshold and a paired test.

    Claims: completion time falls and energy rises with omega_t for every method (change
    from the lowest to the highest omega_t, computation only and end to end); AO (each
    recipe present) beats RLOR and RRLO at every omega_t; AO needs about 40 % less
    completion time than RLOR at omega_t 0.1-0.2; RLOR's energy there is about AO's or
    below; and the improved recipe is never worse than the paper's.

    Returns
    -------
    pandas.DataFrame
        Columns claim, measure, threshold, test, holds (bool), verdict (``yes`` or ``no:``
        and why), evidence (the numbers: mean paired difference % [95 % CI]).
    """
    asked = [m for m in PAPER_METHODS if m in set(df["method"])]
    data, cov = solved(df, asked, coverage=True)
    methods = list(cov.methods)  # type: ignore[union-attr]
    rows = [_coverage_row(df, asked)]

    def add(claim: str, measure: str, threshold: str, holds: bool, verdict: str, ev: str):
        rows.append(
            {
                "claim": claim,
                "measure": measure,
                "threshold": threshold,
                "test": TEST,
                "holds": holds,
                "verdict": verdict,
                "evidence": ev,
            }
        )

    grid = sorted(data["omega_t"].unique()) if len(data) else []
    for claim, direction, metrics in (
        ("completion time falls as omega_t grows", -1, ("compute_time_s", "completion_time_s")),
        ("energy rises as omega_t grows", +1, ("compute_energy_j", "energy_j")),
    ):
        if len(grid) < 2:
            break
        w0, w1 = grid[0], grid[-1]
        for metric in metrics:
            fails, parts = [], []
            for m in methods:
                sub = data[data["method"] == m].pivot_table(
                    index=["instance", "seed"], columns="omega_t", values=metric
                )
                if w0 not in sub or w1 not in sub:
                    continue
                ok, why, ci = judge(_rel(sub[w1], sub[w0]), direction)
                means = sub.mean()
                mono = np.all(np.diff(means.to_numpy()) * direction >= 0)
                parts.append(
                    f"{_name(m)} {ci} ({means[w0]:.4g} -> {means[w1]:.4g}, means "
                    f"{'monotone' if mono else 'not monotone'})"
                )
                if not ok:
                    fails.append(f"{_name(m)} {why}")
            add(
                claim,
                metric,
                f"change {w0:g} -> {w1:g} beyond {THRESHOLD_PCT:g} %",
                not fails and bool(parts),
                _verdict(fails) if parts else "no: no data",
                "; ".join(parts),
            )

    for ao in (a for a in AO_VARIANTS if a in methods):
        for base in (b for b in BASELINES if b in methods):
            for metric in (
                "objective",
                "compute_time_s",
                "completion_time_s",
                "compute_energy_j",
                "energy_j",
            ):
                pairs = paired(data, metric, ao, base)
                per_w = []
                for w, grp in pairs.groupby("omega_t", sort=True):
                    # positive: AO needs that much less than the baseline
                    ok, why, ci = judge(-_rel(grp["a"], grp["b"]), +1)
                    per_w.append((w, ok, why, ci, bootstrap_mean(-_rel(grp["a"], grp["b"]))[0]))
                if not per_w:
                    continue
                passed = sum(p[1] for p in per_w)
                worst = min(per_w, key=lambda p: p[4])
                wins = int(np.sum(pairs["a"].to_numpy() <= pairs["b"].to_numpy() * (1 + 1e-9)))
                reasons = sorted({p[2] for p in per_w if not p[1]})
                add(
                    f"{_name(ao)} beats {_name(base)}",
                    metric,
                    f"reduction beyond {THRESHOLD_PCT:g} % at every omega_t",
                    passed == len(per_w),
                    _verdict(
                        [f"{len(per_w) - passed} of {len(per_w)} omega_t: " + ", ".join(reasons)]
                        if reasons
                        else []
                    ),
                    f"mean reduction {min(p[4] for p in per_w):.2f} % to "
                    f"{max(p[4] for p in per_w):.2f} % over omega_t; weakest at "
                    f"{worst[0]:g}: {worst[3]}; AO <= {_name(base)} in {wins} of "
                    f"{len(pairs)} solves",
                )
        if "rlor" in methods:
            for metric in ("compute_time_s", "completion_time_s"):
                pairs = paired(data, metric, ao, "rlor")
                parts, ok_all = [], True
                for w in low:
                    grp = pairs[np.isclose(pairs["omega_t"], w)]
                    red = -_rel(grp["a"], grp["b"])
                    mean, lo, hi = bootstrap_mean(red)
                    ok = bool(np.isfinite(lo) and lo > 0 and 30 <= mean <= 50)
                    ok_all &= ok
                    parts.append(f"{mean:.2f} % [{lo:.2f}, {hi:.2f}] at {w:g}")
                add(
                    f"{_name(ao)} ~40 % less completion time than RLOR at omega_t 0.1-0.2",
                    metric,
                    "mean reduction 30-50 % and CI above 0, at each omega_t",
                    ok_all,
                    "yes" if ok_all else "no: reduction outside 30-50 %",
                    "; ".join(parts),
                )
            for metric in ("compute_energy_j", "energy_j"):
                pairs = paired(data, metric, ao, "rlor")
                parts, ok_all = [], True
                for w in low:
                    grp = pairs[np.isclose(pairs["omega_t"], w)]
                    excess = _rel(grp["b"], grp["a"])  # RLOR above AO, percent
                    mean, lo, hi = bootstrap_mean(excess)
                    ok = bool(np.isfinite(hi) and hi <= 5.0)
                    ok_all &= ok
                    parts.append(f"RLOR {mean:+.2f} % [{lo:+.2f}, {hi:+.2f}] vs AO at {w:g}")
                add(
                    f"RLOR's energy about {_name(ao)}'s or less at omega_t 0.1-0.2",
                    metric,
                    "upper CI bound of RLOR's excess at most 5 %, at each omega_t",
                    ok_all,
                    "yes" if ok_all else "no: RLOR's excess may exceed 5 %",
                    "; ".join(parts),
                )

    if "ao" in methods and "ao-paper" in methods:
        pairs = paired(data, "objective", "ao-paper", "ao")
        above = _rel(pairs["a"], pairs["b"])
        worse = int(np.sum(above > 1e-7))
        better = int(np.sum(above < -1e-7))
        top = float(np.max(above)) if len(above) else np.nan
        pos = above[above > 1e-7]
        add(
            "the improved recipe is never worse than the paper's",
            "objective",
            "paper recipe not below improved on any solve (1e-9 relative)",
            better == 0 and len(above) > 0,
            "yes" if better == 0 and len(above) else "no: the paper recipe is lower somewhere",
            f"paper recipe above improved in {worse} of {len(above)} solves"
            + (f", by {pos.min():.2g} % to {top:.2g} %" if worse else "")
            + f"; below in {better}",
        )
    return pd.DataFrame(rows, columns=CLAIM_COLUMNS)


def claims_markdown(claims: pd.DataFrame, label: str = "") -> str:
    """The claims table as Markdown, with a heading naming the run and how verdicts are made."""
    from llmv2x.experiments.compare import to_markdown

    head = f"# The paper's claims checked{': ' + label if label else ''}\n\n"
    head += (
        f"Test: {TEST}. Each number is the mean relative difference per instance, in percent, "
        "with its 95 % interval in brackets. A verdict is **yes** only if the interval "
        "excludes 0 in the claimed direction and the mean reaches the stated threshold.\n\n"
    )
    table = claims.drop(columns=["test", "holds"])
    return head + to_markdown(table)
