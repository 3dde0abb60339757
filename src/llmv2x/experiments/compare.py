"""`llmv2x compare`: AO vs direct MINLP backends vs the exact optimum vs baselines, one table."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pandas as pd

from llmv2x.errors import LlmV2xError
from llmv2x.instances.schema import Instance
from llmv2x.results import Result
from llmv2x.settings import SolveSettings
from llmv2x.solvers.methods import available_methods, check_instance, get_method
from llmv2x.solvers.registry import availability, backend_names

BASELINES = ("rlor", "rrlo", "local", "offload", "equal")
COLUMNS = [
    "method",
    "backend",
    "status",
    "objective",
    "gap_to_exact",
    "lower_bound",
    "compute_part",
    "time_s",
    "message",
]


def _runs(
    settings: SolveSettings, minlp_backends: list[str] | None
) -> list[tuple[str, str, SolveSettings]]:
    methods = available_methods()
    runs: list[tuple[str, str, SolveSettings]] = []
    if "exact" in methods:
        runs.append(("exact", "structure", settings))
    runs.append(("ao", f"{settings.qp_backend}+{settings.nlp_backend}", settings))
    if "minlp" in methods:
        names = minlp_backends
        if names is None:
            names = [b for b in backend_names("minlp") if availability(b, "minlp")]
        for b in names:
            runs.append(("minlp", b, settings.with_(minlp_backend=b)))
    for b in BASELINES:
        if b in methods:
            runs.append((b, "", settings))
    return runs


def compare(
    instance: Instance,
    settings: SolveSettings,
    minlp_backends: list[str] | None = None,
) -> pd.DataFrame:
    """Solve ``instance`` with every method and available MINLP backend; one row per solve.

    Columns: method, backend, status, objective, gap_to_exact (relative, when ``exact``
    certified an optimum), lower_bound (proven bounds only), compute_part (objective (11)
    at the returned point), time_s, message. A method that fails is a row with its status
    and message, never an exception.
    """
    from llmv2x.models.evaluator import evaluate

    check_instance(instance, settings)
    rows = []
    best: float | None = None
    for method, backend, st in _runs(settings, minlp_backends):
        t0 = time.perf_counter()
        try:
            res: Result = get_method(method)(instance, st)
            status, obj, lb, msg = res.status, res.objective, res.lower_bound, res.message
            comp = (
                evaluate(instance, res.allocation, st).compute_part
                if res.allocation is not None
                else None
            )
            if method == "exact" and status == "optimal":
                best = obj
        except LlmV2xError as exc:
            status, obj, lb, comp, msg = "error", None, None, None, str(exc)
        rows.append(
            {
                "method": method,
                "backend": backend,
                "status": status,
                "objective": obj,
                "lower_bound": lb,
                "compute_part": comp,
                "time_s": time.perf_counter() - t0,
                "message": msg,
            }
        )
    df = pd.DataFrame(rows)
    df["gap_to_exact"] = (df["objective"] - best) / abs(best) if best is not None else float("nan")
    return df[COLUMNS]


def to_markdown(df: pd.DataFrame) -> str:
    """A GitHub Markdown table of ``df`` (no extra dependency)."""

    def fmt(v: object) -> str:
        if v is None or (isinstance(v, float) and v != v):
            return ""
        if isinstance(v, float):
            return f"{v:.6g}" if abs(v) >= 1e-3 or v == 0 else f"{v:.2e}"
        return str(v).replace("|", "\\|")

    head = "| " + " | ".join(df.columns) + " |"
    sep = "| " + " | ".join("---" for _ in df.columns) + " |"
    body = ["| " + " | ".join(fmt(v) for v in row) + " |" for row in df.itertuples(index=False)]
    return "\n".join([head, sep, *body])


def safe_stem(name: str) -> str:
    """``name`` made safe as one file name: every character other than letters, digits,
    ``.``, ``_``, ``-`` becomes ``_``, runs of dots collapse to one, no leading dot or
    dash (so ``a/b`` -> ``a_b``, ``../x`` -> ``_x``); never empty."""
    out = re.sub(r"[^A-Za-z0-9._-]", "_", str(name))
    out = re.sub(r"\.{2,}", ".", out).lstrip(".-")
    return out or "_"


def write_tables(df: pd.DataFrame, out_dir: str | Path, stem: str) -> tuple[Path, Path]:
    """Save ``df`` as ``stem.csv`` and ``stem.md`` in ``out_dir``; returns both paths.

    ``stem`` usually carries an instance name, which may hold ``/`` or ``..``: it is
    passed through ``safe_stem`` so the files always land inside ``out_dir``.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    stem = safe_stem(stem)
    csv, md = out / f"{stem}.csv", out / f"{stem}.md"
    df.to_csv(csv, index=False)
    md.write_text(to_markdown(df) + "\n")
    return csv, md
