"""The study table: its columns, reading it back exactly, appending rows, writing it whole."""

from __future__ import annotations

import csv
import importlib.util
import math
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from llmv2x.errors import LlmV2xError
from llmv2x.experiments.sweep.errors import classify_message
from llmv2x.models.evaluator import METRIC_KEYS

#: the columns that identify a solve; a saved row with the same key is not solved again
KEY: tuple[str, ...] = ("instance", "seed", "method", "omega_t", "objective_variant")
COLUMNS: tuple[str, ...] = (
    *KEY,
    "objective",
    *METRIC_KEYS,
    "status",
    "solve_time_s",
    "message",
    "error_kind",
)
_FLOAT_COLUMNS = ("omega_t", "objective", *METRIC_KEYS, "solve_time_s")
_STR_COLUMNS = ("instance", "method", "objective_variant", "status", "message", "error_kind")

Key = tuple[str, int, str, float, str]


def make_key(instance: Any, seed: Any, method: Any, omega_t: Any, variant: Any) -> Key:
    """The key of a row, normalised so that a value read back from a CSV matches."""
    # omega_t is rounded so that 0.1 read back from a CSV matches 0.1 written by a worker
    return (str(instance), int(seed), str(method), round(float(omega_t), 12), str(variant))


def tidy(rows: Iterable[dict[str, Any]] | pd.DataFrame) -> pd.DataFrame:
    """The rows as the study table: fixed columns and dtypes, sorted by key.

    A table written before the ``error_kind`` column existed gets it from each error row's
    message (see ``llmv2x.experiments.sweep.errors``).
    """
    df = pd.DataFrame(rows if isinstance(rows, pd.DataFrame) else list(rows))
    for col in COLUMNS:
        if col not in df:
            df[col] = "" if col in _STR_COLUMNS else math.nan
    df = df[list(COLUMNS)].copy()
    for col in _FLOAT_COLUMNS:
        df[col] = pd.to_numeric(df[col], errors="coerce").astype(float)
    df["omega_t"] = df["omega_t"].round(12)
    df["seed"] = df["seed"].astype(np.int64)
    for col in _STR_COLUMNS:
        df[col] = df[col].astype(object).where(df[col].notna(), "").astype(str)
    unknown = (df["status"] == "error") & (df["error_kind"] == "")
    if unknown.any():
        df.loc[unknown, "error_kind"] = [classify_message(m) for m in df.loc[unknown, "message"]]
    return df.sort_values(list(KEY), kind="stable").reset_index(drop=True)


def read_table(path: str | Path) -> pd.DataFrame:
    """A saved study table (CSV), floats read back exactly."""
    # pandas 3 reads floats back exactly by default and deprecates the option
    exact = {} if int(pd.__version__.split(".")[0]) >= 3 else {"float_precision": "round_trip"}
    try:
        df = pd.read_csv(path, keep_default_na=False, na_values=["", "nan"], **exact)
    except (OSError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise LlmV2xError(f"{path}: cannot read the study table: {exc}") from None
    missing = [c for c in COLUMNS if c not in df.columns and c != "error_kind"]
    if missing:
        raise LlmV2xError(f"{path}: not a study table (missing columns {', '.join(missing)})")
    return tidy(df)


def table_keys(df: pd.DataFrame) -> list[Key]:
    """The key of every row of ``df``, in order."""
    cols = [df[c].tolist() for c in KEY]
    return [make_key(*k) for k in zip(*cols, strict=True)]


def write_table(df: pd.DataFrame, path: str | Path) -> list[Path]:
    """Save the table as CSV, and as Parquet next to it when pyarrow is importable.

    Each file is written to a temporary name and renamed, so a reader never sees half of it.
    Returns the paths written.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    df.to_csv(tmp, index=False)
    os.replace(tmp, path)
    written = [path]
    if importlib.util.find_spec("pyarrow") is not None:
        pq = path.with_suffix(".parquet")
        tmpq = pq.with_name(f".{pq.name}.tmp")
        df.to_parquet(tmpq, index=False)
        os.replace(tmpq, pq)
        written.append(pq)
    return written


class Appender:
    """Appends each finished row to the CSV at once, so an interrupted sweep loses nothing.

    A file written with older columns is rewritten with the current ones first.
    """

    def __init__(self, path: Path | None) -> None:
        self.path = path
        if path is None:
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists() or path.stat().st_size == 0:
            with path.open("w", newline="") as fh:
                csv.writer(fh).writerow(COLUMNS)
            return
        with path.open(newline="") as fh:
            header = next(csv.reader(fh), [])
        if tuple(header) != COLUMNS:
            write_table(read_table(path), path)

    def add(self, row: dict[str, Any]) -> None:
        """Append one row (a dict with every column)."""
        if self.path is None:
            return
        with self.path.open("a", newline="") as fh:
            csv.writer(fh).writerow([_cell(row.get(c, "")) for c in COLUMNS])


def _cell(v: Any) -> Any:
    # repr of a float round-trips exactly; NaN as an empty cell
    if isinstance(v, float):
        return "" if math.isnan(v) else repr(v)
    return v
