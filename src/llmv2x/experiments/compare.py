"""`llmv2x compare`: AO vs direct MINLP backends vs the exact optimum vs baselines, one table.

On a problem variant (docs/formulation.md#problem-variants) only the methods that solve it
run; a method named explicitly (``methods``) that does not is refused with its one-line
message before anything is solved (docs/cli.md#compare).
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pandas as pd

from llmv2x.errors import LlmV2xError
from llmv2x.instances.schema import Instance
from llmv2x.results import Result
from llmv2x.settings import SolveSettings
from llmv2x.solvers.methods import METHODS, available_methods, check_instance, get_method
from llmv2x.solvers.registry import availability, backend_names

BASELINES = ("rlor", "rrlo", "local", "offload", "equal")
COLUMNS = [
    "method",
    "backend",
    "status",
    "objective",
    "gap_to_exact",
    "lower_bound",
    "gap",
    "compute_part",
    "time_s",
    "message",
]


#: the methods ``compare`` runs by default, in table order
DEFAULT_METHODS = ("exact", "ao", "minlp", *BASELINES)


def select_methods(
    instance: Instance, settings: SolveSettings, methods: list[str] | None = None
) -> tuple[list[str], dict[str, str]]:
    """The methods to run on ``instance`` and those left out, with why (one line each).

    ``methods=None``: every available method of ``DEFAULT_METHODS`` that solves the problem
    variant (``check_instance``); the others are left out with their refusal. A list: each
    must exist and solve the variant, else SettingsError with the method's one-line refusal.
    """
    from llmv2x.errors import SettingsError

    avail = available_methods()
    if methods is not None:
        for m in methods:
            if m not in METHODS or m not in avail:
                raise SettingsError(f"--methods: {m!r} is not one of {', '.join(avail)}")
            check_instance(instance, settings, m)
        return list(dict.fromkeys(methods)), {}
    run, skipped = [], {}
    for m in DEFAULT_METHODS:
        if m not in avail:
            continue
        try:
            check_instance(instance, settings, m)
        except SettingsError as exc:
            skipped[m] = str(exc)
            continue
        run.append(m)
    return run, skipped


def _runs(
    settings: SolveSettings,
    minlp_backends: list[str] | None,
    methods: list[str],
    formulations: list[str] | None = None,
) -> list[tuple[str, str, SolveSettings]]:
    runs: list[tuple[str, str, SolveSettings]] = []
    for method in methods:
        if method == "exact":
            runs.append(("exact", "structure", settings))
        elif method == "ao":
            runs.append(("ao", f"{settings.qp_backend}+{settings.nlp_backend}", settings))
        elif method == "minlp":
            names = minlp_backends
            if names is None:
                names = [b for b in backend_names("minlp") if availability(b, "minlp")]
            for b in names:
                st = settings.with_(minlp_backend=b)
                if not formulations:
                    runs.append(("minlp", b, st))
                for f in formulations or ():
                    opts = {**st.options, "formulation": f}
                    runs.append(("minlp", f"{b}:{f}", st.with_(options=opts)))
        else:
            runs.append((method, "", settings))
    return runs


def compare(
    instance: Instance,
    settings: SolveSettings,
    minlp_backends: list[str] | None = None,
    methods: list[str] | None = None,
    formulations: list[str] | None = None,
) -> pd.DataFrame:
    """Solve ``instance`` with every method and available MINLP backend; one row per solve.

    Columns: method, backend, status, objective, gap_to_exact (relative, when ``exact``
    certified an optimum), lower_bound (proven bounds only), gap ((objective -
    lower_bound) / objective, the method's own certified gap), compute_part (objective (11)
    at the returned point), time_s, message. A method that fails is a row with its status
    and message, never an exception.

    ``methods``: the methods to run (default: every one that solves the problem variant,
    ``select_methods``; ``df.attrs["skipped"]`` maps the others to their refusal; a listed
    method that does not solve it raises SettingsError). ``formulations``: method minlp runs
    each backend on each of these (backend column ``scip:strong``); default: the
    ``formulation`` option alone.
    """
    from llmv2x.models.evaluator import evaluate

    chosen, skipped = select_methods(instance, settings, methods)
    rows = []
    best: float | None = None
    for method, backend, st in _runs(settings, minlp_backends, chosen, formulations):
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
    df = pd.DataFrame(rows, columns=[c for c in COLUMNS if c not in ("gap_to_exact", "gap")])
    obj = pd.to_numeric(df["objective"], errors="coerce")
    df["gap_to_exact"] = (obj - best) / abs(best) if best is not None else float("nan")
    df["gap"] = (obj - pd.to_numeric(df["lower_bound"], errors="coerce")) / obj.abs()
    df = df[COLUMNS]
    df.attrs["skipped"] = skipped
    return df


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
